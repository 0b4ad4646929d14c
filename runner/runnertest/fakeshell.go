package runnertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"
)

// Command is a program of the fake: it runs as p and returns its exit
// status. A command that blocks must return when ctx ends.
type Command func(ctx context.Context, p *Proc) int

// Proc is one command running in a fake container: its arguments,
// standard streams, environment, working directory, user, and the
// container's files and network.
type Proc struct {
	Args   []string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Dir is the absolute working directory.
	Dir string
	// Env holds the environment variables.
	Env map[string]string
	// UID and GID are whom the command runs as.
	UID, GID int

	ctr     *container
	tty     *fakeTerm // the terminal the command runs on, if any
	inShell bool      // started by a shell: unknown names are not retried as builtins
}

// Getenv returns an environment variable.
func (p *Proc) Getenv(key string) string { return p.Env[key] }

// Abs returns name as an absolute path (relative to Dir).
func (p *Proc) Abs(name string) string {
	if path.IsAbs(name) {
		return path.Clean(name)
	}
	return path.Join(p.Dir, name)
}

// ReadFile reads a file of the container.
func (p *Proc) ReadFile(name string) ([]byte, error) { return p.ctr.view.ReadFile(p.Abs(name)) }

// WriteFile replaces a file of the container, as the command's user.
func (p *Proc) WriteFile(name string, data []byte) error {
	return p.ctr.view.WriteFile(p.Abs(name), data, p.UID, p.GID)
}

// Stat returns the file info of a file of the container.
func (p *Proc) Stat(name string) (fs.FileInfo, error) { return p.ctr.view.Stat(p.Abs(name)) }

// Hostname is the container's host name: its service or job name.
func (p *Proc) Hostname() string { return p.ctr.name }

// Errorf prints a message to standard error, prefixed with the command's
// name, and returns status.
func (p *Proc) Errorf(status int, format string, args ...any) int {
	fmt.Fprintf(p.Stderr, "%s: %s\n", path.Base(p.Args[0]), fmt.Sprintf(format, args...))
	return status
}

// Run runs another command in the same container and returns its status.
func (p *Proc) Run(ctx context.Context, args ...string) int {
	child := *p
	child.Args = args
	return p.ctr.run(ctx, &child)
}

// stdin returns standard input, empty when there is none.
func (p *Proc) stdin() io.Reader {
	if in := p.stdinOrNil(); in != nil {
		return in
	}
	return strings.NewReader("")
}

// stdinOrNil returns standard input, nil when there is none.
func (p *Proc) stdinOrNil() io.Reader {
	if f, ok := p.Stdin.(*os.File); ok && f == nil {
		return nil
	}
	return p.Stdin
}

// run looks up and runs the command p.Args[0].
func (c *container) run(ctx context.Context, p *Proc) int {
	if len(p.Args) == 0 {
		return 0
	}
	if p.Stdout == nil {
		p.Stdout = io.Discard
	}
	if p.Stderr == nil {
		p.Stderr = io.Discard
	}
	name := path.Base(p.Args[0])
	if cmd, ok := c.sb.d.command(name); ok {
		return cmd(ctx, p)
	}
	if p.inShell {
		fmt.Fprintf(p.Stderr, "bash: %s: command not found\n", p.Args[0])
		return 127
	}
	// Builtins of the shell (echo, pwd, test, true, ...) run in one.
	return c.shell(ctx, p, `"$@"`, nil, p.Args, p.stdinOrNil())
}

// shellCmd is sh and bash: -c SCRIPT [NAME [ARGS...]], a script file, or
// a script on standard input (-s); -e, -u, -x and -o OPTION as set takes
// them; -l and -i are accepted and ignored.
func shellCmd(ctx context.Context, p *Proc) int {
	args := p.Args[1:]
	var opts []string
	fromC := false
	for len(args) > 0 && len(args[0]) > 1 && (args[0][0] == '-' || args[0][0] == '+') && args[0] != "--" {
		a := args[0]
		args = args[1:]
		for _, f := range a[1:] {
			switch f {
			case 'c':
				fromC = true
			case 's', 'l', 'i':
			case 'o':
				if len(args) == 0 {
					return p.Errorf(2, "-o: option requires an argument")
				}
				opts = append(opts, a[:1]+"o", args[0])
				args = args[1:]
			default:
				opts = append(opts, a[:1]+string(f))
			}
		}
	}
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	stdin := p.stdinOrNil()
	var script string
	switch {
	case fromC:
		if len(args) == 0 {
			return p.Errorf(2, "-c: option requires an argument")
		}
		script, args = args[0], args[1:]
		if len(args) > 0 {
			args = args[1:] // $0
		}
	case len(args) > 0:
		b, err := p.ReadFile(args[0])
		if err != nil {
			return p.Errorf(127, "%s: %v", args[0], errors.Unwrap(err))
		}
		script, args = string(b), args[1:]
	default:
		b, err := io.ReadAll(p.stdin())
		if err != nil {
			return p.Errorf(1, "read script: %v", err)
		}
		script, stdin = string(b), nil
	}
	return p.ctr.shell(ctx, p, script, opts, args, stdin)
}

// shell runs script with the shell interpreter in the container.
func (c *container) shell(ctx context.Context, p *Proc, script string, opts, params []string, stdin io.Reader) int {
	file, err := syntax.NewParser().Parse(strings.NewReader(script), "")
	if err != nil {
		return p.Errorf(2, "%v", err)
	}
	r, err := c.interpreter(p, stdin, p.Stdout, p.Stderr, append(append(opts, "--"), params...)...)
	if err != nil {
		return p.Errorf(2, "%v", err)
	}
	return exitCode(p, r.Run(ctx, file))
}

// exitCode turns what the interpreter returned into an exit status.
func exitCode(p *Proc, err error) int {
	if err == nil {
		return 0
	}
	if st, ok := interp.IsExitStatus(err); ok {
		return int(st)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return 143
	}
	fmt.Fprintln(p.Stderr, err)
	return 1
}

// interpreter returns a shell interpreter working on the container's
// files: every program it starts is a [Command] of the fake.
func (c *container) interpreter(p *Proc, stdin io.Reader, stdout, stderr io.Writer, params ...string) (*interp.Runner, error) {
	env := make([]string, 0, len(p.Env))
	for k, v := range p.Env {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	dir := p.Dir
	return interp.New(
		interp.StdIO(stdin, stdout, stderr),
		interp.Env(expand.ListEnviron(env...)),
		func(r *interp.Runner) error { r.Dir = dir; return nil },
		interp.Params(params...),
		interp.ExecHandlers(func(interp.ExecHandlerFunc) interp.ExecHandlerFunc {
			return func(ctx context.Context, args []string) error {
				hc := interp.HandlerCtx(ctx)
				child := &Proc{Args: args, Stdin: hc.Stdin, Stdout: hc.Stdout, Stderr: hc.Stderr,
					Dir: hc.Dir, Env: map[string]string{}, UID: p.UID, GID: p.GID, ctr: c, tty: p.tty, inShell: true}
				hc.Env.Each(func(name string, v expand.Variable) bool {
					if v.Exported && v.IsSet() {
						child.Env[name] = v.String()
					}
					return true
				})
				if code := c.run(ctx, child); code != 0 {
					return interp.NewExitStatus(uint8(code))
				}
				return nil
			}
		}),
		interp.OpenHandler(func(ctx context.Context, name string, flag int, perm os.FileMode) (io.ReadWriteCloser, error) {
			return c.open(absIn(ctx, name), flag, perm, p.UID, p.GID)
		}),
		interp.StatHandler(func(ctx context.Context, name string, _ bool) (fs.FileInfo, error) {
			return c.view.Stat(absIn(ctx, name))
		}),
		interp.ReadDirHandler2(func(ctx context.Context, name string) ([]fs.DirEntry, error) {
			name = absIn(ctx, name)
			names, err := c.view.List(name)
			if err != nil {
				return nil, err
			}
			out := make([]fs.DirEntry, 0, len(names))
			for _, n := range names {
				if fi, err := c.view.Stat(path.Join(name, n)); err == nil {
					out = append(out, fs.FileInfoToDirEntry(fi))
				}
			}
			return out, nil
		}),
		interp.AccessHandler(func(ctx context.Context, name string, mode interp.AccessMode) error {
			name = absIn(ctx, name)
			if _, err := c.view.Stat(name); err != nil {
				return err
			}
			if mode&interp.AccessWrite != 0 {
				if _, _, err := c.view.writable("access", name); err != nil {
					return err
				}
			}
			return nil
		}),
	)
}

// absIn makes a path the interpreter hands to a handler absolute.
func absIn(ctx context.Context, name string) string {
	if path.IsAbs(name) {
		return path.Clean(name)
	}
	return path.Join(interp.HandlerCtx(ctx).Dir, name)
}

// open opens a file of the container for the shell's redirections.
func (c *container) open(name string, flag int, perm os.FileMode, uid, gid int) (io.ReadWriteCloser, error) {
	switch name {
	case "/dev/null":
		return nullFile{}, nil
	case "/dev/zero":
		return zeroFile{}, nil
	}
	write := flag&(os.O_WRONLY|os.O_RDWR) != 0
	n, exists := c.view.node(name)
	if exists && n.dir && write {
		return nil, pathErr("open", name, errors.New("is a directory"))
	}
	if !write {
		data, err := c.view.ReadFile(name)
		if err != nil {
			return nil, err
		}
		return &memFile{r: bytes.NewReader(data)}, nil
	}
	if !exists && flag&os.O_CREATE == 0 {
		return nil, pathErr("open", name, fs.ErrNotExist)
	}
	t, rel, err := c.view.writable("open", name)
	if err != nil {
		return nil, err
	}
	if parent, ok := t.stat(path.Dir(rel)); !ok || !parent.dir {
		return nil, pathErr("open", name, fs.ErrNotExist)
	}
	f := &memFile{t: t, name: rel, mode: perm.Perm(), uid: uid, gid: gid}
	if exists {
		f.mode, f.uid, f.gid = n.mode, n.uid, n.gid
		if flag&os.O_TRUNC == 0 {
			f.buf, _ = t.readFile(rel)
		}
	}
	if err := f.commit(); err != nil {
		return nil, err
	}
	return f, nil
}

// memFile is an open file of a [memFS]: it reads from a snapshot, and
// every write replaces the file's content.
type memFile struct {
	r    *bytes.Reader
	t    *memFS
	name string
	mode fs.FileMode
	uid  int
	gid  int
	buf  []byte
}

func (f *memFile) Read(b []byte) (int, error) {
	if f.r == nil {
		return 0, errors.New("file not open for reading")
	}
	return f.r.Read(b)
}

func (f *memFile) Write(b []byte) (int, error) {
	if f.t == nil {
		return 0, errors.New("file not open for writing")
	}
	f.buf = append(f.buf, b...)
	return len(b), f.commit()
}

func (f *memFile) commit() error {
	if f.t == nil {
		return nil
	}
	return f.t.writeFile(f.name, f.buf, f.mode, f.uid, f.gid)
}

func (f *memFile) Close() error { return nil }

// nullFile is /dev/null.
type nullFile struct{}

func (nullFile) Read([]byte) (int, error)    { return 0, io.EOF }
func (nullFile) Write(b []byte) (int, error) { return len(b), nil }
func (nullFile) Close() error                { return nil }

// zeroFile is /dev/zero.
type zeroFile struct{}

func (zeroFile) Read(b []byte) (int, error) {
	clear(b)
	return len(b), nil
}
func (zeroFile) Write(b []byte) (int, error) { return len(b), nil }
func (zeroFile) Close() error                { return nil }
