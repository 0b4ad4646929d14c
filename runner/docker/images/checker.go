package images

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/backlab/backlab/internal/lab"
	"github.com/backlab/backlab/runner"
)

// checkerDockerfile packs a static checker binary; it runs as nobody.
const checkerDockerfile = `FROM ` + BaseRef + `
COPY checker /usr/local/bin/backlab-checker
USER 65534:65534
ENTRYPOINT ["/usr/local/bin/backlab-checker"]
`

// checker compiles the lab's checker and packs it into an image.
func (b *Builder) checker(ctx context.Context, l *lab.Lab, baseID string, build bool) (string, error) {
	bin, err := CompileChecker(ctx, l.Path(l.Checker.Build))
	if err != nil {
		return "", err
	}
	files := map[string][]byte{"Dockerfile": []byte(checkerDockerfile), "checker": bin}
	hash := hashFiles(files, baseID)
	ref := "backlab/" + l.ID + "-checker:" + hash[:12]
	if _, ok := b.current(ctx, ref, hash); ok {
		return ref, nil
	}
	if !build {
		return "", fmt.Errorf("%w: %s (run 'backlab images build')", runner.ErrImageMissing, ref)
	}
	ctxTar, err := tarFiles(files)
	if err != nil {
		return "", err
	}
	if err := b.build(ctx, ref, ctxTar, map[string]string{labelHash: hash, labelLab: l.ID}); err != nil {
		return "", err
	}
	return ref, nil
}

// CompileChecker builds the Go main package in dir into a static Linux
// binary with the host's Go toolchain and returns its bytes.
func CompileChecker(ctx context.Context, dir string) ([]byte, error) {
	return compileGo(ctx, dir, ".")
}

// compileGo builds the Go main package pkg, resolved from dir, into a
// static Linux binary with the host's Go toolchain and returns its bytes.
// The build is reproducible (-trimpath, no build id), so an unchanged
// package gives the same bytes and the same image hash.
func compileGo(ctx context.Context, dir, pkg string) ([]byte, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	out, err := os.CreateTemp("", "backlab-checker-")
	if err != nil {
		return nil, err
	}
	out.Close()
	defer os.Remove(out.Name())
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w -buildid=", "-o", out.Name(), pkg)
	cmd.Dir = abs
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOFLAGS=-buildvcs=false")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if strings.Contains(msg, "go.mod file not found") || strings.Contains(msg, "not in std") {
			msg += "\nA checker is built with the backlab module (it imports the checker SDK): keep the lab inside the backlab repository, e.g. in labs/."
		}
		return nil, fmt.Errorf("build %s in %s: %w\n%s", pkg, dir, err, msg)
	}
	return os.ReadFile(out.Name())
}
