// Package checker is the SDK lab authors write checkers with.
//
// A checker is a program that runs inside a lab's sandbox network, out of
// the learner's reach, and reports what it verified as JSON lines on
// standard output (see [runner.Event]). This package writes that protocol
// for the author:
//
//	func main() {
//		c := checker.New()
//		defer c.Exit()
//		c.Step("uses-index", func(s *checker.S) {
//			plan, err := checker.Explain(s.Ctx(), db, query)
//			s.Must(err)
//			if scans := plan.SeqScans("orders"); len(scans) > 0 {
//				s.Fail("the query still reads every row of orders (Seq Scan)", "Look at the WHERE clause.")
//			}
//			s.Pass("Index Scan using orders_customer_id_idx")
//		})
//	}
//
// Exit status 0 means every step passed, 1 that some step failed, and 2 a
// checker error (a bug of the checker or a broken sandbox), which the
// runner never shows as a pass.
package checker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/backlab/backlab/runner"
)

// Exit statuses of a checker.
const (
	ExitPassed = 0 // every step passed
	ExitFailed = 1 // at least one step failed
	ExitError  = 2 // the checker itself broke
)

// Check is one run of a checker. Create it with [New]; end with [Check.Exit].
type Check struct {
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	out    io.Writer
	failed int
	broken error
	exit   func(int)
	now    func() time.Time
}

// New starts a check run writing events to standard output. Its context
// ends on SIGTERM/SIGINT, or after BACKLAB_TIMEOUT (set by the runner)
// when that is a Go duration.
func New() *Check {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	if d, err := time.ParseDuration(os.Getenv("BACKLAB_TIMEOUT")); err == nil && d > 0 {
		var c2 context.CancelFunc
		ctx, c2 = context.WithTimeout(ctx, d)
		prev := cancel
		cancel = func() { c2(); prev() }
	}
	return newCheck(ctx, cancel, os.Stdout, os.Exit)
}

func newCheck(ctx context.Context, cancel context.CancelFunc, out io.Writer, exit func(int)) *Check {
	return &Check{ctx: ctx, cancel: cancel, out: out, exit: exit, now: time.Now}
}

// Context returns the run's context.
func (c *Check) Context() context.Context { return c.ctx }

func (c *Check) emit(ev runner.Event) {
	ev.Time = c.now().UTC()
	line, err := json.Marshal(ev)
	if err != nil {
		// Data that cannot be encoded is the author's bug: say so, keep going.
		line, _ = json.Marshal(runner.Event{Type: runner.EventLog, Time: ev.Time,
			Message: fmt.Sprintf("checker: cannot encode %s event: %v", ev.Type, err)})
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.out.Write(append(line, '\n'))
}

// Logf writes a log line that the learner sees with the step results.
func (c *Check) Logf(format string, args ...any) {
	c.emit(runner.Event{Type: runner.EventLog, Message: fmt.Sprintf(format, args...)})
}

// Fatal records a checker error: the run ends with [ExitError] when
// [Check.Exit] is called, and Fatal calls it at once.
func (c *Check) Fatal(err error) {
	c.setBroken(err)
	c.Exit()
}

func (c *Check) setBroken(err error) {
	if err == nil {
		err = errors.New("checker error")
	}
	c.Logf("checker error: %v", err)
	c.mu.Lock()
	if c.broken == nil {
		c.broken = err
	}
	c.mu.Unlock()
}

// Failed reports whether some step failed so far.
func (c *Check) Failed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.failed > 0
}

// Exit ends the process: 0 when every step passed, 1 when some failed, 2
// when the checker broke. Deferred in main, it also turns a panic outside
// a step into a checker error rather than a verdict.
func (c *Check) Exit() {
	if r := recover(); r != nil {
		if _, ok := r.(exitPanic); ok {
			panic(r)
		}
		c.setBroken(fmt.Errorf("the checker panicked: %v\n%s", r, debug.Stack()))
	}
	c.cancel()
	c.mu.Lock()
	code := ExitPassed
	switch {
	case c.broken != nil:
		code = ExitError
	case c.failed > 0:
		code = ExitFailed
	}
	c.mu.Unlock()
	c.exit(code)
}

// exitPanic lets tests stand in for os.Exit with a panic that Exit must
// not swallow.
type exitPanic struct{}

// S is the state of one running step.
type S struct {
	c        *Check
	id       string
	ctx      context.Context
	evidence string
	failed   bool
}

// stepEnd unwinds a step that failed or broke.
type stepEnd struct{}

// Step runs fn as the step id and reports its result; it returns whether
// the step passed. A step passes unless fn calls [S.Fail] or breaks with
// [S.Must]. A panic in fn is a checker error. Steps run one after
// another; after a checker error further steps are not run and are
// reported failed with "not checked".
func (c *Check) Step(id string, fn func(s *S)) (passed bool) {
	c.emit(runner.Event{Type: runner.EventStepStarted, Step: id})
	c.mu.Lock()
	broken := c.broken
	c.mu.Unlock()
	if broken != nil {
		c.fail(id, "not checked: the checker broke earlier ("+broken.Error()+")", "")
		return false
	}
	s := &S{c: c, id: id, ctx: c.ctx}
	ended := func() (ended bool) {
		defer func() {
			r := recover()
			if r == nil {
				return
			}
			if _, ok := r.(stepEnd); ok {
				ended = true
				return
			}
			c.setBroken(fmt.Errorf("step %s panicked: %v\n%s", id, r, debug.Stack()))
			ended = true
		}()
		fn(s)
		return false
	}()
	_ = ended
	c.mu.Lock()
	broken = c.broken
	c.mu.Unlock()
	switch {
	case s.failed:
		return false
	case broken != nil:
		c.fail(id, "not checked: the checker broke ("+broken.Error()+")", "")
		return false
	case c.ctx.Err() != nil:
		c.fail(id, "not checked: the check ran out of time", "")
		return false
	}
	c.emit(runner.Event{Type: runner.EventStepPassed, Step: id, Message: s.evidence})
	return true
}

func (c *Check) fail(id, msg, hint string) {
	c.mu.Lock()
	c.failed++
	c.mu.Unlock()
	c.emit(runner.Event{Type: runner.EventStepFailed, Step: id, Message: msg, Hint: hint})
}

// Ctx returns the step's context; it ends when the check's time is up.
func (s *S) Ctx() context.Context { return s.ctx }

// ID returns the step's id.
func (s *S) ID() string { return s.id }

// Fail fails the step with what was observed and expected (message) and
// what to try (hint), and ends the step.
func (s *S) Fail(message, hint string) {
	s.failed = true
	s.c.fail(s.id, message, hint)
	panic(stepEnd{})
}

// Pass sets the evidence shown when the step passes (the plan node, the
// count, the p95). It does not end the step.
func (s *S) Pass(message string) { s.evidence = message }

// Passf is [S.Pass] with formatting.
func (s *S) Passf(format string, args ...any) { s.Pass(fmt.Sprintf(format, args...)) }

// Metric records a figure, e.g. ("query_ms", 0.42, "ms").
func (s *S) Metric(name string, value float64, unit string) {
	s.c.emit(runner.Event{Type: runner.EventMetric, Step: s.id, Name: name, Value: value, Unit: unit})
}

// Data records structured evidence, e.g. a query plan.
func (s *S) Data(name string, v any) {
	s.c.emit(runner.Event{Type: runner.EventMetric, Step: s.id, Name: name, Data: v})
}

// Logf writes a log line attached to the step.
func (s *S) Logf(format string, args ...any) {
	s.c.emit(runner.Event{Type: runner.EventLog, Step: s.id, Message: fmt.Sprintf(format, args...)})
}

// Must ends the step as a checker error when err is not nil: use it for
// failures that are not the learner's doing (the checker's own queries).
func (s *S) Must(err error) {
	if err == nil {
		return
	}
	s.c.setBroken(fmt.Errorf("step %s: %w", s.id, err))
	panic(stepEnd{})
}

// Env returns the environment variable name, or def when it is unset.
func Env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}
