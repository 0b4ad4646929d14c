package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/backlab/backlab/internal/lab/filetree"
)

// TestLabVariantCheckoutSave is how an author edits a variant: check it
// out as files, change them, save the patch; a second checkout gives back
// exactly the edited files.
func TestLabVariantCheckoutSave(t *testing.T) {
	tmp := t.TempDir()
	backlab := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(context.Background(), args, &out, &out)
		return out.String(), err
	}
	if out, err := backlab("lab", "new", "demo", "--dir", tmp); err != nil {
		t.Fatalf("lab new: %v\n%s", err, out)
	}
	labDir, edited := filepath.Join(tmp, "demo"), filepath.Join(tmp, "edit")
	if out, err := backlab("lab", "variant", "checkout", labDir, "too-strict", edited); err != nil {
		t.Fatalf("checkout: %v\n%s", err, out)
	}
	conf, err := os.ReadFile(filepath.Join(edited, "app.conf"))
	if err != nil || !strings.Contains(string(conf), "\nMAX_LIMIT=10\n") {
		t.Fatalf("the checked-out variant's app.conf (err %v):\n%s", err, conf)
	}
	if err := os.WriteFile(filepath.Join(edited, "app.conf"), bytes.Replace(conf, []byte("MAX_LIMIT=10\n"), []byte("MAX_LIMIT=5\n"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(edited, "cgi-bin", "health")); err != nil {
		t.Fatal(err)
	}
	if out, err := backlab("lab", "variant", "save", labDir, "too-strict", edited, "--base", "starter"); err == nil || !strings.Contains(err.Error(), "base: solution") {
		t.Errorf("save with a base other than lab.yaml's: err %v; want a refusal naming base: solution\n%s", err, out)
	}
	if out, err := backlab("lab", "variant", "save", labDir, "too-strict", edited); err != nil {
		t.Fatalf("save: %v\n%s", err, out)
	}
	patch, err := os.ReadFile(filepath.Join(labDir, "variants", "too-strict", "patch.diff"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"-MAX_LIMIT=100\n+MAX_LIMIT=5\n", "diff --git a/cgi-bin/health b/cgi-bin/health\ndeleted file mode 100755\n"} {
		if !strings.Contains(string(patch), want) {
			t.Errorf("the patch lacks %q:\n%s", want, patch)
		}
	}
	again := filepath.Join(tmp, "again")
	if out, err := backlab("lab", "variant", "checkout", labDir, "too-strict", again); err != nil {
		t.Fatalf("second checkout: %v\n%s", err, out)
	}
	a, errA := filetree.Read(edited)
	b, errB := filetree.Read(again)
	if errA != nil || errB != nil || !a.Equal(b) {
		t.Errorf("the second checkout differs from the saved folder (%v, %v): %v vs %v", errA, errB, a.Paths(), b.Paths())
	}

	out, err := backlab("lab", "variant", "save", labDir, "no-cap", again, "--base", "starter")
	if err != nil {
		t.Fatalf("save a new variant: %v\n%s", err, out)
	}
	if !strings.Contains(out, "  - dir: variants/no-cap\n    base: starter\n") {
		t.Errorf("save of an undeclared variant does not say how to declare it:\n%s", out)
	}
}
