package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/backlab/backlab/internal/testenv"
)

// ptyOutput collects what a program writes to its terminal.
type ptyOutput struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *ptyOutput) Write(b []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(b)
}

func (o *ptyOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// waitFor waits until the output after offset contains want and returns
// the offset just past it.
func (o *ptyOutput) waitFor(t *testing.T, from int, want string, timeout time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		s := o.String()
		if i := strings.Index(s[from:], want); i >= 0 {
			return from + i + len(want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no %q in the terminal within %s; it shows:\n%s", want, timeout, o.String()[from:])
	return 0
}

// TestRunInTerminal drives `backlab run` through a real pseudo-terminal:
// the learner's shell answers, follows a window resize, Ctrl-] opens the
// menu, a check streams its steps (the starter fails), and quitting removes
// the sandbox.
func TestRunInTerminal(t *testing.T) {
	testenv.NeedDocker(t)
	bin := filepath.Join(t.TempDir(), "backlab")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "run", "../../labs/add-index")
	cmd.Env = append(os.Environ(), "TERM=xterm")
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 30, Cols: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := &ptyOutput{}
	go func() { _, _ = copyAll(out, f) }()

	at := out.waitFor(t, 0, "Ctrl-] for the lab menu", 3*time.Minute)
	type1 := func(s string) {
		if _, err := f.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	type1("echo hello-$((40+2))\r")
	at = out.waitFor(t, at, "hello-42", 30*time.Second)

	if err := pty.Setsize(f, &pty.Winsize{Rows: 41, Cols: 133}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // let SIGWINCH reach backlab before typing
	type1("stty size\r")
	at = out.waitFor(t, at, "41 133", 30*time.Second)

	type1("\x1d")
	at = out.waitFor(t, at, "[c]heck", 10*time.Second)
	type1("c\r")
	at = out.waitFor(t, at, "check failed", 3*time.Minute)
	type1("h\r")
	at = out.waitFor(t, at, "Hint 1 of", 10*time.Second)
	type1("q\r")
	out.waitFor(t, at, "removing the sandbox", 30*time.Second)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("backlab run exited with %v; output:\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "✗") {
		t.Errorf("no failed step shown in the check output")
	}
}

func copyAll(w *ptyOutput, f *os.File) (int64, error) {
	var n int64
	buf := make([]byte, 32<<10)
	for {
		k, err := f.Read(buf)
		if k > 0 {
			w.Write(buf[:k])
			n += int64(k)
		}
		if err != nil {
			return n, err
		}
	}
}
