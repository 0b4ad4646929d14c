package runnertest

import (
	"bytes"
	"context"
	"io"
	"path"
	"strings"
	"sync"

	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"

	"github.com/backlab/backlab/runner"
)

// fakeTerm is a command attached to a fake TTY. Its line discipline
// echoes what is typed and hands over whole lines (Enter is CR or LF;
// backspace and Ctrl-C edit the line, Ctrl-D on an empty line ends the
// input); output has its newlines turned into CR LF. A shell (sh or bash
// without -c) reads and runs one line at a time and prints a "$ " prompt;
// the commands it runs get no input.
type fakeTerm struct {
	out    *stream
	outR   io.Reader
	lines  chan string
	cancel context.CancelFunc
	done   chan struct{}
	code   int

	mu      sync.Mutex
	sz      runner.TermSize
	line    []byte
	inputOK bool // false once the input ended

	closeOnce sync.Once
}

// Attach starts a command in a service on a fake TTY.
func (sb *fakeSandbox) Attach(ctx context.Context, service string, opts runner.TTYOptions) (runner.Terminal, error) {
	svc, err := sb.service(service)
	if err != nil {
		return nil, err
	}
	p, err := svc.ctr.proc(opts.User, opts.WorkDir, opts.Env)
	if err != nil {
		return nil, err
	}
	cmd := opts.Cmd
	if len(cmd) == 0 {
		cmd = []string{"bash", "-l"}
	}
	tctx, cancel := context.WithCancel(sb.ctx)
	t := &fakeTerm{out: newStream(), lines: make(chan string, 64), cancel: cancel, done: make(chan struct{}),
		sz: opts.Size, inputOK: true}
	t.outR = t.out.reader()
	out := ttyWriter{t.out}
	p.Args, p.Stdout, p.Stderr, p.tty = cmd, out, out, t
	go func() {
		defer close(t.done)
		if isInteractiveShell(cmd) {
			t.code = t.shell(tctx, p)
		} else {
			p.Stdin = &lineReader{lines: t.lines, ctx: tctx}
			t.code = p.ctr.run(tctx, p)
		}
		t.out.close()
	}()
	return t, nil
}

// isInteractiveShell tells a shell started without a script.
func isInteractiveShell(cmd []string) bool {
	if n := path.Base(cmd[0]); n != "sh" && n != "bash" {
		return false
	}
	for _, a := range cmd[1:] {
		if !strings.HasPrefix(a, "-") || strings.Contains(a, "c") {
			return false
		}
	}
	return true
}

// shell runs typed lines until exit or the end of the input.
func (t *fakeTerm) shell(ctx context.Context, p *Proc) int {
	r, err := p.ctr.interpreter(p, nil, p.Stdout, p.Stderr, "--")
	if err != nil {
		return p.Errorf(1, "%v", err)
	}
	io.WriteString(p.Stdout, "$ ")
	var pending string
	for {
		var line string
		var ok bool
		select {
		case line, ok = <-t.lines:
		case <-ctx.Done():
			return 129
		}
		if !ok {
			return 129
		}
		pending += line + "\n"
		file, err := syntax.NewParser().Parse(strings.NewReader(pending), "")
		if syntax.IsIncomplete(err) {
			io.WriteString(p.Stdout, "> ")
			continue
		}
		pending = ""
		if err != nil {
			p.Errorf(2, "%v", err)
		}
		for _, st := range stmts(file) {
			err := r.Run(ctx, st)
			if r.Exited() {
				if code, ok := interp.IsExitStatus(err); ok {
					return int(code)
				}
				return 0
			}
			if ctx.Err() != nil {
				return 129
			}
		}
		io.WriteString(p.Stdout, "$ ")
	}
}

func stmts(f *syntax.File) []*syntax.Stmt {
	if f == nil {
		return nil
	}
	return f.Stmts
}

func (t *fakeTerm) size() runner.TermSize {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sz
}

// Read returns the terminal's output.
func (t *fakeTerm) Read(b []byte) (int, error) { return t.outR.Read(b) }

// Write types input: it is echoed, and each finished line goes to the
// command.
func (t *fakeTerm) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.inputOK {
		return 0, io.ErrClosedPipe
	}
	var echo bytes.Buffer
	for _, c := range b {
		switch c {
		case '\r', '\n':
			echo.WriteString("\r\n")
			select {
			case t.lines <- string(t.line):
			default: // a command that reads nothing: drop the line
			}
			t.line = t.line[:0]
		case 0x7f, '\b':
			if len(t.line) > 0 {
				t.line = t.line[:len(t.line)-1]
				echo.WriteString("\b \b")
			}
		case 0x03:
			echo.WriteString("^C\r\n")
			t.line = t.line[:0]
		case 0x04:
			if len(t.line) == 0 {
				t.inputOK = false
				close(t.lines)
				t.out.Write(echo.Bytes())
				return len(b), nil
			}
		default:
			t.line = append(t.line, c)
			echo.WriteByte(c)
		}
	}
	t.out.Write(echo.Bytes())
	return len(b), nil
}

// Resize changes the TTY's size.
func (t *fakeTerm) Resize(ctx context.Context, size runner.TermSize) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sz = size
	return nil
}

// Wait blocks until the command exits and returns its exit code.
func (t *fakeTerm) Wait(ctx context.Context) (int, error) {
	select {
	case <-t.done:
		return t.code, nil
	case <-ctx.Done():
		return -1, ctx.Err()
	}
}

// Close hangs up: the command ends.
func (t *fakeTerm) Close() error {
	t.closeOnce.Do(func() {
		t.mu.Lock()
		if t.inputOK {
			t.inputOK = false
			close(t.lines)
		}
		t.mu.Unlock()
		t.cancel()
	})
	return nil
}

// ttyWriter turns LF into CR LF, as a TTY's output does.
type ttyWriter struct{ s *stream }

func (w ttyWriter) Write(b []byte) (int, error) {
	if _, err := w.s.Write(bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n"))); err != nil {
		return 0, err
	}
	return len(b), nil
}

// lineReader is a command's input on the TTY: the lines typed.
type lineReader struct {
	lines <-chan string
	ctx   context.Context
	rest  []byte
}

func (r *lineReader) Read(b []byte) (int, error) {
	if len(r.rest) == 0 {
		select {
		case line, ok := <-r.lines:
			if !ok {
				return 0, io.EOF
			}
			r.rest = []byte(line + "\n")
		case <-r.ctx.Done():
			return 0, io.EOF
		}
	}
	n := copy(b, r.rest)
	r.rest = r.rest[n:]
	return n, nil
}
