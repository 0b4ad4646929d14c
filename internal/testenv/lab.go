package testenv

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/backlab/backlab/internal/lab"
)

// ScaffoldDir makes a temporary folder for labs under the calling test's
// package folder (testdata/tmp-…), removed when t ends. Labs must live
// inside the module: their checkers import the checker SDK.
func ScaffoldDir(t testing.TB) string {
	t.Helper()
	if err := os.MkdirAll("testdata", 0o755); err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp("testdata", "tmp-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		os.RemoveAll(tmp)
		os.Remove("testdata") // only when empty
	})
	return tmp
}

// ScaffoldLab writes the `backlab lab new` template as lab id into a
// [ScaffoldDir] and loads it.
func ScaffoldLab(t testing.TB, id string) *lab.Lab {
	t.Helper()
	dir := filepath.Join(ScaffoldDir(t), id)
	if err := lab.Scaffold(dir, id); err != nil {
		t.Fatal(err)
	}
	l, err := lab.Load(dir)
	if err != nil {
		t.Fatalf("the scaffolded lab does not load:\n%v", err)
	}
	return l
}
