package labrun

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/backlab/backlab/internal/ids"
	"github.com/backlab/backlab/internal/lab"
	"github.com/backlab/backlab/runner"
)

// Expectation is the verdict a solution must get.
type Expectation struct {
	// Pass: every step passes. Otherwise the run must fail (never error),
	// with exactly Failing failed when Failing is set, or at least one
	// failed step when not.
	Pass    bool
	Failing []string
}

// Phase is one sandbox-and-check round of a lab test.
type Phase struct {
	Name string
	// Solution is a solution folder (files/ and/or apply.sh) applied before
	// the check; Variant a variant of the lab. With neither, the starter is
	// checked.
	Solution string
	Variant  *lab.Variant
	Expect   Expectation
}

// PhaseReport is how one phase went.
type PhaseReport struct {
	Phase   Phase
	Result  Result
	Ready   time.Duration // sandbox start to ready
	Problem string        // empty when the phase held
}

// Held reports whether the phase met its expectation.
func (p PhaseReport) Held() bool { return p.Problem == "" }

// Phases returns the rounds that prove l both ways: the starter fails
// exactly the steps it declares failing at start, the reference solution
// passes every step, and each variant gets its declared verdict.
func Phases(l *lab.Lab) []Phase {
	ps := []Phase{
		{Name: "starter", Expect: Expectation{Failing: l.FailingAtStart}},
		{Name: "solution", Solution: l.Path(l.Solution), Expect: Expectation{Pass: true}},
	}
	for _, v := range l.Variants {
		ps = append(ps, Phase{
			Name: "variant " + v.Dir, Variant: &v,
			Expect: Expectation{Pass: v.Expect == "pass", Failing: v.Failing},
		})
	}
	return ps
}

// TestPhase starts a fresh sandbox, applies the phase's solution, runs the
// checker, judges the result against the expectation and removes the
// sandbox. Events are written to out as they happen.
func (r *Runner) TestPhase(ctx context.Context, l *lab.Lab, ph Phase, out io.Writer) (PhaseReport, error) {
	rep := PhaseReport{Phase: ph}
	p := NewPrinter(out)
	fmt.Fprintf(out, "── %s: %s\n", l.ID, ph.Name)
	if ph.Variant != nil {
		// A patch that no longer applies fails before a sandbox starts.
		if _, err := l.VariantTree(*ph.Variant); err != nil {
			return rep, err
		}
	}
	start := time.Now()
	s, err := r.Start(ctx, l, ids.New(ids.LabTest), p.Event)
	if err != nil {
		return rep, err
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := s.Stop(stopCtx); err != nil {
			r.log().Warn("stop sandbox", "session", s.Sandbox.ID(), "err", err)
		}
	}()
	rep.Ready = time.Since(start)
	switch {
	case ph.Variant != nil:
		fmt.Fprintf(out, "   applying %s to the %s\n", ph.Variant.Dir, ph.Variant.Base)
		if err := s.ApplyVariant(ctx, *ph.Variant, indent(out)); err != nil {
			return rep, err
		}
	case ph.Solution != "":
		fmt.Fprintf(out, "   applying %s\n", ph.Solution)
		if err := s.Apply(ctx, ph.Solution, indent(out)); err != nil {
			return rep, err
		}
	}
	res, err := s.Check(ctx, p.Event)
	if err != nil {
		return rep, err
	}
	rep.Result = res
	rep.Problem = judgeExpectation(res, ph.Expect)
	if rep.Held() {
		fmt.Fprintf(out, "   ok: %s (%s)\n", describe(ph.Expect), res.Duration.Round(10*time.Millisecond))
	} else {
		fmt.Fprintf(out, "   NOT OK: %s\n", rep.Problem)
	}
	return rep, nil
}

// judgeExpectation returns what is wrong with res, or "".
func judgeExpectation(res Result, want Expectation) string {
	failed := res.Failed()
	switch {
	case res.Outcome == runner.OutcomeError || res.Outcome == runner.OutcomeTimeout:
		return fmt.Sprintf("checker %s: %s", res.Outcome, res.Error)
	case want.Pass && res.Outcome != runner.OutcomePassed:
		return fmt.Sprintf("expected every step to pass; failed: %s", strings.Join(failed, ", "))
	case want.Pass:
		return ""
	case res.Outcome == runner.OutcomePassed:
		return "expected the check to fail, but every step passed"
	case len(want.Failing) == 0:
		return ""
	}
	got := slices.Clone(failed)
	exp := slices.Clone(want.Failing)
	slices.Sort(got)
	slices.Sort(exp)
	if !slices.Equal(got, exp) {
		return fmt.Sprintf("expected exactly these steps to fail: %s; failed: %s", strings.Join(exp, ", "), strings.Join(got, ", "))
	}
	return ""
}

func describe(e Expectation) string {
	switch {
	case e.Pass:
		return "every step passed"
	case len(e.Failing) > 0:
		return "failed exactly " + strings.Join(e.Failing, ", ")
	default:
		return "failed as expected"
	}
}
