package runnertest

import (
	"archive/tar"
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/backlab/backlab/runner"
)

// tarOf makes a tar stream of files (name → content), owned by uid 1000;
// names ending in "/" are directories.
func tarOf(t *testing.T, files ...string) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i := 0; i+1 < len(files); i += 2 {
		name, data := files[i], files[i+1]
		h := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Uid: 1000, Gid: 1000, ModTime: time.Now()}
		if strings.HasSuffix(name, "/") {
			h.Typeflag, h.Mode, h.Size = tar.TypeDir, 0o755, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

func (s *suite) testCopyTo(t *testing.T, sb runner.Sandbox) {
	ctx := t.Context()
	err := sb.CopyTo(ctx, "work", "/tmp", tarOf(t, "copied/", "", "copied/hello.txt", "hello from the host\n"))
	if err != nil {
		t.Fatalf("CopyTo: %v", err)
	}
	if got, want := run(t, sb, "work", "cat", "/tmp/copied/hello.txt"), "hello from the host\n"; got != want {
		t.Errorf("copied file = %q, want %q", got, want)
	}
	if got, want := run(t, sb, "work", "stat", "-c", "%u", "/tmp/copied/hello.txt"), "1000\n"; got != want {
		t.Errorf("copied file owner = %q, want %q (as in the tar header)", got, want)
	}
	if err := sb.CopyTo(ctx, "nope", "/tmp", tarOf(t, "x", "y")); !errors.Is(err, runner.ErrNoService) {
		t.Errorf("CopyTo unknown service: err = %v, want %v", err, runner.ErrNoService)
	}
}

func (s *suite) testVolume(t *testing.T, sb runner.Sandbox) {
	if got, want := run(t, sb, "work", "cat", "/data/seed.txt"), "seeded-by-image\n"; got != want {
		t.Errorf("seeded file in work = %q, want %q (the volume is filled from the image)", got, want)
	}
	run(t, sb, "work", "bash", "-c", "echo from-work > /data/shared.txt")
	for _, svc := range []string{"db", "api"} {
		if got, want := run(t, sb, svc, "cat", "/data/shared.txt"), "from-work\n"; got != want {
			t.Errorf("file written by work, read in %s = %q, want %q", svc, got, want)
		}
	}
	res, err := sb.Exec(t.Context(), "api", runner.ExecOptions{Cmd: []string{"touch", "/data/from-api"}})
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}
	if res.ExitCode == 0 {
		t.Errorf("api wrote to its read-only mount")
	}
}
