package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/backlab/backlab/internal/lab"
	"github.com/backlab/backlab/internal/labrun"
	"github.com/backlab/backlab/runner"
)

// escapeKey (Ctrl-]) leaves the shell for the lab menu.
const escapeKey = 0x1d

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer, logger *slog.Logger) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("usage: backlab run LAB (a lab folder, e.g. labs/add-index)")
	}
	l, err := lab.Load(pos[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n%s\n%s\n\n%s\n", l.Title, strings.Repeat("=", len([]rune(l.Title))), l.Summary)
	e, err := openEngine(ctx, logger, prefixed(stdout, "   image | "))
	if err != nil {
		return err
	}
	defer e.Close()
	e.reapOrphans(ctx, stderr, logger)
	fmt.Fprintln(stdout, "\nstarting your sandbox (images are built first if missing)…")
	s, err := e.runner(logger).Start(ctx, l, labrun.NewSessionID("r-"), labrun.NewPrinter(stdout).Event)
	if err != nil {
		return err
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		fmt.Fprintln(stdout, "removing the sandbox…")
		_ = s.Stop(stopCtx)
	}()
	in := newInput(os.Stdin)
	lr := &learner{s: s, l: l, in: in, out: stdout, hints: map[string]int{}}
	if intro, err := os.ReadFile(l.Path(l.Instructions)); err == nil {
		fmt.Fprintf(stdout, "\n%s\n", strings.TrimSpace(string(intro)))
	}
	return lr.loop(ctx)
}

// learner holds the state of one `backlab run`.
type learner struct {
	s     *labrun.Session
	l     *lab.Lab
	in    *input
	out   io.Writer
	term  runner.Terminal
	gate  *gate
	last  *labrun.Result
	hints map[string]int // task id → hints shown
}

func (lr *learner) loop(ctx context.Context) error {
	fmt.Fprintln(lr.out, "\nYou are in the workspace shell. Press Ctrl-] for the lab menu (check, hints, tasks, quit).")
	for {
		if err := lr.shell(ctx); err != nil {
			return err
		}
		if quit, err := lr.menu(ctx); err != nil || quit {
			return err
		}
	}
}

// shell forwards the terminal until the learner presses Ctrl-] or the
// shell exits.
func (lr *learner) shell(ctx context.Context) error {
	fd := int(os.Stdin.Fd())
	size := runner.TermSize{Cols: 80, Rows: 24}
	if w, h, err := term.GetSize(fd); err == nil {
		size = runner.TermSize{Cols: uint16(w), Rows: uint16(h)}
	}
	if lr.term == nil {
		t, err := lr.s.Shell(ctx, size)
		if err != nil {
			return err
		}
		lr.term = t
		lr.gate = newGate(lr.out)
		go func() {
			io.Copy(lr.gate, t)
			lr.gate.closed()
		}()
	} else {
		_ = lr.term.Resize(ctx, size)
	}
	if term.IsTerminal(fd) {
		old, err := term.MakeRaw(fd)
		if err != nil {
			return fmt.Errorf("raw terminal: %w", err)
		}
		defer term.Restore(fd, old)
	}
	lr.gate.open()
	defer lr.gate.pause()

	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	defer signal.Stop(winch)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-lr.gate.done:
			lr.term = nil
			fmt.Fprint(lr.out, "\r\nthe shell ended.\r\n")
			return nil
		case <-winch:
			if w, h, err := term.GetSize(fd); err == nil {
				_ = lr.term.Resize(ctx, runner.TermSize{Cols: uint16(w), Rows: uint16(h)})
			}
		case chunk, ok := <-lr.in.c:
			if !ok {
				return io.EOF
			}
			if i := bytes.IndexByte(chunk, escapeKey); i >= 0 {
				lr.term.Write(chunk[:i])
				lr.in.unread(chunk[i+1:])
				return nil
			}
			if _, err := lr.term.Write(chunk); err != nil {
				lr.term = nil
				return nil
			}
		}
	}
}

// menu shows the lab menu until the learner goes back to the shell (false)
// or quits (true).
func (lr *learner) menu(ctx context.Context) (bool, error) {
	for {
		fmt.Fprint(lr.out, "\n[c]heck  [h]int  [t]asks  [s]hell  [q]uit > ")
		line, ok := lr.in.line(ctx)
		if !ok {
			return true, nil
		}
		switch strings.TrimSpace(strings.ToLower(line)) {
		case "c", "check":
			fmt.Fprintln(lr.out)
			res, err := lr.s.Check(ctx, labrun.NewPrinter(lr.out).Event)
			if err != nil {
				return false, err
			}
			lr.last = &res
			if res.Outcome == runner.OutcomePassed {
				fmt.Fprintln(lr.out, "\n   All steps passed. Well done!")
			}
		case "h", "hint":
			lr.hint()
		case "t", "tasks":
			lr.tasks()
		case "s", "shell", "":
			return false, nil
		case "q", "quit", "exit":
			return true, nil
		default:
			fmt.Fprintf(lr.out, "unknown choice %q\n", line)
		}
	}
}

// current returns the first task whose steps have not all passed.
func (lr *learner) current() *lab.Task {
	for i := range lr.l.Tasks {
		if !lr.taskDone(&lr.l.Tasks[i]) {
			return &lr.l.Tasks[i]
		}
	}
	return nil
}

func (lr *learner) taskDone(t *lab.Task) bool {
	if lr.last == nil || len(t.Steps) == 0 {
		return false
	}
	for _, id := range t.Steps {
		for _, st := range lr.last.Steps {
			if st.ID == id && st.Status != labrun.StepPassed {
				return false
			}
		}
	}
	return true
}

func (lr *learner) tasks() {
	for i, t := range lr.l.Tasks {
		mark := " "
		if lr.taskDone(&lr.l.Tasks[i]) {
			mark = "✓"
		}
		fmt.Fprintf(lr.out, "\n %s %d. %s\n", mark, i+1, t.Title)
		if b, err := os.ReadFile(lr.l.Path(t.Instructions)); err == nil {
			fmt.Fprintf(lr.out, "%s\n", indentText(strings.TrimSpace(string(b)), "    "))
		}
	}
}

func (lr *learner) hint() {
	t := lr.current()
	if t == nil {
		fmt.Fprintln(lr.out, "Every task is done: no hints needed.")
		return
	}
	n := lr.hints[t.ID]
	if n >= len(t.Hints) {
		fmt.Fprintf(lr.out, "No more hints for %q (%d shown).\n", t.Title, n)
		return
	}
	lr.hints[t.ID] = n + 1
	fmt.Fprintf(lr.out, "Hint %d of %d for %q:\n%s\n", n+1, len(t.Hints), t.Title, indentText(t.Hints[n], "  "))
}

func indentText(s, pad string) string {
	return pad + strings.ReplaceAll(s, "\n", "\n"+pad)
}

// input reads stdin in the background, so the shell and the menu can share
// it.
type input struct {
	c       chan []byte
	mu      sync.Mutex
	pending []byte
}

func newInput(r io.Reader) *input {
	in := &input{c: make(chan []byte, 16)}
	go func() {
		defer close(in.c)
		for {
			buf := make([]byte, 4096)
			n, err := r.Read(buf)
			if n > 0 {
				in.c <- buf[:n]
			}
			if err != nil {
				return
			}
		}
	}()
	return in
}

// unread keeps b for the next line read.
func (in *input) unread(b []byte) {
	in.mu.Lock()
	in.pending = append(in.pending, b...)
	in.mu.Unlock()
}

// line returns the next line typed (without its end).
func (in *input) line(ctx context.Context) (string, bool) {
	for {
		in.mu.Lock()
		if i := bytes.IndexAny(in.pending, "\r\n"); i >= 0 {
			s := string(in.pending[:i])
			in.pending = bytes.TrimLeft(in.pending[i:], "\r\n")
			in.mu.Unlock()
			return s, true
		}
		in.mu.Unlock()
		select {
		case <-ctx.Done():
			return "", false
		case b, ok := <-in.c:
			if !ok {
				in.mu.Lock()
				s := string(in.pending)
				in.pending = nil
				in.mu.Unlock()
				return s, s != ""
			}
			in.unread(b)
		}
	}
}

// gate passes terminal output through while open and holds it (up to
// 256 KiB) while the menu is shown.
type gate struct {
	mu     sync.Mutex
	out    io.Writer
	held   []byte
	paused bool
	done   chan struct{}
	once   sync.Once
}

func newGate(out io.Writer) *gate { return &gate{out: out, paused: true, done: make(chan struct{})} }

func (g *gate) Write(b []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.paused {
		if len(g.held)+len(b) <= 256<<10 {
			g.held = append(g.held, b...)
		}
		return len(b), nil
	}
	return g.out.Write(b)
}

func (g *gate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.paused = false
	g.out.Write(g.held)
	g.held = nil
}

func (g *gate) pause() {
	g.mu.Lock()
	g.paused = true
	g.mu.Unlock()
}

func (g *gate) closed() { g.once.Do(func() { close(g.done) }) }

// prefixed writes each line to w with a prefix.
func prefixed(w io.Writer, prefix string) io.Writer {
	var mu sync.Mutex
	var buf []byte
	return writerFunc(func(b []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		buf = append(buf, b...)
		for {
			i := bytes.IndexByte(buf, '\n')
			if i < 0 {
				return len(b), nil
			}
			fmt.Fprintf(w, "%s%s\n", prefix, buf[:i])
			buf = buf[i+1:]
		}
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }
