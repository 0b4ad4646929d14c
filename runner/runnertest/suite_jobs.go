package runnertest

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/backlab/backlab/runner"
)

func (s *suite) testJobs(t *testing.T, sb runner.Sandbox) {
	tests := []struct {
		name     string
		spec     runner.JobSpec
		wantCode int
		want     []string // in the output
		notWant  []string
	}{
		{
			name: "output, files and exit code",
			spec: runner.JobSpec{
				Name:    "check",
				Image:   s.cfg.Image,
				Command: []string{"bash", "-c", "echo to-stdout; echo to-stderr >&2; cat /job/input.txt; labtool dial db:5432 >/dev/null && exit 4"},
				Env:     map[string]string{"X": "y"},
				Files:   tarOf(t, "job/", "", "job/input.txt", "from-files\n"),
			},
			wantCode: 4,
			want:     []string{"to-stdout\n", "to-stderr\n", "from-files\n"},
		},
		{
			name: "read-only mount",
			spec: runner.JobSpec{
				Name:    "reader",
				Image:   s.cfg.Image,
				Command: []string{"bash", "-c", "cat /data/seed.txt; touch /data/by-job 2>/dev/null && echo wrote; id -u"},
				Mounts:  []runner.Mount{{Volume: "data", Path: "/data", ReadOnly: true}},
			},
			wantCode: 0,
			want:     []string{"seeded-by-image\n", "1000\n"},
			notWant:  []string{"wrote"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			job, err := sb.RunJob(ctx, tt.spec)
			if err != nil {
				t.Fatalf("RunJob: %v", err)
			}
			t.Cleanup(func() {
				if err := job.Close(context.Background()); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			out, err := io.ReadAll(job.Output())
			if err != nil {
				t.Fatalf("read output: %v", err)
			}
			code, err := job.Wait(ctx)
			if err != nil {
				t.Fatalf("Wait: %v", err)
			}
			if code != tt.wantCode {
				t.Errorf("Wait = %d, want %d (output %q)", code, tt.wantCode, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output %q lacks %q", out, w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(string(out), w) {
					t.Errorf("output %q has %q", out, w)
				}
			}
		})
	}
	t.Run("writable mount refused", func(t *testing.T) {
		job, err := sb.RunJob(t.Context(), runner.JobSpec{
			Name: "writer", Image: s.cfg.Image, Command: []string{"true"},
			Mounts: []runner.Mount{{Volume: "data", Path: "/data"}},
		})
		if err == nil {
			job.Close(context.Background())
			t.Fatal("RunJob with a writable mount succeeded, want an error")
		}
	})
	t.Run("close kills a running job", func(t *testing.T) {
		job, err := sb.RunJob(t.Context(), runner.JobSpec{Name: "sleeper", Image: s.cfg.Image, Command: []string{"sleep", "infinity"}})
		if err != nil {
			t.Fatalf("RunJob: %v", err)
		}
		if err := job.Close(t.Context()); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if _, err := io.ReadAll(job.Output()); err != nil {
			t.Errorf("output after Close: %v", err)
		}
		// The name is free again once the job is gone.
		again, err := sb.RunJob(t.Context(), runner.JobSpec{Name: "sleeper", Image: s.cfg.Image, Command: []string{"true"}})
		if err != nil {
			t.Fatalf("RunJob after Close: %v", err)
		}
		again.Close(context.Background())
	})
}
