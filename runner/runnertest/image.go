package runnertest

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// BaseImage is the local image the test image is built from.
const BaseImage = "backlab/base:bookworm"

// ImageRepo is the repository of the test image's tag.
const ImageRepo = "backlab-test/runnertest"

// Dockerfile builds the image [Config.Image] describes from [BaseImage] and
// the labtool binary next to it in the build context.
const Dockerfile = `FROM ` + BaseImage + `
RUN useradd --create-home --uid 1000 --shell /bin/bash learner \
 && mkdir /data && echo seeded-by-image > /data/seed.txt && chown -R learner:learner /data
COPY labtool /usr/local/bin/labtool
USER learner
WORKDIR /home/learner
`

// LabtoolPackage is the import path of the helper program.
const LabtoolPackage = "github.com/backlab/backlab/runner/runnertest/labtool"

// ImageContext compiles labtool (static, for the machine's architecture)
// and returns a Docker build context holding it and [Dockerfile], with a
// tag derived from their content, so that an engine that already has the
// tag need not build again.
func ImageContext(t testing.TB) (tag string, buildContext []byte) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "labtool")
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		goTool = "go"
	}
	cmd := exec.Command(goTool, "build", "-trimpath", "-ldflags=-s -w -buildid=", "-o", bin, LabtoolPackage)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build labtool: %v\n%s", err, out)
	}
	binData, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	h.Write([]byte(Dockerfile))
	h.Write(binData)
	tag = ImageRepo + ":" + hex.EncodeToString(h.Sum(nil))[:16]

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mod := time.Unix(0, 0)
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{
		{"Dockerfile", 0o644, []byte(Dockerfile)},
		{"labtool", 0o755, binData},
	} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: mod}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return tag, buf.Bytes()
}
