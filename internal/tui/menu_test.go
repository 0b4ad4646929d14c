package tui

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/backlab/backlab/internal/lab"
	"github.com/backlab/backlab/internal/labrun"
)

// testLearner returns a learner of a two-task lab that reads typed from
// its input, with nothing checked yet.
func testLearner(t *testing.T, typed string) (*learner, *bytes.Buffer) {
	t.Helper()
	dir := t.TempDir()
	for name, text := range map[string]string{"index.md": "Add an index on orders.\nThen check.", "fast.md": "Make the query fast."} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	l := &lab.Lab{Tasks: []lab.Task{
		{ID: "index", Title: "Add an index", Instructions: filepath.Join(dir, "index.md"), Hints: []string{"Look at EXPLAIN.", "CREATE INDEX ..."}, Steps: []string{"uses-index"}},
		{ID: "fast", Title: "Make it fast", Instructions: filepath.Join(dir, "fast.md"), Hints: []string{"Measure first."}, Steps: []string{"fast"}},
	}}
	reads := chunks{typed}
	var out bytes.Buffer
	return &learner{l: l, in: newInput(&reads), out: &out, hints: map[string]int{}}, &out
}

// checked returns a check result with the given step statuses.
func checked(steps map[string]labrun.StepStatus) *labrun.Result {
	res := &labrun.Result{}
	for id, st := range steps {
		res.Steps = append(res.Steps, labrun.StepResult{ID: id, Status: st})
	}
	return res
}

// TestHints: hints come one at a time for the first task not done, and
// move on to the next task once a check passed the first one's steps.
func TestHints(t *testing.T) {
	lr, out := testLearner(t, "")
	step := func(last *labrun.Result, want string) {
		t.Helper()
		lr.last = last
		out.Reset()
		lr.hint()
		if !strings.Contains(out.String(), want) {
			t.Fatalf("hint shows %q, want %q", out.String(), want)
		}
	}
	step(nil, "Hint 1 of 2 for \"Add an index\":\n  Look at EXPLAIN.\n")
	step(nil, "Hint 2 of 2 for \"Add an index\":\n  CREATE INDEX ...\n")
	step(nil, "No more hints for \"Add an index\" (2 shown).")
	failed := checked(map[string]labrun.StepStatus{"uses-index": labrun.StepFailed, "fast": labrun.StepFailed})
	step(failed, "No more hints for \"Add an index\"")
	half := checked(map[string]labrun.StepStatus{"uses-index": labrun.StepPassed, "fast": labrun.StepFailed})
	step(half, "Hint 1 of 1 for \"Make it fast\":\n  Measure first.\n")
	all := checked(map[string]labrun.StepStatus{"uses-index": labrun.StepPassed, "fast": labrun.StepPassed})
	step(all, "Every task is done: no hints needed.")
}

func TestTasks(t *testing.T) {
	tests := []struct {
		name string
		last *labrun.Result
		want []string
	}{
		{"nothing checked", nil, []string{"\n   1. Add an index\n    Add an index on orders.\n    Then check.\n", "\n   2. Make it fast\n    Make the query fast.\n"}},
		{"first task passed", checked(map[string]labrun.StepStatus{"uses-index": labrun.StepPassed, "fast": labrun.StepFailed}),
			[]string{"\n ✓ 1. Add an index\n", "\n   2. Make it fast\n"}},
		{"a running step is not done", checked(map[string]labrun.StepStatus{"uses-index": labrun.StepRunning, "fast": labrun.StepPassed}),
			[]string{"\n   1. Add an index\n", "\n ✓ 2. Make it fast\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lr, out := testLearner(t, "")
			lr.last = tt.last
			lr.tasks()
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("tasks shows:\n%s\nwant it to contain %q", out.String(), w)
				}
			}
		})
	}
}

// TestMenu drives the lab menu with typed lines (no check: that needs a
// sandbox).
func TestMenu(t *testing.T) {
	tests := []struct {
		name     string
		typed    string
		wantQuit bool
		want     []string
	}{
		{"quit", "q\n", true, []string{"[c]heck  [h]int  [t]asks  [s]hell  [q]uit > "}},
		{"back to the shell", "s\n", false, nil},
		{"enter alone goes back to the shell", "\n", false, nil},
		{"words and case", "HINT\nTasks\nexit\n", true, []string{"Hint 1 of 2", "1. Add an index"}},
		{"unknown choice", "x\nquit\n", true, []string{`unknown choice "x"`}},
		{"input ends", "h\n", true, []string{"Hint 1 of 2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lr, out := testLearner(t, tt.typed)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			quit, err := lr.menu(ctx)
			if err != nil || quit != tt.wantQuit {
				t.Fatalf("menu = %v, %v; want %v, nil", quit, err, tt.wantQuit)
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("the menu shows:\n%s\nwant it to contain %q", out.String(), w)
				}
			}
		})
	}
}
