package runnertest

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

// findCmd is find START... [EXPRESSION] with the tests -name, -path,
// -type f|d, the actions -print, -printf and -prune, the options
// -mindepth and -maxdepth, and the operators ( ) ! -a -o.
func findCmd(ctx context.Context, p *Proc) int {
	args := p.Args[1:]
	var starts []string
	for len(args) > 0 && !strings.HasPrefix(args[0], "-") && args[0] != "(" && args[0] != "!" {
		starts, args = append(starts, args[0]), args[1:]
	}
	if len(starts) == 0 {
		starts = []string{"."}
	}
	fp := &findParser{args: args, minDepth: 0, maxDepth: -1}
	expr := fp.or()
	if fp.err == nil && len(fp.args) > 0 {
		fp.err = fmt.Errorf("unexpected %q", fp.args[0])
	}
	if fp.err != nil {
		return p.Errorf(1, "%v", fp.err)
	}
	if expr == nil {
		expr = func(*findItem) bool { return true }
	}
	if !fp.action {
		test := expr
		expr = func(it *findItem) bool {
			if test(it) {
				fmt.Fprintf(p.Stdout, "%s\n", it.path)
			}
			return true
		}
	}
	status := 0
	for _, s := range starts {
		if _, err := p.Stat(s); err != nil {
			status = p.Errorf(1, "'%s': No such file or directory", s)
			continue
		}
		fp.walk(p, s, s, 0, expr)
	}
	return status
}

// findItem is the file an expression is evaluated on.
type findItem struct {
	p       *Proc
	path    string // as printed: start joined with the relative path
	start   string
	info    fs.FileInfo
	pruned  bool
	printed bool
}

type findParser struct {
	args               []string
	err                error
	action             bool
	minDepth, maxDepth int
}

func (f *findParser) walk(p *Proc, start, name string, depth int, expr func(*findItem) bool) {
	info, err := p.Stat(name)
	if err != nil {
		return
	}
	it := &findItem{p: p, path: name, start: start, info: info}
	if depth >= f.minDepth && (f.maxDepth < 0 || depth <= f.maxDepth) {
		expr(it)
	}
	if !info.IsDir() || it.pruned || (f.maxDepth >= 0 && depth >= f.maxDepth) {
		return
	}
	names, _ := p.ctr.view.List(p.Abs(name))
	for _, n := range names {
		f.walk(p, start, strings.TrimSuffix(name, "/")+"/"+n, depth+1, expr)
	}
}

func (f *findParser) peek() string {
	if len(f.args) == 0 {
		return ""
	}
	return f.args[0]
}

func (f *findParser) next() string {
	a := f.peek()
	if len(f.args) > 0 {
		f.args = f.args[1:]
	}
	return a
}

func (f *findParser) value(flag string) string {
	if len(f.args) == 0 {
		f.err = fmt.Errorf("missing argument to `%s'", flag)
		return ""
	}
	return f.next()
}

func (f *findParser) or() func(*findItem) bool {
	left := f.and()
	for f.err == nil && f.peek() == "-o" {
		f.next()
		l, r := left, f.and()
		left = func(it *findItem) bool { return l(it) || r(it) }
	}
	return left
}

func (f *findParser) and() func(*findItem) bool {
	left := f.unary()
	for f.err == nil && len(f.args) > 0 && f.peek() != "-o" && f.peek() != ")" {
		if f.peek() == "-a" {
			f.next()
		}
		l, r := left, f.unary()
		left = func(it *findItem) bool { return l(it) && r(it) }
	}
	return left
}

func (f *findParser) unary() func(*findItem) bool {
	switch tok := f.next(); tok {
	case "!":
		e := f.unary()
		return func(it *findItem) bool { return !e(it) }
	case "(":
		e := f.or()
		if f.next() != ")" && f.err == nil {
			f.err = fmt.Errorf("invalid expression; missing ')'")
		}
		return e
	case "-name", "-path":
		pat := f.value(tok)
		return func(it *findItem) bool {
			s := it.path
			if tok == "-name" {
				s = path.Base(s)
			}
			ok, _ := path.Match(pat, s)
			return ok
		}
	case "-type":
		want := f.value(tok)
		return func(it *findItem) bool {
			if it.info.IsDir() {
				return want == "d"
			}
			return want == "f"
		}
	case "-prune":
		return func(it *findItem) bool { it.pruned = true; return true }
	case "-print":
		f.action = true
		return func(it *findItem) bool { fmt.Fprintln(it.p.Stdout, it.path); return true }
	case "-printf":
		f.action = true
		format := f.value(tok)
		return func(it *findItem) bool { fmt.Fprint(it.p.Stdout, findPrintf(format, it)); return true }
	case "-mindepth", "-maxdepth":
		n, err := strconv.Atoi(f.value(tok))
		if err != nil && f.err == nil {
			f.err = fmt.Errorf("%s needs a number", tok)
		}
		if tok == "-mindepth" {
			f.minDepth = n
		} else {
			f.maxDepth = n
		}
		return func(*findItem) bool { return true }
	case "":
		if f.err == nil {
			f.err = fmt.Errorf("expected an expression")
		}
		return func(*findItem) bool { return false }
	default:
		if f.err == nil {
			f.err = fmt.Errorf("unknown predicate `%s' (the fake's find knows few)", tok)
		}
		return func(*findItem) bool { return false }
	}
}

// findPrintf expands -printf's %y %s %p %P %f %m and \0 \n \t \\.
func findPrintf(format string, it *findItem) string {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		if i+1 == len(format) || (c != '%' && c != '\\') {
			b.WriteByte(c)
			continue
		}
		i++
		d := format[i]
		if c == '\\' {
			switch d {
			case '0':
				b.WriteByte(0)
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			default:
				b.WriteByte(d)
			}
			continue
		}
		switch d {
		case 'y':
			if it.info.IsDir() {
				b.WriteByte('d')
			} else {
				b.WriteByte('f')
			}
		case 's':
			b.WriteString(strconv.FormatInt(it.info.Size(), 10))
		case 'p':
			b.WriteString(it.path)
		case 'P':
			if it.path != it.start {
				b.WriteString(strings.TrimPrefix(it.path, strings.TrimSuffix(it.start, "/")+"/"))
			}
		case 'f':
			b.WriteString(path.Base(it.path))
		case 'm':
			b.WriteString(strconv.FormatUint(uint64(it.info.Mode().Perm()), 8))
		default:
			b.WriteByte('%')
			b.WriteByte(d)
		}
	}
	return b.String()
}
