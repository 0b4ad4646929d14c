package session_test

import (
	"context"
	"crypto/rand"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/backlab/backlab/internal/lab"
	"github.com/backlab/backlab/internal/labrun"
	"github.com/backlab/backlab/internal/session"
	"github.com/backlab/backlab/internal/store"
	"github.com/backlab/backlab/internal/testenv"
	"github.com/backlab/backlab/runner"
	"github.com/backlab/backlab/runner/docker"
	"github.com/backlab/backlab/runner/docker/images"
	"github.com/backlab/backlab/runner/runnertest"
)

type env struct {
	m   *session.Manager
	st  *store.Store
	lab *lab.Lab
	// hold makes the next sandbox starts wait until release is called.
	hold func() (release func())
	// fake is the fake driver's labs (nil on the real engine).
	fake *testenv.FakeLabs
}

// newEnv starts a manager of a scaffolded lab with sandboxes on the real
// engine.
func newEnv(t *testing.T, idle, warn time.Duration) *env {
	t.Helper()
	testenv.NeedDocker(t)
	l := testenv.ScaffoldLab(t, "sess-test")
	cli, err := client.New(client.FromEnv)
	if err != nil {
		t.Fatal(err)
	}
	inst := "sesstest-" + strings.ToLower(rand.Text())
	d, err := docker.New(context.Background(), docker.Options{Instance: inst})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close(); cli.Close() }) // after the manager's cleanup
	b := &images.Builder{Docker: cli}
	imgs := func(ctx context.Context, l *lab.Lab, progress io.Writer) (runner.ImageSet, error) {
		bb := *b
		bb.Progress = progress
		return bb.Lab(ctx, l, true)
	}
	return startEnv(t, l, labrun.Runner{Driver: d, Instance: inst}, imgs, idle, warn)
}

// newFakeEnv is newEnv with sandboxes on a fake driver: no engine needed.
func newFakeEnv(t *testing.T, idle, warn time.Duration, opts ...func(*session.Config)) *env {
	t.Helper()
	l := testenv.ScaffoldLab(t, "sess-test")
	fake := testenv.NewFakeLabs(t, l)
	e := startEnv(t, l, labrun.Runner{Driver: fake.Driver, Instance: "fake"}, fake.Images, idle, warn, opts...)
	// The fake starts sandboxes at once; a test holds a start to see its
	// progress from the beginning, as an engine's start takes long enough to.
	e.hold, e.fake = fake.Driver.Hold, fake
	return e
}

// startEnv runs a manager of l until t ends, with one learner, u1.
func startEnv(t *testing.T, l *lab.Lab, r labrun.Runner, imgs session.ImagesFunc, idle, warn time.Duration, opts ...func(*session.Config)) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.EnsureUser(ctx, store.User{ID: "u1", Name: "One", Role: store.RoleLearner}); err != nil {
		t.Fatal(err)
	}
	cfg := session.Config{
		Runner: r, Images: imgs,
		Store: st, Labs: []*lab.Lab{l}, IdleTimeout: idle, IdleWarning: warn,
	}
	for _, o := range opts {
		o(&cfg)
	}
	m := session.New(ctx, cfg)
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done // every sandbox removed
		st.Close()
	})
	return &env{m: m, st: st, lab: l, hold: func() func() { return func() {} }}
}

// waitState reads messages until the session reaches state.
// openReady opens e's lab for user u1 and waits until its sandbox is
// ready; the subscription to its messages ends with the test.
func openReady(t *testing.T, e *env) (*session.Session, <-chan session.Message) {
	t.Helper()
	s, _, err := e.m.Open(t.Context(), "u1", e.lab.ID)
	if err != nil {
		t.Fatal(err)
	}
	msgs, cancel := s.Subscribe()
	t.Cleanup(cancel)
	waitState(t, msgs, store.StateReady)
	return s, msgs
}

func waitState(t *testing.T, msgs <-chan session.Message, state string) []session.Message {
	t.Helper()
	var seen []session.Message
	timeout := time.After(3 * time.Minute)
	for {
		select {
		case m, ok := <-msgs:
			if !ok {
				t.Fatalf("subscription closed before state %s", state)
			}
			seen = append(seen, m)
			if m.Type == session.MsgSession && m.Session.State == state {
				return seen
			}
			if m.Type == session.MsgSession && m.Session.State == store.StateFailed {
				t.Fatalf("session failed: %s (%s)", m.Session.Error, m.Session.Advice)
			}
		case <-timeout:
			t.Fatalf("no state %s within 3 minutes; saw %d messages", state, len(seen))
		}
	}
}

// readUntil collects terminal output until it contains want.
func readUntil(t *testing.T, out <-chan session.TermOutput, have []byte, want string) []byte {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for !strings.Contains(string(have), want) {
		select {
		case o, ok := <-out:
			if !ok {
				t.Fatalf("terminal closed before %q; got %q", want, have)
			}
			have = append(have, o.Data...)
		case <-timeout:
			t.Fatalf("no %q in the terminal; got %q", want, have)
		}
	}
	return have
}

func TestSessionLifecycle(t *testing.T) {
	t.Parallel()
	testSessionLifecycle(t, newFakeEnv(t, 10*time.Minute, time.Minute))
}

// TestSessionLifecycleOnEngine is [TestSessionLifecycle] with sandboxes
// on the real engine.
func TestSessionLifecycleOnEngine(t *testing.T) {
	t.Parallel()
	testSessionLifecycle(t, newEnv(t, 10*time.Minute, time.Minute))
}

// testSessionLifecycle follows a session from its start to its stop:
// resuming, terminals, files, a check, a reset.
func testSessionLifecycle(t *testing.T, e *env) {
	ctx := t.Context()
	release := e.hold()
	defer release()
	s, created, err := e.m.Open(ctx, "u1", e.lab.ID)
	if err != nil || !created {
		t.Fatalf("Open = %v, %v", created, err)
	}
	msgs, cancel := s.Subscribe()
	defer cancel()
	release()
	seen := waitState(t, msgs, store.StateReady)
	var ready []string
	for _, m := range seen {
		if m.Type == runner.EventServiceReady {
			ready = append(ready, m.Service)
		}
	}
	if strings.Join(ready, ",") != "workspace,app" {
		t.Errorf("service.ready events for %q, want workspace,app in order", ready)
	}
	v := s.View()
	if v.Expires.IsZero() || v.Services[1].State != "ready" {
		t.Errorf("ready view = %+v", v)
	}

	// Opening again (a page reload) resumes the same session.
	again, created, err := e.m.Open(ctx, "u1", e.lab.ID)
	if err != nil || created || again != s {
		t.Fatalf("second Open = %p created=%v %v; want the same session", again, created, err)
	}
	// Another user gets a session of their own.
	e.st.EnsureUser(ctx, store.User{ID: "u2", Name: "Two", Role: store.RoleLearner})
	other, created, err := e.m.Open(ctx, "u2", e.lab.ID)
	if err != nil || !created || other == s {
		t.Fatalf("Open for u2 = %v %v; want a new session", created, err)
	}
	other.Stop(store.StateStopped, "")

	// A terminal: output, replay after re-attaching.
	term, err := s.NewTerminal(ctx, runner.TermSize{Cols: 100, Rows: 30})
	if err != nil {
		t.Fatal(err)
	}
	_, out, detach := term.Attach()
	term.Write([]byte("stty size; echo mark-$((6*7))\n"))
	got := readUntil(t, out, nil, "mark-42")
	if !strings.Contains(string(got), "30 100") {
		t.Errorf("stty size in the terminal: %q, want 30 100", got)
	}
	detach()
	replay, out2, detach2 := term.Attach()
	defer detach2()
	if !strings.Contains(string(replay), "mark-42") {
		t.Errorf("replay after re-attach lacks earlier output: %q", replay)
	}
	if err := term.Resize(ctx, runner.TermSize{Cols: 120, Rows: 40}); err != nil {
		t.Fatal(err)
	}
	term.Write([]byte("stty size\n"))
	readUntil(t, out2, nil, "40 120")
	if err := term.Resize(ctx, runner.TermSize{Cols: 0, Rows: 40}); err == nil {
		t.Error("a resize to 0 columns was accepted")
	}

	// Files: what the editor saves the terminal sees, and the reverse.
	files, err := s.Files(ctx)
	if err != nil || len(files) == 0 {
		t.Fatalf("Files = %v, %v", files, err)
	}
	if err := s.WriteFile(ctx, "notes/today.txt", []byte("saved-from-editor\n")); err != nil {
		t.Fatal(err)
	}
	term.Write([]byte("cat notes/today.txt; ls -l notes/today.txt; echo from-shell > shell.txt\n"))
	got = readUntil(t, out2, nil, "saved-from-editor")
	time.Sleep(300 * time.Millisecond)
	if b, err := s.ReadFile(ctx, "shell.txt"); err != nil || string(b) != "from-shell\n" {
		t.Errorf("ReadFile(shell.txt) = %q, %v", b, err)
	}
	for _, bad := range []string{"../etc/passwd", "/etc/passwd", "", "a/../../x"} {
		if _, err := s.ReadFile(ctx, bad); err == nil {
			t.Errorf("ReadFile(%q) succeeded", bad)
		}
	}
	if _, err := s.ReadFile(ctx, "missing.txt"); err == nil || !strings.Contains(err.Error(), "not a file") {
		t.Errorf("ReadFile(missing) = %v", err)
	}

	// A check of the starter fails exactly the declared step, streamed and stored.
	run, err := s.StartCheck(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.StartCheck(ctx); err != session.ErrCheckRunning {
		t.Errorf("a second check while one runs: %v, want ErrCheckRunning", err)
	}
	var finished *session.Message
	for finished == nil {
		select {
		case m := <-msgs:
			if m.Type == runner.EventCheckFinished {
				if m.Run != run {
					t.Errorf("check.finished for run %q, want %q", m.Run, run)
				}
				finished = &m
			}
		case <-time.After(2 * time.Minute):
			t.Fatal("no check.finished")
		}
	}
	if finished.Outcome != runner.OutcomeFailed {
		t.Fatalf("starter outcome = %s (%s), want failed", finished.Outcome, finished.Message)
	}
	time.Sleep(200 * time.Millisecond)
	runs, err := e.st.CheckRuns(ctx, s.ID)
	if err != nil || len(runs) != 1 || runs[0].Outcome != "failed" || !strings.Contains(string(runs[0].Result), `"caps-limit"`) {
		t.Fatalf("stored runs = %+v, %v", runs, err)
	}
	evs, _ := e.st.CheckEvents(ctx, run)
	if len(evs) < 5 {
		t.Errorf("stored %d events for the run, want the whole stream", len(evs))
	}

	// Reset: same id, a fresh sandbox, the saved file is gone, terminals closed.
	s.Reset()
	waitState(t, msgs, store.StateReady)
	if len(s.View().Terminals) != 0 {
		t.Errorf("terminals after reset: %v", s.View().Terminals)
	}
	if _, err := s.ReadFile(ctx, "notes/today.txt"); err == nil {
		t.Error("a file saved before the reset is still there")
	}
	s.Stop(store.StateStopped, "")
	if _, err := s.NewTerminal(ctx, runner.TermSize{}); err != session.ErrNotRunning {
		t.Errorf("NewTerminal after stop: %v, want ErrNotRunning", err)
	}
	if st, _ := e.st.Session(ctx, s.ID); st.State != store.StateStopped {
		t.Errorf("stored state = %s, want stopped", st.State)
	}
}

func TestIdleWarningThenExpiry(t *testing.T) {
	t.Parallel()
	testIdleWarningThenExpiry(t, newFakeEnv(t, 3*time.Second, 1500*time.Millisecond))
}

// TestIdleWarningThenExpiryOnEngine is [TestIdleWarningThenExpiry] with
// sandboxes on the real engine.
func TestIdleWarningThenExpiryOnEngine(t *testing.T) {
	t.Parallel()
	testIdleWarningThenExpiry(t, newEnv(t, 6*time.Second, 3*time.Second))
}

// testIdleWarningThenExpiry leaves a ready session alone: it is warned,
// then stopped as expired.
func testIdleWarningThenExpiry(t *testing.T, e *env) {
	s, msgs := openReady(t, e)
	seen := waitState(t, msgs, store.StateExpired)
	warned := false
	for _, m := range seen {
		if m.Type == session.MsgExpiring && !m.ExpiresAt.IsZero() {
			warned = true
		}
	}
	if !warned {
		t.Error("the session expired without a session.expiring warning first")
	}
	if v := s.View(); !strings.Contains(v.Error, "without activity") {
		t.Errorf("expired view error = %q", v.Error)
	}
}

// TestMaxLifetime keeps a session busy past its maximum lifetime: the
// page is warned once, with the time of the stop, then the sandbox stops
// as expired, saying why. Activity does not push the stop past the
// lifetime.
func TestMaxLifetime(t *testing.T) {
	t.Parallel()
	e := newFakeEnv(t, 10*time.Minute, time.Minute, func(c *session.Config) {
		c.MaxLifetime, c.LifetimeWarning = 3*time.Second, 1500*time.Millisecond
	})
	s, msgs := openReady(t, e)
	// Keep it alive, as a page that keeps sending keepalives would.
	busy, stopBusy := context.WithCancel(t.Context())
	defer stopBusy()
	go func() {
		for busy.Err() == nil {
			s.Touch()
			time.Sleep(50 * time.Millisecond)
		}
	}()
	var warnings []session.Message
	for _, m := range waitState(t, msgs, store.StateExpired) {
		if m.Type == session.MsgLifetimeEnding {
			warnings = append(warnings, m)
		}
		if m.Type == session.MsgExpiring {
			t.Errorf("an idle warning for a session kept busy: %+v", m)
		}
	}
	stopBusy()
	if len(warnings) != 1 || warnings[0].ExpiresAt.IsZero() {
		t.Fatalf("lifetime warnings before the stop: %+v, want one with the time of the stop", warnings)
	}
	if v := s.View(); !strings.Contains(v.Error, "maximum lifetime") {
		t.Errorf("stopped session's error = %q, want it to name the maximum lifetime", v.Error)
	}
	if st, _ := e.st.Session(t.Context(), s.ID); st.State != store.StateExpired {
		t.Errorf("stored state = %s, want expired", st.State)
	}
}

// TestKeepaliveStopsAtTheLifetime: a keepalive never moves the expiry
// past the end of the sandbox's lifetime.
func TestKeepaliveStopsAtTheLifetime(t *testing.T) {
	t.Parallel()
	e := newFakeEnv(t, 10*time.Minute, time.Minute, func(c *session.Config) { c.MaxLifetime = time.Hour })
	s, _ := openReady(t, e)
	v := s.View()
	if v.EndsAt.IsZero() || v.EndsAt.Sub(v.Created) > time.Hour+time.Minute {
		t.Fatalf("ready view ends_at = %v (created %v), want within the hour's lifetime", v.EndsAt, v.Created)
	}
	if exp := s.Touch(); exp.After(v.EndsAt) {
		t.Errorf("Touch moved the expiry to %v, past the lifetime's end %v", exp, v.EndsAt)
	}
	e2 := newFakeEnv(t, 10*time.Minute, time.Minute, func(c *session.Config) { c.MaxLifetime = 2 * time.Minute })
	s2, _, _ := e2.m.Open(t.Context(), "u1", e2.lab.ID)
	msgs2, cancel2 := s2.Subscribe()
	defer cancel2()
	waitState(t, msgs2, store.StateReady)
	v2 := s2.View()
	if exp := s2.Touch(); !exp.Equal(v2.EndsAt) || !v2.Expires.Equal(v2.EndsAt) {
		t.Errorf("with 10 minutes idle and 2 minutes to live, the expiry is %v (view %v), want the lifetime's end %v", exp, v2.Expires, v2.EndsAt)
	}
}

// TestCheckOutcomes runs checks whose checker reports scripted steps: the
// outcome streamed and the one stored follow what the checker said.
// (labrun's tests and `backlab lab test` judge real checkers.)
func TestCheckOutcomes(t *testing.T) {
	t.Parallel()
	e := newFakeEnv(t, 10*time.Minute, time.Minute)
	s, msgs := openReady(t, e)
	tests := []struct {
		name    string
		steps   []runnertest.Step
		outcome runner.Outcome
	}{
		{"every step passes", []runnertest.Step{{ID: "serves-items"}, {ID: "caps-limit"}}, runner.OutcomePassed},
		{"the second step fails", []runnertest.Step{{ID: "serves-items"}, {ID: "caps-limit", Failed: true, Hint: "cap it"}}, runner.OutcomeFailed},
		{"a declared step is missing", []runnertest.Step{{ID: "serves-items"}}, runner.OutcomeError},
		{"an undeclared step", []runnertest.Step{{ID: "serves-items"}, {ID: "caps-limit"}, {ID: "extra"}}, runner.OutcomeError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.fake.SetChecker(e.lab, tt.steps...)
			run, err := s.StartCheck(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			var finished *session.Message
			for finished == nil {
				select {
				case m := <-msgs:
					if m.Type == runner.EventCheckFinished && m.Run == run {
						finished = &m
					}
				case <-time.After(time.Minute):
					t.Fatal("no check.finished")
				}
			}
			if finished.Outcome != tt.outcome {
				t.Errorf("streamed outcome = %s (%s), want %s", finished.Outcome, finished.Message, tt.outcome)
			}
			// The run is stored before check.finished is published.
			runs, err := e.st.CheckRuns(t.Context(), s.ID)
			if err != nil || len(runs) == 0 || runs[0].ID != run || runs[0].Outcome != string(tt.outcome) {
				t.Errorf("latest stored run = %+v, %v; want %s with outcome %s", runs, err, run, tt.outcome)
			}
			for deadline := time.Now().Add(10 * time.Second); s.View().Checking; time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the session still says a check runs after check.finished")
				}
			}
		})
	}
}
