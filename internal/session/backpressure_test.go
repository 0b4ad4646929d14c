package session_test

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/backlab/backlab/internal/session"
	"github.com/backlab/backlab/internal/testenv"
	"github.com/backlab/backlab/runner"
	"github.com/backlab/backlab/runner/runnertest"
)

// waitReplay waits until the terminal's recent output holds want.
func waitReplay(t *testing.T, term *session.Terminal, want string) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		replay, _, detach := term.Attach()
		detach()
		if bytes.Contains(replay, []byte(want)) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the terminal within a minute", want)
		}
	}
}

// drain yields what ch holds until it closes; a channel still open a
// minute after its last item fails the test (the subscriber was not
// dropped).
func drain[T any](t *testing.T, ch <-chan T) func(yield func(T) bool) {
	return func(yield func(T) bool) {
		for {
			select {
			case v, ok := <-ch:
				if !ok || !yield(v) {
					return
				}
			case <-time.After(time.Minute):
				t.Fatal("the slow subscriber is still attached a minute after the flood; it should have been dropped")
			}
		}
	}
}

// TestSlowViewerIsBounded floods a terminal that one attachment does not
// read: that attachment holds at most MaxPendingOutput bytes, then is
// dropped (its channel closes without the shell's exit), while the
// terminal goes on.
func TestSlowViewerIsBounded(t *testing.T) {
	t.Parallel()
	e := newFakeEnv(t, 10*time.Minute, time.Minute)
	e.fake.Driver.AddCommand("flood", testenv.Flood)
	s, _ := openReady(t, e)
	term, err := s.NewTerminal(t.Context(), runner.TermSize{Cols: 80, Rows: 24})
	if err != nil {
		t.Fatal(err)
	}
	_, slow, detach := term.Attach()
	defer detach()
	const flood = 8 << 20
	term.Write([]byte("flood " + strconv.Itoa(flood) + "\n"))
	waitReplay(t, term, "flood-done")

	got, exited := 0, false
	for o := range drain(t, slow) {
		got += len(o.Data)
		exited = exited || o.Exited
	}
	if exited {
		t.Fatal("the slow attachment saw the shell exit; the shell should still run")
	}
	if got > session.MaxPendingOutput {
		t.Errorf("the slow attachment got %d bytes after the flood of %d; it may hold at most %d", got, flood, session.MaxPendingOutput)
	}

	// The terminal goes on: a new attachment sees new output.
	_, out, detach2 := term.Attach()
	defer detach2()
	term.Write([]byte("echo after-$((6*7))\n"))
	readUntil(t, out, nil, "after-42")
}

// TestSlowSubscriberIsBounded publishes more check events than a
// subscriber that does not read may hold: it is dropped (its channel
// closes) once MaxPendingEvents bytes wait, and it got at most that much.
func TestSlowSubscriberIsBounded(t *testing.T) {
	t.Parallel()
	e := newFakeEnv(t, 10*time.Minute, time.Minute)
	s, _ := openReady(t, e)
	slow, cancelSlow := s.Subscribe()
	defer cancelSlow()

	// 32 steps with 64 KiB of evidence each: 2 MiB of events.
	var steps []runnertest.Step
	for i := range 32 {
		steps = append(steps, runnertest.Step{ID: "step-" + strconv.Itoa(i), Message: strings.Repeat("m", 64<<10)})
	}
	e.fake.SetChecker(e.lab, steps...)
	if _, err := s.StartCheck(t.Context()); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); s.View().Checking; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the check still runs after a minute")
		}
	}
	got := 0
	for m := range drain(t, slow) {
		got += len(m.Message)
	}
	if got > session.MaxPendingEvents {
		t.Errorf("the slow subscriber got %d bytes of messages; it may hold at most %d", got, session.MaxPendingEvents)
	}
}
