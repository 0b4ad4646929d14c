package testenv

import (
	"errors"
	"io/fs"
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
	// Parallel tests share testdata: another one's cleanup may remove it
	// between the two calls, so try again then.
	var tmp string
	for try := 0; ; try++ {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		if tmp, err = os.MkdirTemp("testdata", "tmp-"); err == nil {
			break
		} else if !errors.Is(err, fs.ErrNotExist) || try == 10 {
			t.Fatal(err)
		}
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
