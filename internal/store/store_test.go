package store

import (
	"context"
	"io/fs"

	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/backlab/backlab/internal/testenv"
)

func open(t *testing.T, path string) *Store {
	t.Helper()
	s, err := OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// reopeners returns, for each database, a function that opens the same
// store again, as a new process would. PostgreSQL runs in a container of
// the test's own (testcontainers-go).
func reopeners(t *testing.T, backend string) func(t *testing.T) *Store {
	switch backend {
	case "sqlite":
		path := filepath.Join(t.TempDir(), "sub", "backlab.db")
		return func(t *testing.T) *Store { return open(t, path) }
	default:
		dsn := testenv.Postgres(t)
		return func(t *testing.T) *Store {
			s, err := Open(t.Context(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
	}
}

func TestSessionsRunsAndProgressSurviveReopen(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) { testSurviveReopen(t, reopeners(t, backend)) })
	}
}

func testSurviveReopen(t *testing.T, reopen func(t *testing.T) *Store) {
	ctx := context.Background()
	s := reopen(t)
	u, err := s.EnsureUser(ctx, User{ID: "local", Name: "You", Role: RoleLearner})
	if err != nil || u.Role != RoleLearner {
		t.Fatalf("EnsureUser = %+v, %v", u, err)
	}
	// A second EnsureUser keeps the first one's fields.
	if u2, err := s.EnsureUser(ctx, User{ID: "local", Name: "Other", Role: RoleAdmin}); err != nil || u2.Name != "You" {
		t.Fatalf("EnsureUser again = %+v, %v; want the stored user", u2, err)
	}
	now := time.Now()
	for _, id := range []string{"s1", "s2"} {
		if err := s.CreateSession(ctx, Session{ID: id, UserID: "local", LabID: "add-index", State: StateStarting, Created: now}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateSession(ctx, Session{ID: "s3", UserID: "local", LabID: "n-plus-one", State: StateStarting, Created: now}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSessionState(ctx, "s1", StateReady, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSessionState(ctx, "nope", StateReady, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetSessionState of an unknown session: %v, want ErrNotFound", err)
	}
	runs := []struct {
		id, outcome string
	}{{"r1", "failed"}, {"r2", "passed"}}
	for i, r := range runs {
		if err := s.StartCheckRun(ctx, CheckRun{ID: r.id, SessionID: "s1", UserID: "local", LabID: "add-index", Started: now.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
		for seq, ev := range []string{`{"type":"check.started"}`, `{"type":"step.passed","step":"a"}`} {
			if err := s.AddCheckEvent(ctx, r.id, seq, []byte(ev)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.FinishCheckRun(ctx, r.id, r.outcome, "", []byte(`{"steps":[]}`)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.StartCheckRun(ctx, CheckRun{ID: "r3", SessionID: "s3", UserID: "local", LabID: "n-plus-one", Started: now}); err != nil {
		t.Fatal(err)
	}
	if n, ok, err := s.RevealHint(ctx, "s1", "t1", 2); n != 1 || !ok || err != nil {
		t.Fatalf("RevealHint = %d %v %v", n, ok, err)
	}
	s.RevealHint(ctx, "s1", "t1", 2)
	if n, ok, err := s.RevealHint(ctx, "s1", "t1", 2); n != 2 || ok || err != nil {
		t.Fatalf("RevealHint past the last = %d %v %v, want 2 false nil", n, ok, err)
	}
	s.Close()

	// A new process: live sessions and running checks end, nothing else is lost.
	s = reopen(t)
	if n, err := s.EndLiveSessions(ctx, "the server restarted"); err != nil || n != 3 {
		t.Fatalf("EndLiveSessions = %d, %v; want 3", n, err)
	}
	if n, err := s.EndRunningChecks(ctx, "the server restarted"); err != nil || n != 1 {
		t.Fatalf("EndRunningChecks = %d, %v; want 1", n, err)
	}
	sess, err := s.Session(ctx, "s1")
	if err != nil || sess.State != StateStopped || sess.Ended.IsZero() || sess.Error != "the server restarted" {
		t.Fatalf("Session = %+v, %v", sess, err)
	}
	got, err := s.CheckRuns(ctx, "s1")
	if err != nil || len(got) != 2 || got[0].ID != "r2" || got[0].Outcome != "passed" || got[0].Finished.IsZero() || string(got[0].Result) != `{"steps":[]}` {
		t.Fatalf("CheckRuns = %+v, %v; want r2 (passed) first", got, err)
	}
	evs, err := s.CheckEvents(ctx, "r1")
	if err != nil || len(evs) != 2 || string(evs[1]) != `{"type":"step.passed","step":"a"}` {
		t.Fatalf("CheckEvents = %s, %v", evs, err)
	}
	prog, err := s.Progress(ctx, "local")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]LabStatus{
		"add-index":  {LabID: "add-index", Started: true, Passed: true, Attempts: 2},
		"n-plus-one": {LabID: "n-plus-one", Started: true, Passed: false, Attempts: 1},
	}
	if len(prog) != len(want) || prog["add-index"] != want["add-index"] || prog["n-plus-one"] != want["n-plus-one"] {
		t.Errorf("Progress = %+v, want %+v", prog, want)
	}
	if h, err := s.Hints(ctx, "s1"); err != nil || h["t1"] != 2 {
		t.Errorf("Hints = %v, %v", h, err)
	}
	if p, _ := s.Progress(ctx, "someone-else"); len(p) != 0 {
		t.Errorf("another user's progress = %v, want none", p)
	}
}

func TestSplitSQL(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"-- c\nCREATE TABLE a (x int);\n\nCREATE INDEX i ON a (x);\n", 2},
		{"CREATE TABLE a (\n  x int\n);", 1},
		{"-- only a comment\n", 0},
	}
	for _, tt := range tests {
		if got := splitSQL(tt.in); len(got) != tt.want {
			t.Errorf("splitSQL(%q) = %q, want %d statements", tt.in, got, tt.want)
		}
	}
}

func TestOpenRefusesAFileThatIsNotADatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	if err := writeFile(path, "this is not sqlite, and must not be overwritten"); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenSQLite(t.Context(), path); err == nil {
		t.Fatal("OpenSQLite of a text file succeeded")
	}
	if b, _ := readFile(path); b != "this is not sqlite, and must not be overwritten" {
		t.Errorf("the file was changed: %q", b)
	}
}

// TestPostgresServersMigrateOnce starts several servers on one empty
// database at once: the advisory lock lets exactly one migrate.
func TestPostgresServersMigrateOnce(t *testing.T) {
	dsn := testenv.Postgres(t)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			s, err := OpenPostgres(t.Context(), dsn)
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Errorf("a server failed to start: %v", err)
		}
	}
	s, err := OpenPostgres(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	files, _ := fs.Glob(migrations, "migrations/*.sql")
	var n int
	if err := s.db.Get(&n, `SELECT COUNT(*) FROM schema_migrations`); err != nil || n != len(files) {
		t.Errorf("schema_migrations has %d rows (%v), want one per migration (%d)", n, err, len(files))
	}
}
