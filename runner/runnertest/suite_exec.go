package runnertest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backlab/backlab/runner"
)

// run execs cmd in service and fails t unless it exits 0.
func run(t *testing.T, sb runner.Sandbox, service string, cmd ...string) string {
	t.Helper()
	res, err := sb.Exec(t.Context(), service, runner.ExecOptions{Cmd: cmd})
	if err != nil {
		t.Fatalf("exec %q in %s: %v", cmd, service, err)
	}
	if res.ExitCode != 0 {
		t.Fatalf("exec %q in %s: exit %d\nstdout: %s\nstderr: %s", cmd, service, res.ExitCode, res.Stdout, res.Stderr)
	}
	return string(res.Stdout)
}

func (s *suite) testExec(t *testing.T, sb runner.Sandbox) {
	tests := []struct {
		name       string
		service    string
		opts       runner.ExecOptions
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"stdout", "work", runner.ExecOptions{Cmd: []string{"echo", "out"}}, 0, "out\n", ""},
		{"stderr and exit code", "work", runner.ExecOptions{Cmd: []string{"bash", "-c", "echo err >&2; exit 3"}}, 3, "", "err\n"},
		{"stdin", "work", runner.ExecOptions{Cmd: []string{"cat"}, Stdin: strings.NewReader("typed\nlines\n")}, 0, "typed\nlines\n", ""},
		{"empty stdin", "work", runner.ExecOptions{Cmd: []string{"wc", "-c"}, Stdin: strings.NewReader("")}, 0, "0\n", ""},
		{"env", "work", runner.ExecOptions{Cmd: []string{"bash", "-c", "echo $FOO"}, Env: map[string]string{"FOO": "bar"}}, 0, "bar\n", ""},
		{"service env", "work", runner.ExecOptions{Cmd: []string{"printenv", "LAB_GREETING"}}, 0, "hi\n", ""},
		{"service workdir", "work", runner.ExecOptions{Cmd: []string{"pwd"}}, 0, "/data\n", ""},
		{"workdir", "work", runner.ExecOptions{Cmd: []string{"pwd"}, WorkDir: "/tmp"}, 0, "/tmp\n", ""},
		{"image user", "db", runner.ExecOptions{Cmd: []string{"id", "-u"}}, 0, "1000\n", ""},
		{"user", "db", runner.ExecOptions{Cmd: []string{"id", "-u"}, User: "4242"}, 0, "4242\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := sb.Exec(t.Context(), tt.service, tt.opts)
			if err != nil {
				t.Fatalf("Exec: %v", err)
			}
			if res.ExitCode != tt.wantCode || string(res.Stdout) != tt.wantStdout || string(res.Stderr) != tt.wantStderr {
				t.Errorf("Exec = (exit %d, stdout %q, stderr %q), want (exit %d, stdout %q, stderr %q)",
					res.ExitCode, res.Stdout, res.Stderr, tt.wantCode, tt.wantStdout, tt.wantStderr)
			}
		})
	}
	t.Run("unknown service", func(t *testing.T) {
		_, err := sb.Exec(t.Context(), "nope", runner.ExecOptions{Cmd: []string{"true"}})
		if !errors.Is(err, runner.ErrNoService) {
			t.Errorf("Exec in unknown service: err = %v, want %v", err, runner.ErrNoService)
		}
	})
}

func (s *suite) testExecCap(t *testing.T, sb runner.Sandbox) {
	res, err := sb.Exec(t.Context(), "work", runner.ExecOptions{Cmd: []string{"bash", "-c",
		fmt.Sprintf("head -c %d /dev/zero; head -c 10 /dev/zero >&2", runner.MaxExecOutput+12345)}})
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}
	if got, want := len(res.Stdout), runner.MaxExecOutput; got != want {
		t.Errorf("len(Stdout) = %d, want %d", got, want)
	}
	if got, want := len(res.Stderr), 10; got != want {
		t.Errorf("len(Stderr) = %d, want %d", got, want)
	}
	if res.ExitCode != 0 {
		t.Errorf("exit code = %d, want 0", res.ExitCode)
	}
}

// screen collects what a terminal prints.
type screen struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	done chan struct{}
	err  error
}

func newScreen(r io.Reader) *screen {
	sc := &screen{done: make(chan struct{})}
	go func() {
		defer close(sc.done)
		b := make([]byte, 4096)
		for {
			n, err := r.Read(b)
			sc.mu.Lock()
			sc.buf.Write(b[:n])
			sc.mu.Unlock()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					sc.err = err
				}
				return
			}
		}
	}()
	return sc
}

// waitFor returns the offset just past the first want printed after from.
// It fails t if want does not appear within a generous bound (a hang, not
// a speed assertion).
func (sc *screen) waitFor(t *testing.T, from int, want string) int {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		sc.mu.Lock()
		text := sc.buf.String()
		sc.mu.Unlock()
		if i := strings.Index(text[min(from, len(text)):], want); i >= 0 {
			return from + i + len(want)
		}
		select {
		case <-sc.done:
			t.Fatalf("terminal ended (err %v) without printing %q; it printed %q", sc.err, want, text[min(from, len(text)):])
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("terminal did not print %q; it printed %q", want, text[min(from, len(text)):])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (s *suite) testAttach(t *testing.T, sb runner.Sandbox) {
	ctx := t.Context()
	term, err := sb.Attach(ctx, "work", runner.TTYOptions{Size: runner.TermSize{Cols: 100, Rows: 30}})
	if err != nil {
		t.Fatalf("Attach: %v", err)
	}
	defer term.Close()
	sc := newScreen(term)
	type step struct {
		name   string
		resize *runner.TermSize
		input  string
		want   []string // printed in this order
	}
	steps := []step{
		{name: "initial size", input: "stty size\n", want: []string{"30 100"}},
		{name: "resize", resize: &runner.TermSize{Cols: 132, Rows: 40}, input: "stty size\n", want: []string{"40 132"}},
		{name: "typed input echoed", input: "echo typed-$((6*7))\n", want: []string{"echo typed-$((6*7))", "typed-42"}},
		{name: "runs as the service user", input: "id -u\n", want: []string{"id -u", "1000"}},
	}
	pos := 0
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.resize != nil {
				if err := term.Resize(ctx, *st.resize); err != nil {
					t.Fatalf("Resize: %v", err)
				}
			}
			if _, err := io.WriteString(term, st.input); err != nil {
				t.Fatalf("write: %v", err)
			}
			for _, w := range st.want {
				pos = sc.waitFor(t, pos, w)
			}
		})
	}
	if _, err := io.WriteString(term, "exit 7\n"); err != nil {
		t.Fatalf("write: %v", err)
	}
	code, err := term.Wait(ctx)
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if code != 7 {
		t.Errorf("Wait = %d, want 7", code)
	}
	if err := term.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	t.Run("unknown service", func(t *testing.T) {
		_, err := sb.Attach(ctx, "nope", runner.TTYOptions{})
		if !errors.Is(err, runner.ErrNoService) {
			t.Errorf("Attach to unknown service: err = %v, want %v", err, runner.ErrNoService)
		}
	})
}
