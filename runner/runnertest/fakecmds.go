package runnertest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
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

func touchCmd(ctx context.Context, p *Proc) int {
	status := 0
	for _, n := range p.Args[1:] {
		name := p.Abs(n)
		t, rel, err := p.ctr.view.writable("touch", name)
		if err == nil {
			if _, ok := t.stat(rel); ok {
				err = t.update(rel, func(nd *node) { nd.mtime = time.Now() })
			} else {
				err = p.ctr.view.WriteFile(name, nil, p.UID, p.GID)
			}
		}
		if err != nil {
			status = p.Errorf(1, "cannot touch '%s': %s", n, errText(err))
		}
	}
	return status
}

func mkdirCmd(ctx context.Context, p *Proc) int {
	set, names, err := flags(p.Args[1:], "m")
	if err != nil {
		return p.Errorf(1, "%v", err)
	}
	status := 0
	for _, n := range names {
		name := p.Abs(n)
		t, rel, err := p.ctr.view.writable("mkdir", name)
		if err == nil {
			nd, exists := t.stat(rel)
			parent, parentOK := t.stat(path.Dir(rel))
			switch {
			case exists && (!hasFlag(set, 'p') || !nd.dir):
				err = pathErr("mkdir", name, fs.ErrExist)
			case !hasFlag(set, 'p') && (!parentOK || !parent.dir):
				err = pathErr("mkdir", name, fs.ErrNotExist)
			default:
				err = t.mkdirAll(rel, p.UID, p.GID)
			}
		}
		if err != nil {
			msg := errText(err)
			if strings.Contains(err.Error(), "exists") {
				msg = "File exists"
			}
			status = p.Errorf(1, "cannot create directory '%s': %s", n, msg)
		}
	}
	return status
}

func rmCmd(ctx context.Context, p *Proc) int {
	set, names, err := flags(p.Args[1:], "")
	if err != nil {
		return p.Errorf(1, "%v", err)
	}
	status := 0
	for _, n := range names {
		name := p.Abs(n)
		t, rel, err := p.ctr.view.writable("remove", name)
		if err == nil {
			nd, ok := t.stat(rel)
			switch {
			case !ok:
				if hasFlag(set, 'f') {
					continue
				}
				err = pathErr("remove", name, fs.ErrNotExist)
			case nd.dir && !hasFlag(set, 'r') && !hasFlag(set, 'R'):
				err = pathErr("remove", name, errors.New("is a directory"))
			default:
				err = t.remove(rel)
			}
		}
		if err != nil {
			status = p.Errorf(1, "cannot remove '%s': %s", n, errText(err))
		}
	}
	return status
}

// copyTree copies the file or folder src of the view to dst.
func (v *view) copyTree(src, dst string) error {
	st, srel, _ := v.resolve(src)
	dt, drel, err := v.writable("copy", dst)
	if err != nil {
		return err
	}
	if n, ok := st.stat(srel); ok && !n.dir {
		data, err := st.readFile(srel)
		if err != nil {
			return err
		}
		return dt.writeFile(drel, data, n.mode, n.uid, n.gid)
	}
	sub := st.subtree(srel)
	sub.mu.Lock()
	defer sub.mu.Unlock()
	dt.mu.Lock()
	defer dt.mu.Unlock()
	for p, n := range sub.nodes {
		cp := *n
		dt.nodes[path.Join(drel, p)] = &cp
	}
	return nil
}

func mvCmd(ctx context.Context, p *Proc) int {
	_, args, err := flags(p.Args[1:], "")
	if err != nil || len(args) != 2 {
		return p.Errorf(1, "usage: mv [-f] SOURCE DEST")
	}
	src, dst := p.Abs(args[0]), p.Abs(args[1])
	if _, err := p.ctr.view.Stat(src); err != nil {
		return p.Errorf(1, "cannot stat '%s': %s", args[0], errText(err))
	}
	if fi, err := p.ctr.view.Stat(dst); err == nil && fi.IsDir() {
		dst = path.Join(dst, path.Base(src))
	}
	if fi, err := p.ctr.view.Stat(path.Dir(dst)); err != nil || !fi.IsDir() {
		return p.Errorf(1, "cannot move '%s' to '%s': No such file or directory", args[0], args[1])
	}
	st, srel, err := p.ctr.view.writable("rename", src)
	if err == nil {
		if dt, drel, derr := p.ctr.view.writable("rename", dst); derr != nil {
			err = derr
		} else {
			_ = dt.remove(drel)
			if err = p.ctr.view.copyTree(src, dst); err == nil {
				err = st.remove(srel)
			}
		}
	}
	if err != nil {
		return p.Errorf(1, "cannot move '%s' to '%s': %s", args[0], args[1], errText(err))
	}
	return 0
}

func cpCmd(ctx context.Context, p *Proc) int {
	set, args, err := flags(p.Args[1:], "")
	if err != nil || len(args) != 2 {
		return p.Errorf(1, "usage: cp [-r] SOURCE DEST")
	}
	src, dst := p.Abs(args[0]), p.Abs(args[1])
	fi, err := p.ctr.view.Stat(src)
	if err != nil {
		return p.Errorf(1, "cannot stat '%s': %s", args[0], errText(err))
	}
	if fi.IsDir() && !hasFlag(set, 'r') && !hasFlag(set, 'R') {
		return p.Errorf(1, "-r not specified; omitting directory '%s'", args[0])
	}
	if d, err := p.ctr.view.Stat(dst); err == nil && d.IsDir() {
		dst = path.Join(dst, path.Base(src))
	}
	if err := p.ctr.view.copyTree(src, dst); err != nil {
		return p.Errorf(1, "cannot create '%s': %s", args[1], errText(err))
	}
	return 0
}

func chmodCmd(ctx context.Context, p *Proc) int {
	args := p.Args[1:]
	if len(args) < 2 {
		return p.Errorf(1, "usage: chmod MODE|--reference=FILE FILE...")
	}
	var mode fs.FileMode
	if ref, ok := strings.CutPrefix(args[0], "--reference="); ok {
		fi, err := p.Stat(ref)
		if err != nil {
			return p.Errorf(1, "failed to get attributes of '%s': %s", ref, errText(err))
		}
		mode = fi.Mode().Perm()
	} else {
		m, err := strconv.ParseUint(args[0], 8, 32)
		if err != nil {
			return p.Errorf(1, "invalid mode: '%s' (the fake knows octal modes only)", args[0])
		}
		mode = fs.FileMode(m)
	}
	status := 0
	for _, n := range args[1:] {
		t, rel, err := p.ctr.view.writable("chmod", p.Abs(n))
		if err == nil {
			err = t.update(rel, func(nd *node) { nd.mode = mode })
		}
		if err != nil {
			status = p.Errorf(1, "changing permissions of '%s': %s", n, errText(err))
		}
	}
	return status
}

// chownCmd fails unless the owner stays the same: containers run without
// capabilities, so not even root may give a file away.
func chownCmd(ctx context.Context, p *Proc) int {
	args := p.Args[1:]
	if len(args) < 2 {
		return p.Errorf(1, "usage: chown UID[:GID] FILE...")
	}
	uidText, _, _ := strings.Cut(args[0], ":")
	uid, err := strconv.Atoi(uidText)
	if err != nil {
		return p.Errorf(1, "invalid user: '%s' (the fake knows numeric ids only)", args[0])
	}
	status := 0
	for _, n := range args[1:] {
		nd, ok := p.ctr.view.node(p.Abs(n))
		switch {
		case !ok:
			status = p.Errorf(1, "cannot access '%s': No such file or directory", n)
		case nd.uid != uid:
			status = p.Errorf(1, "changing ownership of '%s': Operation not permitted", n)
		}
	}
	return status
}

// statCmd is stat -c FORMAT FILE... with %u %g %s %a %n %F.
func statCmd(ctx context.Context, p *Proc) int {
	set, names, err := flags(p.Args[1:], "c")
	format, ok := set['c']
	if err != nil || !ok {
		return p.Errorf(1, "usage: stat -c FORMAT FILE...")
	}
	status := 0
	for _, n := range names {
		nd, ok := p.ctr.view.node(p.Abs(n))
		if !ok {
			status = p.Errorf(1, "cannot statx '%s': No such file or directory", n)
			continue
		}
		kind := "regular file"
		if nd.dir {
			kind = "directory"
		}
		r := strings.NewReplacer("%u", strconv.Itoa(nd.uid), "%g", strconv.Itoa(nd.gid),
			"%s", strconv.Itoa(len(nd.data)), "%a", strconv.FormatUint(uint64(nd.mode.Perm()), 8),
			"%n", n, "%F", kind, "%%", "%")
		fmt.Fprintln(p.Stdout, r.Replace(format))
	}
	return status
}

// lsCmd is ls [-l] [-a] [FILE...].
func lsCmd(ctx context.Context, p *Proc) int {
	set, names, err := flags(p.Args[1:], "")
	if err != nil {
		return p.Errorf(1, "%v", err)
	}
	if len(names) == 0 {
		names = []string{"."}
	}
	long := hasFlag(set, 'l')
	line := func(name string, fi fs.FileInfo) {
		if !long {
			fmt.Fprintln(p.Stdout, name)
			return
		}
		nd, _ := p.ctr.view.node(p.Abs(name))
		fmt.Fprintf(p.Stdout, "%s 1 %s %s %d %s %s\n", fi.Mode().String(), p.ctr.userName(nd.uid), p.ctr.userName(nd.gid),
			fi.Size(), fi.ModTime().Format("Jan _2 15:04"), name)
	}
	status := 0
	for _, n := range names {
		fi, err := p.Stat(n)
		if err != nil {
			status = p.Errorf(2, "cannot access '%s': %s", n, errText(err))
			continue
		}
		if !fi.IsDir() {
			line(n, fi)
			continue
		}
		entries, _ := p.ctr.view.List(p.Abs(n))
		for _, e := range entries {
			if strings.HasPrefix(e, ".") && !hasFlag(set, 'a') {
				continue
			}
			if efi, err := p.Stat(path.Join(n, e)); err == nil {
				if long {
					line(path.Join(n, e), efi)
				} else {
					line(e, efi)
				}
			}
		}
	}
	return status
}

func dirnameCmd(ctx context.Context, p *Proc) int {
	_, args, _ := flags(p.Args[1:], "")
	for _, a := range args {
		fmt.Fprintln(p.Stdout, path.Dir(strings.TrimSuffix(a, "/")))
	}
	return 0
}

func basenameCmd(ctx context.Context, p *Proc) int {
	_, args, _ := flags(p.Args[1:], "")
	if len(args) == 0 {
		return p.Errorf(1, "missing operand")
	}
	b := path.Base(args[0])
	if len(args) > 1 {
		b = strings.TrimSuffix(b, args[1])
	}
	fmt.Fprintln(p.Stdout, b)
	return 0
}

// mktempCmd is mktemp [-d] [TEMPLATE]: the template's trailing Xs become
// random letters; the file (or folder) is made and its path printed.
func mktempCmd(ctx context.Context, p *Proc) int {
	set, args, err := flags(p.Args[1:], "")
	if err != nil {
		return p.Errorf(1, "%v", err)
	}
	tmpl := "/tmp/tmp.XXXXXXXXXX"
	if len(args) > 0 {
		tmpl = args[0]
	}
	stem := strings.TrimRight(tmpl, "X")
	if len(tmpl)-len(stem) < 3 {
		return p.Errorf(1, "too few X's in template '%s'", tmpl)
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	name := stem + hex.EncodeToString(b[:])[:len(tmpl)-len(stem)]
	abs := p.Abs(name)
	t, rel, err := p.ctr.view.writable("mktemp", abs)
	if err == nil {
		if parent, ok := t.stat(path.Dir(rel)); !ok || !parent.dir {
			err = pathErr("mktemp", abs, fs.ErrNotExist)
		} else if hasFlag(set, 'd') {
			err = t.mkdirAll(rel, p.UID, p.GID)
		} else {
			err = t.writeFile(rel, nil, 0o600, p.UID, p.GID)
		}
	}
	if err != nil {
		return p.Errorf(1, "failed to create file via template '%s': %s", tmpl, errText(err))
	}
	fmt.Fprintln(p.Stdout, name)
	return 0
}
