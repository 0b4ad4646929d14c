package labrun

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/backlab/backlab/runner"
)

// MaxCheckerOutput caps what a check run reads of its checker's output;
// beyond it the run ends as an error.
const MaxCheckerOutput = 4 << 20

// maxLine caps one line of checker output.
const maxLine = 256 << 10

// StepStatus is how one step of a check run ended.
type StepStatus string

// Step statuses.
const (
	StepPending StepStatus = "pending"
	StepRunning StepStatus = "running"
	StepPassed  StepStatus = "passed"
	StepFailed  StepStatus = "failed"
)

// StepResult is the latest state of one declared step.
type StepResult struct {
	ID      string     `json:"id"`
	Title   string     `json:"title"`
	Status  StepStatus `json:"status"`
	Message string     `json:"message,omitempty"`
	Hint    string     `json:"hint,omitempty"`
}

// Result is a finished check run.
type Result struct {
	Outcome runner.Outcome `json:"outcome"`
	// Error says why the outcome is error or timeout.
	Error    string         `json:"error,omitempty"`
	ExitCode int            `json:"exit_code"`
	Steps    []StepResult   `json:"steps"`
	Metrics  []runner.Event `json:"metrics,omitempty"`
	Duration time.Duration  `json:"duration"`
}

// Failed returns the ids of the steps that failed.
func (r Result) Failed() []string {
	var ids []string
	for _, s := range r.Steps {
		if s.Status == StepFailed {
			ids = append(ids, s.ID)
		}
	}
	return ids
}

// Check runs the lab's checker once against what the learner saved. emit,
// when not nil, receives every event as it happens. The returned error is
// non-nil only when the check could not be run at all (the engine broke);
// a checker that misbehaves yields a Result with outcome error or timeout.
func (run *Run) Check(ctx context.Context, emit func(runner.Event)) (Result, error) {
	if emit == nil {
		emit = func(runner.Event) {}
	}
	start := time.Now()
	j := newJudge(run.Lab)
	send := func(ev runner.Event) {
		if ev.Time.IsZero() {
			ev.Time = time.Now().UTC()
		}
		emit(ev)
	}
	finish := func(res Result) (Result, error) {
		res.Duration = time.Since(start)
		send(runner.Event{Type: runner.EventCheckFinished, Outcome: res.Outcome, Message: res.Error})
		return res, nil
	}
	send(runner.Event{Type: runner.EventCheckStarted})

	for _, svc := range run.Lab.Checker.Restart {
		send(runner.Event{Type: runner.EventLog, Message: "restarting " + svc + " from your saved files"})
		if err := run.Sandbox.Restart(ctx, svc); err != nil {
			if ctx.Err() != nil {
				return Result{}, ctx.Err()
			}
			// The learner's service did not come back: their work fails,
			// the checker is not to blame.
			msg := fmt.Sprintf("not checked: service %s did not start after restart: %v", svc, err)
			for _, st := range run.Lab.Checker.Steps {
				ev := runner.Event{Type: runner.EventStepFailed, Step: st.ID, Title: st.Title, Message: msg,
					Hint: "Look at why " + svc + " failed to start (the log above), fix it, save, and check again."}
				j.observe(ev)
				send(ev)
			}
			res := j.result(1)
			res.Outcome = runner.OutcomeFailed
			return finish(res)
		}
	}

	timeout := run.Lab.CheckerTimeout()
	runCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	mounts := make([]runner.Mount, 0, len(run.Lab.Checker.Mounts))
	for _, m := range run.Lab.Checker.Mounts {
		mounts = append(mounts, runner.Mount{Volume: m.Volume, Path: m.Path, ReadOnly: true})
	}
	env := map[string]string{}
	for k, v := range run.Lab.Checker.Env {
		env[k] = v
	}
	env["BACKLAB_LAB"] = run.Lab.ID
	env["BACKLAB_SESSION"] = run.Sandbox.ID()
	env["BACKLAB_TIMEOUT"] = timeout.String()
	job, err := run.Sandbox.RunJob(runCtx, runner.JobSpec{
		Name: "checker-" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36), Image: run.Images.Checker,
		Env: env, Mounts: mounts,
	})
	if err != nil {
		if ctx.Err() != nil {
			return Result{}, ctx.Err()
		}
		return Result{}, fmt.Errorf("run checker of %s: %w", run.Lab.ID, err)
	}
	defer func() {
		closeCtx, c := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer c()
		_ = job.Close(closeCtx)
	}()

	readErr := make(chan error, 1)
	go func() { readErr <- readEvents(job.Output(), func(ev runner.Event) { j.observe(ev); send(ev) }) }()
	var rerr error
	select {
	case rerr = <-readErr:
	case <-runCtx.Done():
	}
	if runCtx.Err() != nil && ctx.Err() == nil {
		res := j.result(-1)
		res.Outcome = runner.OutcomeTimeout
		res.Error = fmt.Sprintf("the checker ran longer than its timeout of %s and was stopped", timeout)
		return finish(res)
	}
	if ctx.Err() != nil {
		return Result{}, ctx.Err()
	}
	code, err := job.Wait(runCtx)
	if err != nil {
		if runCtx.Err() != nil && ctx.Err() == nil {
			res := j.result(-1)
			res.Outcome = runner.OutcomeTimeout
			res.Error = fmt.Sprintf("the checker ran longer than its timeout of %s and was stopped", timeout)
			return finish(res)
		}
		return Result{}, fmt.Errorf("wait for checker of %s: %w", run.Lab.ID, err)
	}
	res := j.result(code)
	if rerr != nil {
		res.Outcome, res.Error = runner.OutcomeError, rerr.Error()
	} else {
		res.Outcome, res.Error = j.judge(code)
	}
	return finish(res)
}

// readEvents parses checker output: one JSON event a line; other lines
// become log events. It fails when the output passes MaxCheckerOutput.
func readEvents(r io.Reader, fn func(runner.Event)) error {
	br := bufio.NewReaderSize(r, 64<<10)
	total := 0
	for {
		line, err := readLine(br)
		total += len(line) + 1
		if total > MaxCheckerOutput {
			go io.Copy(io.Discard, r) //nolint:errcheck // drain so the job can exit
			return fmt.Errorf("the checker wrote more than %d bytes of output", MaxCheckerOutput)
		}
		if len(bytes.TrimSpace(line)) > 0 {
			fn(parseLine(line))
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read checker output: %w", err)
		}
	}
}

// readLine reads one line, truncating it at maxLine.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, isPrefix, err := br.ReadLine()
		// ReadLine's chunks need not be a whole buffer (it holds back a
		// CR at the buffer's edge), so cut the chunk, not just stop.
		line = append(line, chunk[:min(len(chunk), maxLine-len(line))]...)
		if err != nil || !isPrefix {
			return line, err
		}
	}
}

// parseLine turns one line into an event: a JSON event, or a log line.
func parseLine(line []byte) runner.Event {
	var ev runner.Event
	if len(line) > 0 && line[0] == '{' && json.Unmarshal(line, &ev) == nil && ev.Type != "" {
		switch ev.Type {
		case runner.EventStepStarted, runner.EventStepPassed, runner.EventStepFailed, runner.EventLog, runner.EventMetric:
			return ev
		}
		return runner.Event{Type: runner.EventLog, Message: "checker sent an event of unknown type: " + string(line)}
	}
	return runner.Event{Type: runner.EventLog, Message: string(line)}
}
