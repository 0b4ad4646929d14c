package runnertest

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/backlab/backlab/runner"
)

func (s *suite) testRestart(t *testing.T, sb runner.Sandbox) {
	ctx := t.Context()
	before := run(t, sb, "work", "labtool", "get", "http://api:8080/")
	if err := sb.Restart(ctx, "api"); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	after := run(t, sb, "work", "labtool", "get", "http://api:8080/")
	instance := func(s string) string { f, _, _ := strings.Cut(s, " "); return f }
	if instance(before) == instance(after) {
		t.Errorf("api answers as %q before and after Restart; want a new process", instance(after))
	}
	if err := sb.Restart(ctx, "nope"); !errors.Is(err, runner.ErrNoService) {
		t.Errorf("Restart unknown service: err = %v, want %v", err, runner.ErrNoService)
	}
}

func (s *suite) listed(t *testing.T, session string) bool {
	t.Helper()
	infos, err := s.d.List(t.Context())
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	for _, info := range infos {
		if info.SessionID == session {
			return true
		}
	}
	return false
}

func (s *suite) testStartFailures(t *testing.T) {
	img := s.cfg.Image
	ok := runner.ServiceSpec{Name: "ok", Image: img, Command: []string{"sleep", "infinity"}}
	tests := []struct {
		name     string
		services []runner.ServiceSpec
		want     []string // in the error
	}{
		{
			name: "exits before ready",
			services: []runner.ServiceSpec{ok, {
				Name: "crash", Image: img, Command: []string{"bash", "-c", "echo boom-before-ready; exit 3"},
				Readiness: s.probe(runner.ProbeTCP, 1234, ""),
			}},
			want: []string{"crash", "3", "boom-before-ready"},
		},
		{
			name: "probe times out",
			services: []runner.ServiceSpec{{
				Name: "slow", Image: img, Command: []string{"bash", "-c", "echo waiting-forever; exec sleep infinity"},
				Readiness: &runner.Probe{Kind: runner.ProbeTCP, Port: 1234, Timeout: time.Second},
			}},
			want: []string{"slow", "waiting-forever"},
		},
		{
			name: "exec probe fails until timeout",
			services: []runner.ServiceSpec{{
				Name: "never", Image: img, Command: []string{"sleep", "infinity"},
				Readiness: &runner.Probe{Kind: runner.ProbeExec, Command: []string{"false"}, Timeout: time.Second},
			}},
			want: []string{"never"},
		},
		{
			name:     "explicit root user",
			services: []runner.ServiceSpec{{Name: "root", Image: img, User: "root", Command: []string{"sleep", "infinity"}}},
			want:     []string{"root"},
		},
		{
			name:     "uid 0",
			services: []runner.ServiceSpec{{Name: "uid0", Image: img, User: "0:0", Command: []string{"sleep", "infinity"}}},
			want:     []string{"root"},
		},
		{
			name:     "invalid spec",
			services: []runner.ServiceSpec{{Name: "Bad_Name", Image: img}},
			want:     []string{"Bad_Name"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := runner.SandboxSpec{SessionID: s.session(), LabID: "runnertest", Instance: s.cfg.Instance, Services: tt.services}
			sb, err := s.d.Start(t.Context(), spec, nil)
			s.cleanup(t, sb)
			if err == nil {
				t.Fatal("Start succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Start error %q does not mention %q", err, w)
				}
			}
			if s.listed(t, spec.SessionID) {
				t.Errorf("resources of the failed sandbox %s are left on the engine", spec.SessionID)
			}
		})
	}
	t.Run("sandbox stays usable with AllowRoot", func(t *testing.T) {
		spec := runner.SandboxSpec{SessionID: s.session(), LabID: "runnertest", Instance: s.cfg.Instance,
			Services: []runner.ServiceSpec{{Name: "admin", Image: img, User: "0", AllowRoot: true, Command: []string{"sleep", "infinity"}}}}
		sb, err := s.d.Start(t.Context(), spec, nil)
		s.cleanup(t, sb)
		if err != nil {
			t.Fatalf("Start with AllowRoot: %v", err)
		}
		if got, want := run(t, sb, "admin", "id", "-u"), "0\n"; got != want {
			t.Errorf("id -u = %q, want %q", got, want)
		}
		// Root without capabilities cannot take another user's files.
		res, err := sb.Exec(t.Context(), "admin", runner.ExecOptions{Cmd: []string{"chown", "1000", "/etc/hostname"}})
		if err != nil {
			t.Fatalf("Exec: %v", err)
		}
		if res.ExitCode == 0 {
			t.Errorf("chown as capability-less root succeeded; want all capabilities dropped")
		}
	})
}

func (s *suite) testReap(t *testing.T, live runner.Sandbox) {
	ctx := t.Context()
	orphan := s.cfg.Instance + "-orphan"
	spec := runner.SandboxSpec{
		SessionID: s.session(), LabID: "runnertest", Instance: orphan,
		Volumes: []string{"v"},
		Services: []runner.ServiceSpec{{
			Name: "left", Image: s.cfg.Image, Command: []string{"sleep", "infinity"},
			Mounts: []runner.Mount{{Volume: "v", Path: "/data"}},
		}},
	}
	sb, err := s.d.Start(ctx, spec, nil)
	s.cleanup(t, sb)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if !s.listed(t, spec.SessionID) {
		t.Fatalf("List lacks running sandbox %s", spec.SessionID)
	}
	reaped, err := s.d.Reap(ctx, func(info runner.SandboxInfo) bool { return info.Instance != orphan })
	if err != nil {
		t.Fatalf("Reap: %v", err)
	}
	want := []runner.SandboxInfo{{SessionID: spec.SessionID, LabID: "runnertest", Instance: orphan}}
	if !slices.Equal(reaped, want) {
		t.Errorf("Reap = %+v, want %+v", reaped, want)
	}
	if s.listed(t, spec.SessionID) {
		t.Errorf("List still has reaped sandbox %s", spec.SessionID)
	}
	if !s.listed(t, live.ID()) {
		t.Errorf("Reap removed kept sandbox %s", live.ID())
	}
	run(t, live, "work", "true")
}

func (s *suite) testStop(t *testing.T, sb runner.Sandbox) {
	ctx := t.Context()
	if err := sb.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if s.listed(t, sb.ID()) {
		t.Errorf("List has sandbox %s after Stop", sb.ID())
	}
	if err := sb.Stop(ctx); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if _, err := sb.Exec(ctx, "work", runner.ExecOptions{Cmd: []string{"true"}}); !errors.Is(err, runner.ErrStopped) {
		t.Errorf("Exec after Stop: err = %v, want %v", err, runner.ErrStopped)
	}
	if _, err := sb.RunJob(ctx, runner.JobSpec{Name: "late", Image: s.cfg.Image}); !errors.Is(err, runner.ErrStopped) {
		t.Errorf("RunJob after Stop: err = %v, want %v", err, runner.ErrStopped)
	}
}
