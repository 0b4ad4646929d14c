package session

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/backlab/backlab/internal/lab"
	"github.com/backlab/backlab/internal/store"
	"github.com/backlab/backlab/runner"
)

// stuckManager is a manager whose sandboxes never finish starting, so
// every opened session stays alive and counts against the limits.
func stuckManager(t *testing.T, lim Limits, diskFree func() (int64, error)) *Manager {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var labs []*lab.Lab
	for _, id := range []string{"a", "b", "c"} {
		labs = append(labs, &lab.Lab{ID: id, Services: []lab.Service{{Name: "x", Resources: lab.Resources{Memory: "256Mi"}}}})
	}
	for _, u := range []string{"u1", "u2", "u3"} {
		st.EnsureUser(ctx, store.User{ID: u, Name: u, Role: store.RoleLearner})
	}
	return New(ctx, Config{
		Store: st, Labs: labs, Limits: lim, DiskFree: diskFree,
		Images: func(ctx context.Context, _ *lab.Lab, _ io.Writer) (runner.ImageSet, error) {
			<-ctx.Done()
			return runner.ImageSet{}, ctx.Err()
		},
	})
}

func TestLimits(t *testing.T) {
	t.Parallel()
	type open struct {
		user, lab string
		refused   LimitKind // "" when it must be admitted
	}
	noOthers := Limits{PerUser: -1, Starts: -1, MaxSandboxes: -1, MinFreeDisk: -1}
	tests := []struct {
		name  string
		lim   Limits
		disk  func() (int64, error)
		opens []open
	}{
		{"per user", Limits{PerUser: 2, Starts: -1, MaxSandboxes: -1, MinFreeDisk: -1}, nil, []open{
			{"u1", "a", ""}, {"u1", "b", ""}, {"u1", "c", LimitPerUser}, {"u2", "c", ""},
			{"u1", "a", ""}, // reopening a live session is not a new one
		}},
		{"server full", Limits{PerUser: -1, Starts: -1, MaxSandboxes: 2, MinFreeDisk: -1}, nil, []open{
			{"u1", "a", ""}, {"u2", "a", ""}, {"u3", "a", LimitCapacity},
		}},
		{"memory budget", Limits{PerUser: -1, Starts: -1, MaxSandboxes: -1, MemoryBytes: 600 << 20, MinFreeDisk: -1}, nil, []open{
			{"u1", "a", ""}, {"u2", "a", ""}, {"u3", "a", LimitCapacity},
		}},
		{"disk nearly full", Limits{PerUser: -1, Starts: -1, MaxSandboxes: -1, MinFreeDisk: 2 << 30},
			func() (int64, error) { return 500 << 20, nil }, []open{{"u1", "a", LimitDisk}}},
		{"disk unknown does not block", Limits{PerUser: -1, Starts: -1, MaxSandboxes: -1, MinFreeDisk: 2 << 30},
			func() (int64, error) { return 0, errors.New("no statfs") }, []open{{"u1", "a", ""}}},
		{"no limits", noOthers, nil, []open{{"u1", "a", ""}, {"u1", "b", ""}, {"u1", "c", ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := stuckManager(t, tt.lim, tt.disk)
			for i, o := range tt.opens {
				_, _, err := m.Open(t.Context(), o.user, o.lab)
				var le *LimitError
				switch {
				case o.refused == "" && err != nil:
					t.Fatalf("open %d (%s on %s): %v, want it admitted", i, o.user, o.lab, err)
				case o.refused != "" && (!errors.As(err, &le) || le.Kind != o.refused || !errors.Is(err, ErrLimit)):
					t.Fatalf("open %d (%s on %s): %v, want a %s limit", i, o.user, o.lab, err, o.refused)
				case o.refused == LimitCapacity && le.RetryAfter <= 0:
					t.Errorf("a full server must say when to try again: %v", le)
				}
			}
		})
	}
}

func TestStartRate(t *testing.T) {
	t.Parallel()
	m := stuckManager(t, Limits{PerUser: -1, Starts: 3, StartsWindow: time.Hour, MaxSandboxes: -1, MinFreeDisk: -1}, nil)
	for i := range 3 {
		s, _, err := m.Open(t.Context(), "u1", "a")
		if err != nil {
			t.Fatalf("start %d: %v", i, err)
		}
		s.Stop(store.StateStopped, "")
	}
	_, _, err := m.Open(t.Context(), "u1", "a")
	var le *LimitError
	if !errors.As(err, &le) || le.Kind != LimitRate || le.RetryAfter <= 0 || le.RetryAfter > time.Hour {
		t.Fatalf("fourth start within the window: %v, want a rate limit with a wait", err)
	}
	if _, _, err := m.Open(t.Context(), "u2", "a"); err != nil {
		t.Errorf("another user is limited too: %v", err)
	}
}

// TestResetPassesAdmission resets sessions while limits are reached: a
// reset starts a sandbox, so it is refused exactly as opening a lab would
// be, and a refused reset leaves the session as it was. Resetting a live
// session replaces its own sandbox, so that one does not count against
// the limits.
func TestResetPassesAdmission(t *testing.T) {
	t.Parallel()
	off := Limits{PerUser: -1, Starts: -1, MaxSandboxes: -1, MinFreeDisk: -1}
	with := func(f func(*Limits)) Limits { l := off; f(&l); return l }
	var diskLow atomic.Bool
	disk := func() (int64, error) {
		if diskLow.Load() {
			return 100 << 20, nil
		}
		return 100 << 30, nil
	}
	type step struct {
		user, lab string
		op        string    // open, stop, reset, disk-low
		refused   LimitKind // "" when it must be admitted
	}
	tests := []struct {
		name  string
		lim   Limits
		steps []step
	}{
		{"per user: a stopped lab reset while another runs", with(func(l *Limits) { l.PerUser = 1 }), []step{
			{"u1", "a", "open", ""}, {"u1", "a", "stop", ""}, {"u1", "b", "open", ""},
			{"u1", "a", "reset", LimitPerUser},
		}},
		{"per user: the running lab itself may be reset", with(func(l *Limits) { l.PerUser = 1 }), []step{
			{"u1", "a", "open", ""}, {"u1", "a", "reset", ""}, {"u1", "a", "reset", ""},
		}},
		{"start rate counts resets", with(func(l *Limits) { l.Starts = 2; l.StartsWindow = time.Hour }), []step{
			{"u1", "a", "open", ""}, {"u1", "a", "reset", ""}, {"u1", "a", "reset", LimitRate},
			{"u2", "a", "open", ""}, // another user is not limited by u1's starts
		}},
		{"server full", with(func(l *Limits) { l.MaxSandboxes = 1 }), []step{
			{"u1", "a", "open", ""}, {"u1", "a", "stop", ""}, {"u2", "a", "open", ""},
			{"u1", "a", "reset", LimitCapacity},
			{"u2", "a", "reset", ""}, // replaces its own sandbox
		}},
		{"memory budget", with(func(l *Limits) { l.MemoryBytes = 300 << 20 }), []step{
			{"u1", "a", "open", ""}, {"u1", "a", "stop", ""}, {"u2", "b", "open", ""},
			{"u1", "a", "reset", LimitCapacity},
			{"u2", "b", "reset", ""},
		}},
		{"disk floor", with(func(l *Limits) { l.MinFreeDisk = 2 << 30 }), []step{
			{"u1", "a", "open", ""}, {"", "", "disk-low", ""},
			{"u1", "a", "reset", LimitDisk},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			diskLow.Store(false)
			m := stuckManager(t, tt.lim, disk)
			sessions := map[string]*Session{}
			for i, st := range tt.steps {
				key := st.user + "/" + st.lab
				var err error
				switch st.op {
				case "open":
					sessions[key], _, err = m.Open(t.Context(), st.user, st.lab)
				case "stop":
					sessions[key].Stop(store.StateStopped, "")
				case "disk-low":
					diskLow.Store(true)
				case "reset":
					s := sessions[key]
					before := s.View().State
					err = s.Reset()
					if st.refused != "" {
						if after := s.View().State; after != before {
							t.Errorf("step %d: a refused reset changed the session from %s to %s", i, before, after)
						}
					} else if s.View().State != store.StateStarting {
						t.Errorf("step %d: an admitted reset left the session %s", i, s.View().State)
					}
				}
				var le *LimitError
				switch {
				case st.refused == "" && err != nil:
					t.Fatalf("step %d (%s %s on %s): %v, want it admitted", i, st.op, st.user, st.lab, err)
				case st.refused != "" && (!errors.As(err, &le) || le.Kind != st.refused || !errors.Is(err, ErrLimit)):
					t.Fatalf("step %d (%s %s on %s): %v, want a %s limit", i, st.op, st.user, st.lab, err, st.refused)
				}
			}
		})
	}
}

// TestOneAdmissionForEveryStart reads this package's code: a sandbox
// starts only through Manager.launchLocked, which admits it first. A new
// path that starts sandboxes without it fails here.
func TestOneAdmissionForEveryStart(t *testing.T) {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", func(fi fs.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range pkgs {
		for _, f := range pkg.Files {
			for _, d := range f.Decls {
				fn, ok := d.(*ast.FuncDecl)
				if !ok || fn.Body == nil {
					continue
				}
				ast.Inspect(fn.Body, func(n ast.Node) bool {
					call, ok := n.(*ast.CallExpr)
					if !ok {
						return true
					}
					if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "start" && fn.Name.Name != "launchLocked" {
						t.Errorf("%s: %s starts a sandbox without admission; call Manager.launchLocked", fset.Position(call.Pos()), fn.Name.Name)
					}
					return true
				})
			}
		}
	}
}

func TestLifetimeWords(t *testing.T) {
	for d, want := range map[time.Duration]string{
		4 * time.Hour: "4h", 90 * time.Minute: "1h30m", 10 * time.Minute: "10m", 20 * time.Second: "20s",
		time.Hour + time.Second: "1h0m1s",
	} {
		if got := lifetime(d); got != want {
			t.Errorf("lifetime(%v) = %q, want %q", d, got, want)
		}
	}
}
