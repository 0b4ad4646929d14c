package labrun

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/backlab/backlab/internal/lab"
	"github.com/backlab/backlab/runner"
)

func testLab() *lab.Lab {
	return &lab.Lab{ID: "x", Checker: lab.Checker{Steps: []lab.Step{{ID: "a", Title: "A"}, {ID: "b", Title: "B"}}}}
}

func TestJudge(t *testing.T) {
	pass := func(s string) runner.Event { return runner.Event{Type: runner.EventStepPassed, Step: s} }
	fail := func(s string) runner.Event {
		return runner.Event{Type: runner.EventStepFailed, Step: s, Message: "m", Hint: "h"}
	}
	tests := []struct {
		name   string
		events []runner.Event
		code   int
		want   runner.Outcome
		errHas string
	}{
		{"all passed", []runner.Event{pass("a"), pass("b")}, 0, runner.OutcomePassed, ""},
		{"one failed", []runner.Event{pass("a"), fail("b")}, 1, runner.OutcomeFailed, ""},
		{"exit 0 with a failed step", []runner.Event{pass("a"), fail("b")}, 0, runner.OutcomeError, "exited 0 but reported failed"},
		{"exit 1 without a failed step", []runner.Event{pass("a"), pass("b")}, 1, runner.OutcomeError, "reported no failed step"},
		{"missing step", []runner.Event{pass("a")}, 0, runner.OutcomeError, "did not report these declared steps: b"},
		{"started but never ended", []runner.Event{pass("a"), {Type: runner.EventStepStarted, Step: "b"}}, 0, runner.OutcomeError, "did not report"},
		{"unknown step", []runner.Event{pass("a"), pass("b"), pass("zzz")}, 0, runner.OutcomeError, "does not declare: zzz"},
		{"crash exit", []runner.Event{pass("a"), pass("b")}, 2, runner.OutcomeError, "status 2"},
		{"killed", nil, 137, runner.OutcomeError, "status 137"},
		{"later event wins", []runner.Event{fail("a"), pass("a"), pass("b")}, 0, runner.OutcomePassed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := newJudge(testLab())
			for _, ev := range tt.events {
				j.observe(ev)
			}
			got, msg := j.judge(tt.code)
			if got != tt.want {
				t.Fatalf("outcome = %s (%s), want %s", got, msg, tt.want)
			}
			if !strings.Contains(msg, tt.errHas) {
				t.Errorf("message = %q, want it to contain %q", msg, tt.errHas)
			}
		})
	}
}

func TestJudgeKeepsFailureDetails(t *testing.T) {
	j := newJudge(testLab())
	j.observe(runner.Event{Type: runner.EventStepFailed, Step: "b", Message: "51 queries", Hint: "batch them"})
	j.observe(runner.Event{Type: runner.EventMetric, Name: "queries", Value: 51})
	res := j.result(1)
	if got := res.Failed(); len(got) != 1 || got[0] != "b" {
		t.Fatalf("Failed() = %v, want [b]", got)
	}
	if st := res.Steps[1]; st.Message != "51 queries" || st.Hint != "batch them" || st.Title != "B" {
		t.Errorf("step b = %+v", st)
	}
	if len(res.Metrics) != 1 || res.Metrics[0].Value != 51 {
		t.Errorf("metrics = %+v", res.Metrics)
	}
}

func TestParseLine(t *testing.T) {
	tests := []struct {
		line     string
		wantType runner.EventType
		wantMsg  string
	}{
		{`{"type":"step.passed","step":"a","message":"ok"}`, runner.EventStepPassed, "ok"},
		{`plain output`, runner.EventLog, "plain output"},
		{`{"not":"an event"}`, runner.EventLog, `{"not":"an event"}`},
		{`{"type":"check.finished","outcome":"passed"}`, runner.EventLog, "unknown type"},
		{`{"type":"step.passed",`, runner.EventLog, `{"type":"step.passed",`},
	}
	for _, tt := range tests {
		ev := parseLine([]byte(tt.line))
		if ev.Type != tt.wantType || !strings.Contains(ev.Message, tt.wantMsg) {
			t.Errorf("parseLine(%q) = %+v, want type %s with message containing %q", tt.line, ev, tt.wantType, tt.wantMsg)
		}
	}
}

func TestReadEventsCapsOutput(t *testing.T) {
	line := strings.Repeat("x", 1000) + "\n"
	input := strings.Repeat(line, MaxCheckerOutput/len(line)+10)
	n := 0
	err := readEvents(strings.NewReader(input), func(runner.Event) { n++ })
	if err == nil || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("err = %v, want an output cap error", err)
	}
	if n == 0 || n > MaxCheckerOutput/len(line) {
		t.Errorf("%d events delivered before the cap", n)
	}
}

func TestReadEventsLongLine(t *testing.T) {
	long := `{"type":"log","message":"` + strings.Repeat("y", 2*maxLine) + `"}` + "\n" + `{"type":"step.passed","step":"a"}` + "\n"
	var got []runner.Event
	if err := readEvents(strings.NewReader(long), func(ev runner.Event) { got = append(got, ev) }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1].Type != runner.EventStepPassed {
		t.Fatalf("events = %d, last %+v; want the long line truncated and the next line parsed", len(got), got[len(got)-1].Type)
	}
	if len(got[0].Message) > maxLine {
		t.Errorf("long line kept %d bytes, want at most %d", len(got[0].Message), maxLine)
	}
}

func TestJudgeExpectation(t *testing.T) {
	res := func(o runner.Outcome, failed ...string) Result {
		r := Result{Outcome: o}
		for _, f := range failed {
			r.Steps = append(r.Steps, StepResult{ID: f, Status: StepFailed})
		}
		r.Steps = append(r.Steps, StepResult{ID: "ok", Status: StepPassed})
		return r
	}
	tests := []struct {
		name string
		res  Result
		want Expectation
		ok   bool
	}{
		{"pass wanted, passed", res(runner.OutcomePassed), Expectation{Pass: true}, true},
		{"pass wanted, failed", res(runner.OutcomeFailed, "a"), Expectation{Pass: true}, false},
		{"fail wanted, passed", res(runner.OutcomePassed), Expectation{}, false},
		{"fail wanted, failed", res(runner.OutcomeFailed, "a"), Expectation{}, true},
		{"exact failing set", res(runner.OutcomeFailed, "b", "a"), Expectation{Failing: []string{"a", "b"}}, true},
		{"too few failed", res(runner.OutcomeFailed, "a"), Expectation{Failing: []string{"a", "b"}}, false},
		{"too many failed", res(runner.OutcomeFailed, "a", "b", "c"), Expectation{Failing: []string{"a", "b"}}, false},
		{"error never meets a fail expectation", res(runner.OutcomeError), Expectation{}, false},
		{"timeout never meets a fail expectation", res(runner.OutcomeTimeout), Expectation{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := judgeExpectation(tt.res, tt.want)
			if (got == "") != tt.ok {
				t.Errorf("judgeExpectation = %q, want ok=%v", got, tt.ok)
			}
		})
	}
}

func TestOrphan(t *testing.T) {
	host, _ := os.Hostname()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		instance string
		want     bool
	}{
		{InstanceID(), false},                                // this process
		{fmt.Sprintf("%s/%d", host, dead.Process.Pid), true}, // exited
		{fmt.Sprintf("%s/%d", host, 1), false},               // init runs
		{fmt.Sprintf("other-host/%d", dead.Process.Pid), false},
		{"server-abc", false},
		{host + "/notapid", false},
	}
	for _, tt := range tests {
		if got := Orphan(runner.SandboxInfo{Instance: tt.instance}); got != tt.want {
			t.Errorf("Orphan(%q) = %v, want %v", tt.instance, got, tt.want)
		}
	}
}
