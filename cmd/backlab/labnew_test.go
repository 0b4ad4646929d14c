package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/backlab/backlab/internal/testenv"
)

// TestLabNewThenTest is what an author does first: `backlab lab new`, then
// `backlab lab validate` and `backlab lab test` on the new lab, in real
// sandboxes. The scaffolded lab must hold both ways (its starter fails
// exactly the declared step, its solution passes, its variant fails as
// declared) without any edit.
//
// The lab is made in a temporary folder under testdata, inside this module,
// because its checker imports the checker SDK; it is removed afterwards.
func TestLabNewThenTest(t *testing.T) {
	testenv.NeedDocker(t)
	tmp := testenv.ScaffoldDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	backlab := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(ctx, args, &out, &out)
		return out.String(), err
	}

	const id = "e2e-scaffold"
	dir := filepath.Join(tmp, id)
	if out, err := backlab("lab", "new", id, "--dir", tmp); err != nil {
		t.Fatalf("lab new: %v\n%s", err, out)
	}
	if out, err := backlab("lab", "new", id, "--dir", tmp); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("a second lab new over the same folder: err %v, want 'already exists'\n%s", err, out)
	}
	if out, err := backlab("lab", "validate", dir); err != nil {
		t.Fatalf("lab validate: %v\n%s", err, out)
	}
	out, err := backlab("lab", "test", dir)
	if err != nil {
		t.Fatalf("lab test on a freshly scaffolded lab: %v\n%s", err, out)
	}
	for _, want := range []string{
		"ok   " + id + ": starter",
		"ok   " + id + ": solution",
		"ok   " + id + ": variant variants/too-strict",
		"ok: failed exactly caps-limit",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("lab test output lacks %q:\n%s", want, out)
		}
	}
}
