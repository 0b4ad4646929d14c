package labrun

import (
	"bytes"
	"strings"
	"testing"

	"github.com/backlab/backlab/runner"
)

// unknownPrefix starts the log line parseLine makes of an event of a
// type the protocol does not have.
const unknownPrefix = "checker sent an event of unknown type: "

// FuzzCheckerOutput feeds arbitrary checker output through readEvents and
// the judge of a lab with steps a and b. pad puts a run of bytes before
// and after the output (each up to a little over maxLine) so that the line cap's
// boundaries are reachable. Whatever the output: nothing panics, every
// event is of a type the protocol has, no event carries more than one
// capped line, and a check passes only when the checker exited 0 and its
// last word on every declared step was step.passed.
func FuzzCheckerOutput(f *testing.F) {
	for _, s := range []struct {
		out  string
		pad  uint32
		code int8
	}{
		{"{\"type\":\"step.started\",\"step\":\"a\",\"title\":\"A\"}\n{\"type\":\"step.passed\",\"step\":\"a\",\"message\":\"ok\"}\n{\"type\":\"step.passed\",\"step\":\"b\"}\n", 0, 0},
		{"{\"type\":\"step.passed\",\"step\":\"a\"}\n{\"type\":\"step.failed\",\"step\":\"b\",\"message\":\"51 queries\",\"hint\":\"batch them\"}\n", 0, 1},
		{"{\"type\":\"metric\",\"name\":\"p95\",\"value\":12.5,\"unit\":\"ms\"}\n{\"type\":\"metric\",\"name\":\"rows\",\"data\":{\"a\":[1,2]}}\n", 0, 0},
		{"{\"type\":\"check.finished\",\"outcome\":\"passed\"}\n{\"type\":\"step.passed\",\"step\":\"a\"}\n", 0, 0},
		{"{\"type\":\"step.passed\",\"step\":\"a\"}\r\n{\"type\":\"step.passed\",\"step\":\"zzz\"}\n{\"type\":\"step.passed\",\"step\":\"b\"}", 0, 0},
		{"panic: runtime error\ngoroutine 1 [running]:\n{\"type\":\"step.passed\",\"step\":\"a\"}\n", 0, 2},
		{"{\"type\":\"step.passed\",\"step\":\"a\"} trailing\n{\"type\":\"log\",\"message\":\"\\u0000\\ud800\"}\n", 0, 0},
		{"{\"type\":\"step.passed\",\"step\":\"a\"}\n{\"type\":\"step.passed\",\"step\":\"b\"}\n", 0, -119},
		{"\n{\"type\":\"log\"}\n", maxLine, 0}, // a line exactly at the cap
		{"yyyy\n", maxLine + 5, 0},
	} {
		f.Add([]byte(s.out), s.pad, s.code)
	}
	f.Fuzz(func(t *testing.T, out []byte, pad uint32, code int8) {
		in := out
		if n := int(pad % (maxLine + 128<<10)); n > 0 {
			x := bytes.Repeat([]byte{'x'}, n)
			in = append(append(append([]byte(nil), x...), out...), x...)
		}
		j := newJudge(testLab())
		var events []runner.Event
		err := readEvents(bytes.NewReader(in), func(ev runner.Event) {
			events = append(events, ev)
			j.observe(ev)
		})
		if err != nil {
			t.Fatalf("readEvents of %d bytes (under the %d cap): %v", len(in), MaxCheckerOutput, err)
		}
		last := map[string]runner.EventType{}
		unknown := false
		for _, ev := range events {
			switch ev.Type {
			case runner.EventStepStarted, runner.EventStepPassed, runner.EventStepFailed:
				if ev.Step != "a" && ev.Step != "b" {
					unknown = true
				}
				last[ev.Step] = ev.Type
			case runner.EventLog:
				msg := strings.TrimPrefix(ev.Message, unknownPrefix)
				if len(msg) > maxLine {
					t.Fatalf("a log event carries %d bytes of one line, more than the %d cap", len(msg), maxLine)
				}
			case runner.EventMetric:
			default:
				t.Fatalf("event of type %q reached the judge", ev.Type)
			}
		}
		outcome, msg := j.judge(int(code))
		if outcome == runner.OutcomePassed {
			if code != 0 || unknown || last["a"] != runner.EventStepPassed || last["b"] != runner.EventStepPassed {
				t.Fatalf("passed with exit %d, unknown steps %v, last word on a %q and b %q", code, unknown, last["a"], last["b"])
			}
		} else if msg == "" && outcome != runner.OutcomeFailed {
			t.Fatalf("outcome %s without a message", outcome)
		}
	})
}
