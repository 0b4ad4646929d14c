// Package tui is the terminal front end of `backlab run`: the learner
// works in the sandbox's workspace shell on their own terminal, and Ctrl-]
// opens a lab menu to check the work, read hints and tasks, or quit.
// Output the shell writes while the menu is shown is held and shown when
// the shell comes back.
package tui

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"golang.org/x/term"

	"github.com/backlab/backlab/internal/lab"
	"github.com/backlab/backlab/internal/labrun"
	"github.com/backlab/backlab/runner"
)

// escapeKey (Ctrl-]) leaves the shell for the lab menu.
const escapeKey = 0x1d

// Title writes the lab's title, underlined, and its summary: what the
// learner reads while the sandbox starts.
func Title(w io.Writer, l *lab.Lab) {
	fmt.Fprintf(w, "\n%s\n%s\n\n%s\n", l.Title, strings.Repeat("=", len([]rune(l.Title))), l.Summary)
}

// Run shows the lab's instructions, then lets the learner work in the
// workspace shell of s and use the lab menu until they quit, their input
// ends or ctx ends. It reads keys from tty (switched to raw mode while the
// shell has it, when it is a terminal) and writes to out. The caller stops
// the sandbox.
func Run(ctx context.Context, s *labrun.Run, tty *os.File, out io.Writer) error {
	l := s.Lab
	lr := &learner{s: s, l: l, tty: tty, in: newInput(tty), out: out, hints: map[string]int{}}
	if intro, err := os.ReadFile(l.Path(l.Instructions)); err == nil {
		fmt.Fprintf(out, "\n%s\n", strings.TrimSpace(string(intro)))
	}
	return lr.loop(ctx)
}

// learner holds the state of one [Run].
type learner struct {
	s     *labrun.Run
	l     *lab.Lab
	tty   *os.File
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
	fd := int(lr.tty.Fd())
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
