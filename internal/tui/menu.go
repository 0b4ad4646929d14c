package tui

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/backlab/backlab/internal/lab"
	"github.com/backlab/backlab/internal/labrun"
	"github.com/backlab/backlab/runner"
)

// menu shows the lab menu until the learner goes back to the shell (false)
// or quits (true).
func (lr *learner) menu(ctx context.Context) (bool, error) {
	for {
		fmt.Fprint(lr.out, "\n[c]heck  [h]int  [t]asks  [s]hell  [q]uit > ")
		line, ok := lr.in.line(ctx)
		if !ok {
			return true, nil
		}
		switch strings.TrimSpace(strings.ToLower(line)) {
		case "c", "check":
			fmt.Fprintln(lr.out)
			res, err := lr.s.Check(ctx, labrun.NewPrinter(lr.out).Event)
			if err != nil {
				return false, err
			}
			lr.last = &res
			if res.Outcome == runner.OutcomePassed {
				fmt.Fprintln(lr.out, "\n   All steps passed. Well done!")
			}
		case "h", "hint":
			lr.hint()
		case "t", "tasks":
			lr.tasks()
		case "s", "shell", "":
			return false, nil
		case "q", "quit", "exit":
			return true, nil
		default:
			fmt.Fprintf(lr.out, "unknown choice %q\n", line)
		}
	}
}

// current returns the first task whose steps have not all passed.
func (lr *learner) current() *lab.Task {
	for i := range lr.l.Tasks {
		if !lr.taskDone(&lr.l.Tasks[i]) {
			return &lr.l.Tasks[i]
		}
	}
	return nil
}

func (lr *learner) taskDone(t *lab.Task) bool {
	if lr.last == nil || len(t.Steps) == 0 {
		return false
	}
	for _, id := range t.Steps {
		for _, st := range lr.last.Steps {
			if st.ID == id && st.Status != labrun.StepPassed {
				return false
			}
		}
	}
	return true
}

func (lr *learner) tasks() {
	for i, t := range lr.l.Tasks {
		mark := " "
		if lr.taskDone(&lr.l.Tasks[i]) {
			mark = "✓"
		}
		fmt.Fprintf(lr.out, "\n %s %d. %s\n", mark, i+1, t.Title)
		if b, err := os.ReadFile(lr.l.Path(t.Instructions)); err == nil {
			fmt.Fprintf(lr.out, "%s\n", indentText(strings.TrimSpace(string(b)), "    "))
		}
	}
}

func (lr *learner) hint() {
	t := lr.current()
	if t == nil {
		fmt.Fprintln(lr.out, "Every task is done: no hints needed.")
		return
	}
	n := lr.hints[t.ID]
	if n >= len(t.Hints) {
		fmt.Fprintf(lr.out, "No more hints for %q (%d shown).\n", t.Title, n)
		return
	}
	lr.hints[t.ID] = n + 1
	fmt.Fprintf(lr.out, "Hint %d of %d for %q:\n%s\n", n+1, len(t.Hints), t.Title, indentText(t.Hints[n], "  "))
}

func indentText(s, pad string) string {
	return pad + strings.ReplaceAll(s, "\n", "\n"+pad)
}
