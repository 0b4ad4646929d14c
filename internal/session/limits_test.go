package session

import (
	"context"
	"errors"
	"io"
	"path/filepath"
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
