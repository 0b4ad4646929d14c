package labrun

import (
	"fmt"
	"strings"

	"github.com/backlab/backlab/internal/lab"
	"github.com/backlab/backlab/runner"
)

// judge tracks the declared steps through a run.
type judge struct {
	steps    []StepResult
	index    map[string]int
	unknown  []string
	metrics  []runner.Event
	reported map[string]int
}

func newJudge(l *lab.Lab) *judge {
	j := &judge{index: map[string]int{}, reported: map[string]int{}}
	for i, st := range l.Checker.Steps {
		j.steps = append(j.steps, StepResult{ID: st.ID, Title: st.Title, Status: StepPending})
		j.index[st.ID] = i
	}
	return j
}

func (j *judge) observe(ev runner.Event) {
	switch ev.Type {
	case runner.EventMetric:
		j.metrics = append(j.metrics, ev)
		return
	case runner.EventStepStarted, runner.EventStepPassed, runner.EventStepFailed:
	default:
		return
	}
	i, ok := j.index[ev.Step]
	if !ok {
		j.unknown = append(j.unknown, ev.Step)
		return
	}
	st := &j.steps[i]
	switch ev.Type {
	case runner.EventStepStarted:
		st.Status = StepRunning
	case runner.EventStepPassed:
		st.Status, st.Message, st.Hint = StepPassed, ev.Message, ""
		j.reported[ev.Step]++
	case runner.EventStepFailed:
		st.Status, st.Message, st.Hint = StepFailed, ev.Message, ev.Hint
		j.reported[ev.Step]++
	}
}

func (j *judge) result(code int) Result {
	return Result{ExitCode: code, Steps: append([]StepResult(nil), j.steps...), Metrics: j.metrics}
}

// judge decides the outcome from the exit code and what was reported.
func (j *judge) judge(code int) (runner.Outcome, string) {
	if len(j.unknown) > 0 {
		return runner.OutcomeError, fmt.Sprintf("the checker reported steps the lab does not declare: %s", strings.Join(j.unknown, ", "))
	}
	var missing, failed []string
	for _, st := range j.steps {
		switch st.Status {
		case StepPassed:
		case StepFailed:
			failed = append(failed, st.ID)
		default:
			missing = append(missing, st.ID)
		}
	}
	switch {
	case code != 0 && code != 1:
		return runner.OutcomeError, fmt.Sprintf("the checker exited with status %d (0 = all passed, 1 = some failed, anything else is a checker error)", code)
	case len(missing) > 0:
		return runner.OutcomeError, fmt.Sprintf("the checker did not report these declared steps: %s", strings.Join(missing, ", "))
	case code == 0 && len(failed) > 0:
		return runner.OutcomeError, fmt.Sprintf("the checker exited 0 but reported failed steps: %s", strings.Join(failed, ", "))
	case code == 1 && len(failed) == 0:
		return runner.OutcomeError, "the checker exited 1 (some failed) but reported no failed step"
	case code == 0:
		return runner.OutcomePassed, ""
	default:
		return runner.OutcomeFailed, ""
	}
}
