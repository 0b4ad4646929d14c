package runnertest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// commands are the programs every fake container has: the shell, the
// part of coreutils the project's code and tests run, and labtool. (Set
// in init: the shell runs commands.)
var commands map[string]Command

func init() {
	commands = map[string]Command{
		"sh": shellCmd, "bash": shellCmd,
		"cat": catCmd, "head": headCmd, "wc": wcCmd, "grep": grepCmd,
		"printenv": printenvCmd, "id": idCmd, "whoami": whoamiCmd, "hostname": hostnameCmd,
		"stty": sttyCmd, "sleep": sleepCmd,
		"touch": touchCmd, "mkdir": mkdirCmd, "rm": rmCmd, "mv": mvCmd, "cp": cpCmd,
		"chmod": chmodCmd, "chown": chownCmd, "stat": statCmd, "ls": lsCmd, "find": findCmd,
		"dirname": dirnameCmd, "basename": basenameCmd, "mktemp": mktempCmd,
		"labtool": labtoolCmd,
	}
}

// flags splits leading single-letter options ("-la", "-n 5") from the
// operands; valued lists the letters that take a value.
func flags(args []string, valued string) (set map[byte]string, rest []string, err error) {
	set = map[byte]string{}
	for len(args) > 0 {
		a := args[0]
		if a == "--" {
			return set, args[1:], nil
		}
		if len(a) < 2 || a[0] != '-' || strings.HasPrefix(a, "--") {
			break
		}
		args = args[1:]
		for i := 1; i < len(a); i++ {
			f := a[i]
			if strings.IndexByte(valued, f) < 0 {
				set[f] = ""
				continue
			}
			switch {
			case i+1 < len(a):
				set[f] = a[i+1:]
			case len(args) > 0:
				set[f], args = args[0], args[1:]
			default:
				return nil, nil, fmt.Errorf("option -%c requires an argument", f)
			}
			break
		}
	}
	return set, args, nil
}

// input opens an operand for reading: "-" is standard input.
func (p *Proc) input(name string) (io.Reader, error) {
	if name == "-" {
		return p.stdin(), nil
	}
	f, err := p.ctr.open(p.Abs(name), os.O_RDONLY, 0, p.UID, p.GID)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// errText is how coreutils describe a failed file operation.
func errText(err error) string {
	switch {
	case errNotExist(err):
		return "No such file or directory"
	case strings.Contains(err.Error(), errReadOnly.Error()):
		return "Read-only file system"
	case strings.Contains(err.Error(), "is a directory"):
		return "Is a directory"
	}
	return err.Error()
}

func catCmd(ctx context.Context, p *Proc) int {
	names := p.Args[1:]
	if len(names) == 0 {
		names = []string{"-"}
	}
	status := 0
	for _, n := range names {
		r, err := p.input(n)
		if err == nil {
			_, err = io.Copy(p.Stdout, r)
		}
		if err != nil {
			status = p.Errorf(1, "%s: %s", n, errText(err))
		}
	}
	return status
}

func headCmd(ctx context.Context, p *Proc) int {
	args := p.Args[1:]
	if len(args) > 0 && len(args[0]) > 1 && args[0][0] == '-' && args[0][1] >= '0' && args[0][1] <= '9' {
		args = append([]string{"-n", args[0][1:]}, args[1:]...)
	}
	set, names, err := flags(args, "cn")
	if err != nil {
		return p.Errorf(1, "%v", err)
	}
	if len(names) == 0 {
		names = []string{"-"}
	}
	for _, n := range names {
		r, err := p.input(n)
		if err != nil {
			return p.Errorf(1, "cannot open '%s' for reading: %s", n, errText(err))
		}
		if c, ok := set['c']; ok {
			k, err := strconv.ParseInt(c, 10, 64)
			if err != nil {
				return p.Errorf(1, "invalid number of bytes: '%s'", c)
			}
			if _, err := io.Copy(p.Stdout, io.LimitReader(r, k)); err != nil {
				return p.Errorf(1, "%v", err)
			}
			continue
		}
		lines := 10
		if v, ok := set['n']; ok {
			if lines, err = strconv.Atoi(v); err != nil {
				return p.Errorf(1, "invalid number of lines: '%s'", v)
			}
		}
		br := bufio.NewReader(r)
		for i := 0; i < lines; i++ {
			line, err := br.ReadString('\n')
			io.WriteString(p.Stdout, line)
			if err != nil {
				break
			}
		}
	}
	return 0
}

func wcCmd(ctx context.Context, p *Proc) int {
	set, names, err := flags(p.Args[1:], "")
	if err != nil {
		return p.Errorf(1, "%v", err)
	}
	if len(set) == 0 {
		set = map[byte]string{'l': "", 'w': "", 'c': ""}
	}
	count := func(r io.Reader, label string) int {
		b, err := io.ReadAll(r)
		if err != nil {
			return p.Errorf(1, "%v", err)
		}
		var out []string
		for _, f := range []byte("lwc") {
			if _, ok := set[f]; !ok {
				continue
			}
			n := len(b)
			switch f {
			case 'l':
				n = bytes.Count(b, []byte("\n"))
			case 'w':
				n = len(bytes.Fields(b))
			}
			out = append(out, strconv.Itoa(n))
		}
		if label != "" {
			out = append(out, label)
		}
		fmt.Fprintln(p.Stdout, strings.Join(out, " "))
		return 0
	}
	if len(names) == 0 {
		return count(p.stdin(), "")
	}
	status := 0
	for _, n := range names {
		r, err := p.input(n)
		if err != nil {
			status = p.Errorf(1, "%s: %s", n, errText(err))
			continue
		}
		status = max(status, count(r, n))
	}
	return status
}

// grepCmd is grep [-qvciEF] PATTERN [FILE...].
func grepCmd(ctx context.Context, p *Proc) int {
	set, args, err := flags(p.Args[1:], "e")
	if err != nil || (len(args) == 0 && set['e'] == "") {
		return p.Errorf(2, "usage: grep [-qvciEF] PATTERN [FILE...]")
	}
	pat, ok := set['e']
	if !ok {
		pat, args = args[0], args[1:]
	}
	if _, ok := set['F']; ok {
		pat = regexp.QuoteMeta(pat)
	}
	if _, ok := set['i']; ok {
		pat = "(?i)" + pat
	}
	re, err := regexp.Compile(pat)
	if err != nil {
		return p.Errorf(2, "%v", err)
	}
	if len(args) == 0 {
		args = []string{"-"}
	}
	_, invert := set['v']
	_, quiet := set['q']
	_, countOnly := set['c']
	matched := 0
	for _, n := range args {
		r, err := p.input(n)
		if err != nil {
			p.Errorf(2, "%s: %s", n, errText(err))
			continue
		}
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if re.MatchString(sc.Text()) != invert {
				matched++
				if !quiet && !countOnly {
					fmt.Fprintln(p.Stdout, sc.Text())
				}
			}
		}
	}
	if countOnly {
		fmt.Fprintln(p.Stdout, matched)
	}
	if matched == 0 {
		return 1
	}
	return 0
}

func printenvCmd(ctx context.Context, p *Proc) int {
	if len(p.Args) == 1 {
		keys := make([]string, 0, len(p.Env))
		for k := range p.Env {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(p.Stdout, "%s=%s\n", k, p.Env[k])
		}
		return 0
	}
	status := 0
	for _, k := range p.Args[1:] {
		v, ok := p.Env[k]
		if !ok {
			status = 1
			continue
		}
		fmt.Fprintln(p.Stdout, v)
	}
	return status
}

func idCmd(ctx context.Context, p *Proc) int {
	set, _, err := flags(p.Args[1:], "")
	if err != nil {
		return p.Errorf(1, "%v", err)
	}
	_, names := set['n']
	show := func(id int) string {
		if names {
			return p.ctr.userName(id)
		}
		return strconv.Itoa(id)
	}
	switch {
	case hasFlag(set, 'u'):
		fmt.Fprintln(p.Stdout, show(p.UID))
	case hasFlag(set, 'g'):
		fmt.Fprintln(p.Stdout, show(p.GID))
	default:
		fmt.Fprintf(p.Stdout, "uid=%d(%s) gid=%d(%s) groups=%d(%s)\n",
			p.UID, p.ctr.userName(p.UID), p.GID, p.ctr.userName(p.GID), p.GID, p.ctr.userName(p.GID))
	}
	return 0
}

func hasFlag(set map[byte]string, f byte) bool { _, ok := set[f]; return ok }

func whoamiCmd(ctx context.Context, p *Proc) int {
	fmt.Fprintln(p.Stdout, p.ctr.userName(p.UID))
	return 0
}

func hostnameCmd(ctx context.Context, p *Proc) int {
	if len(p.Args) > 1 && p.Args[1] == "-i" {
		fmt.Fprintln(p.Stdout, p.ctr.sb.net.addrOf(p.ctr.name))
		return 0
	}
	fmt.Fprintln(p.Stdout, p.ctr.name)
	return 0
}

// sttyCmd knows "stty size" on a terminal; other settings are accepted.
func sttyCmd(ctx context.Context, p *Proc) int {
	tty := p.tty
	if tty == nil {
		return p.Errorf(1, "'standard input': Inappropriate ioctl for device")
	}
	if len(p.Args) > 1 && p.Args[1] == "size" {
		size := tty.size()
		fmt.Fprintf(p.Stdout, "%d %d\n", size.Rows, size.Cols)
	}
	return 0
}

func sleepCmd(ctx context.Context, p *Proc) int {
	if len(p.Args) != 2 {
		return p.Errorf(1, "usage: sleep SECONDS|infinity")
	}
	var wait <-chan time.Time
	if p.Args[1] != "infinity" {
		s, err := strconv.ParseFloat(strings.TrimSuffix(p.Args[1], "s"), 64)
		if err != nil {
			return p.Errorf(1, "invalid time interval '%s'", p.Args[1])
		}
		t := time.NewTimer(time.Duration(s * float64(time.Second)))
		defer t.Stop()
		wait = t.C
	}
	select {
	case <-wait:
		return 0
	case <-ctx.Done():
		return 143
	}
}
