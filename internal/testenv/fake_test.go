package testenv_test

import (
	"context"
	"testing"

	"github.com/backlab/backlab/internal/lab"
	"github.com/backlab/backlab/internal/testenv"
	"github.com/backlab/backlab/runner"
)

// TestFakeLabs starts the scaffolded lab on the fake driver: its images
// hold what their Dockerfile copies, as their user, and the app serves.
func TestFakeLabs(t *testing.T) {
	t.Parallel()
	l := testenv.ScaffoldLab(t, "fake-test")
	f := testenv.NewFakeLabs(t, l)
	set, err := f.Images(t.Context(), l, nil)
	if err != nil {
		t.Fatal(err)
	}
	spec := l.SandboxSpec("s-fake", "fake", func(svc lab.Service) string { return set.Services[svc.Name] })
	sb, err := f.Driver.Start(t.Context(), spec, nil)
	if sb != nil {
		t.Cleanup(func() { sb.Stop(context.Background()) })
	}
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	tests := []struct {
		service, cmd, want string
	}{
		{"workspace", "pwd; id -un", "/home/learner/app\nlearner\n"},
		{"workspace", "grep MAX_LIMIT= app.conf", "MAX_LIMIT=1000\n"},
		{"app", "ls cgi-bin", "health\nitems\n"},
		{"workspace", "wget -q -O - http://app:8080/cgi-bin/health", "ok\n"},
	}
	for _, tt := range tests {
		res, err := sb.Exec(t.Context(), tt.service, runner.ExecOptions{Cmd: []string{"sh", "-c", tt.cmd}})
		if err != nil || res.ExitCode != 0 || string(res.Stdout) != tt.want {
			t.Errorf("%s in %s = exit %d, %q, %q (err %v); want %q", tt.cmd, tt.service, res.ExitCode, res.Stdout, res.Stderr, err, tt.want)
		}
	}
}
