package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/backlab/backlab/internal/lab"
	"github.com/backlab/backlab/internal/labrun"
	"github.com/backlab/backlab/internal/testenv"
	"github.com/backlab/backlab/runner"
)

// TestTestPhasesParallel runs the scaffold's phases on the fake driver one
// at a time and several at once: the reports come back in the phases'
// order with the same verdicts, and with several at once each phase's
// output stays in one piece.
func TestTestPhasesParallel(t *testing.T) {
	t.Parallel()
	l := testenv.ScaffoldLab(t, "phases-test")
	fake := testenv.NewFakeLabs(t, l)
	r := &labrun.Runner{
		Driver:   fake.Driver,
		Instance: "labtest-test",
		Images: func(ctx context.Context, l *lab.Lab) (runner.ImageSet, error) {
			return fake.Images(ctx, l, io.Discard)
		},
	}
	var jobs []phaseJob
	for _, ph := range labrun.Phases(l) {
		jobs = append(jobs, phaseJob{lab: l, phase: ph})
	}
	if len(jobs) < 3 {
		t.Fatalf("the scaffold has %d phases; want a starter, a solution and a variant", len(jobs))
	}
	// The fake checker gives the starter's verdict every time: a phase
	// holds when it expects exactly the steps failing at start to fail.
	var want []bool
	for _, j := range jobs {
		e := j.phase.Expect
		want = append(want, !e.Pass && (len(e.Failing) == 0 || slices.Equal(sorted(e.Failing), sorted(l.FailingAtStart))))
	}
	if !want[0] || want[1] {
		t.Fatalf("want the starter to hold and the solution not to, got %v", want)
	}
	for _, parallel := range []int{1, 3} {
		var out bytes.Buffer
		reports, err := testPhases(t.Context(), r, jobs, parallel, &out)
		if err != nil {
			t.Fatalf("parallel %d: %v", parallel, err)
		}
		if len(reports) != len(jobs) {
			t.Fatalf("parallel %d: %d reports for %d phases", parallel, len(reports), len(jobs))
		}
		for i, rep := range reports {
			if rep.Phase.Name != jobs[i].phase.Name {
				t.Errorf("parallel %d: report %d is of phase %q, want %q", parallel, i, rep.Phase.Name, jobs[i].phase.Name)
			}
			if rep.Held() != want[i] {
				t.Errorf("parallel %d: phase %q held = %v (problem %q), want %v", parallel, rep.Phase.Name, rep.Held(), rep.Problem, want[i])
			}
		}
		// Each phase's block: its header, then its verdict before the next
		// header.
		blocks := strings.Split(out.String(), "── ")[1:]
		if len(blocks) != len(jobs) {
			t.Fatalf("parallel %d: %d phase headers in the output, want %d:\n%s", parallel, len(blocks), len(jobs), out.String())
		}
		for _, b := range blocks {
			if n := strings.Count(b, "   ok: ") + strings.Count(b, "   NOT OK: "); n != 1 {
				t.Errorf("parallel %d: a phase's output holds %d verdicts, want 1 (phases interleaved):\n%s", parallel, n, b)
			}
		}
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestLabTestFlags: flags that cannot go together, or a --parallel out of
// range, are refused with what to give, before any lab is loaded.
func TestLabTestFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--parallel", "0", "labs/"}, "from 1 to 16"},
		{[]string{"--parallel", "17", "labs/"}, "from 1 to 16"},
		{[]string{"--expect", "pass", "labs/"}, "go with --solution"},
		{[]string{"--solution", "x", "labs/"}, "--expect pass or --expect fail"},
		{[]string{"--solution", "x", "--expect", "pass", "--failing", "a", "labs/"}, "--failing goes with --expect fail"},
	}
	for _, tt := range tests {
		err := cmdLabTest(t.Context(), tt.args, io.Discard, io.Discard, slog.New(slog.DiscardHandler))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("lab test %v: %v, want an error saying %q", tt.args, err, tt.want)
		}
	}
}
