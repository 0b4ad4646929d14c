package lab_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/backlab/backlab/internal/lab"
	"github.com/backlab/backlab/internal/testenv"
	"github.com/backlab/backlab/runner/docker/images"
)

// TestScaffoldIsAValidLab scaffolds a lab, loads it with no problems and
// compiles its checker. The checker imports the checker SDK, which only
// resolves inside this module, so the lab is made in a temporary folder
// under testdata (which go build ./... and go vet ./... skip) and removed
// afterwards.
func TestScaffoldIsAValidLab(t *testing.T) {
	tmp := testenv.ScaffoldDir(t)
	dir := filepath.Join(tmp, "demo")
	if err := lab.Scaffold(dir, "demo"); err != nil {
		t.Fatal(err)
	}
	l, err := lab.Load(dir)
	if err != nil {
		t.Fatalf("the scaffolded lab does not load:\n%v", err)
	}
	if l.ID != "demo" || len(l.FailingAtStart) == 0 || len(l.Variants) == 0 || len(l.Tasks[0].Hints) != 3 {
		t.Errorf("the scaffolded lab lacks a part: id %q, failing_at_start %v, %d variants, %d hints",
			l.ID, l.FailingAtStart, len(l.Variants), len(l.Tasks[0].Hints))
	}
	data, err := os.ReadFile(filepath.Join(dir, lab.FileName))
	if err != nil {
		t.Fatal(err)
	}
	// From internal/lab/testdata/tmp-*/demo the module's schema is
	// five folders up.
	if want := "# yaml-language-server: $schema=../../../../../labs/lab.schema.json\n"; !strings.HasPrefix(string(data), want) {
		t.Errorf("lab.yaml starts %q; want %q", strings.SplitN(string(data), "\n", 2)[0], want)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin, err := images.CompileChecker(ctx, l.Path(l.Checker.Build))
	if err != nil {
		t.Fatalf("the scaffolded checker does not build: %v", err)
	}
	if len(bin) < 1<<20 {
		t.Errorf("the checker binary is only %d bytes", len(bin))
	}
}
