package checker

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/backlab/backlab/runner"
)

// run executes steps on a Check writing to a buffer and returns the events
// and the exit status.
func run(t *testing.T, ctx context.Context, steps func(c *Check)) ([]runner.Event, int) {
	t.Helper()
	var out bytes.Buffer
	code := -1
	ctx, cancel := context.WithCancel(ctx)
	c := newCheck(ctx, cancel, &out, func(n int) { code = n; panic(exitPanic{}) })
	func() {
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(exitPanic); !ok {
					panic(r)
				}
			}
		}()
		defer c.Exit()
		steps(c)
	}()
	var evs []runner.Event
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var ev runner.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("line is not a JSON event: %q: %v", sc.Text(), err)
		}
		if ev.Time.IsZero() {
			t.Errorf("event without time: %q", sc.Text())
		}
		evs = append(evs, ev)
	}
	return evs, code
}

// brief renders events as "type:step" for comparison.
func brief(evs []runner.Event) []string {
	var s []string
	for _, ev := range evs {
		if ev.Type == runner.EventLog {
			s = append(s, "log")
			continue
		}
		s = append(s, string(ev.Type)+":"+ev.Step)
	}
	return s
}

func TestProtocol(t *testing.T) {
	tests := []struct {
		name  string
		steps func(c *Check)
		want  []string
		code  int
	}{
		{"all pass", func(c *Check) {
			c.Step("a", func(s *S) { s.Pass("fine") })
			c.Step("b", func(s *S) {})
		}, []string{"step.started:a", "step.passed:a", "step.started:b", "step.passed:b"}, ExitPassed},
		{"fail ends the step, later steps run", func(c *Check) {
			c.Step("a", func(s *S) { s.Fail("51 queries", "batch them"); t.Error("Fail did not end the step") })
			c.Step("b", func(s *S) {})
		}, []string{"step.started:a", "step.failed:a", "step.started:b", "step.passed:b"}, ExitFailed},
		{"must is a checker error and skips the rest", func(c *Check) {
			c.Step("a", func(s *S) { s.Must(errors.New("connection refused")) })
			c.Step("b", func(s *S) { t.Error("step b ran after a checker error") })
		}, []string{"step.started:a", "log", "step.failed:a", "step.started:b", "step.failed:b"}, ExitError},
		{"panic is a checker error", func(c *Check) {
			c.Step("a", func(s *S) { var m map[string]int; m["x"] = 1 })
		}, []string{"step.started:a", "log", "step.failed:a"}, ExitError},
		{"panic outside a step", func(c *Check) {
			c.Step("a", func(s *S) {})
			var p *S
			p.Pass("nil")
		}, []string{"step.started:a", "step.passed:a", "log"}, ExitError},
		{"fatal outside a step", func(c *Check) {
			c.Fatal(errors.New("no DSN"))
		}, []string{"log"}, ExitError},
		{"metrics and logs belong to the step", func(c *Check) {
			c.Step("a", func(s *S) { s.Metric("p95", 12.5, "ms"); s.Logf("n=%d", 3); s.Data("plan", map[string]int{"rows": 1}) })
		}, []string{"step.started:a", "metric:a", "log", "metric:a", "step.passed:a"}, ExitPassed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, code := run(t, context.Background(), tt.steps)
			if code != tt.code {
				t.Errorf("exit = %d, want %d", code, tt.code)
			}
			got := brief(evs)
			if len(got) != len(tt.want) {
				t.Fatalf("events = %q, want %q", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("events = %q, want %q", got, tt.want)
				}
			}
		})
	}
}

func TestFailCarriesMessageAndHint(t *testing.T) {
	evs, _ := run(t, context.Background(), func(c *Check) {
		c.Step("a", func(s *S) { s.Fail("GET /orders ran 51 statements; at most 3 expected", "load items in one query") })
		c.Step("b", func(s *S) { s.Passf("%d rows", 7) })
	})
	if evs[1].Message != "GET /orders ran 51 statements; at most 3 expected" || evs[1].Hint != "load items in one query" {
		t.Errorf("failed event = %+v", evs[1])
	}
	if evs[3].Message != "7 rows" {
		t.Errorf("passed event message = %q, want the evidence", evs[3].Message)
	}
}

func TestOutOfTimeIsNotAPass(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	evs, code := run(t, ctx, func(c *Check) {
		c.Step("slow", func(s *S) { <-s.Ctx().Done() })
	})
	if code != ExitFailed || evs[len(evs)-1].Type != runner.EventStepFailed {
		t.Fatalf("exit %d, events %q: a step cut off by the deadline must fail", code, brief(evs))
	}
}

func TestBadDataIsLoggedNotLost(t *testing.T) {
	evs, code := run(t, context.Background(), func(c *Check) {
		c.Step("a", func(s *S) { s.Data("ch", make(chan int)) })
	})
	if code != ExitPassed {
		t.Errorf("exit = %d", code)
	}
	if evs[1].Type != runner.EventLog {
		t.Errorf("unencodable data gave %q, want a log line", brief(evs))
	}
}
