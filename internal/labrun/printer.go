package labrun

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/backlab/backlab/runner"
)

// Printer writes events for a person at a terminal, one line each.
type Printer struct {
	mu  sync.Mutex
	out io.Writer
}

// NewPrinter returns a Printer writing to out.
func NewPrinter(out io.Writer) *Printer { return &Printer{out: out} }

// Event writes ev.
func (p *Printer) Event(ev runner.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	w := p.out
	switch ev.Type {
	case runner.EventServiceStarting:
		fmt.Fprintf(w, "   … %s starting\n", ev.Service)
	case runner.EventServiceReady:
		fmt.Fprintf(w, "   ✓ %s ready\n", ev.Service)
	case runner.EventSandboxReady:
		fmt.Fprintf(w, "   sandbox ready\n")
	case runner.EventCheckStarted:
		fmt.Fprintf(w, "   check started\n")
	case runner.EventStepStarted:
		fmt.Fprintf(w, "   ▶ %s\n", label(ev))
	case runner.EventStepPassed:
		fmt.Fprintf(w, "   ✓ %s\n", label(ev))
		writeIndented(w, "       ", ev.Message)
	case runner.EventStepFailed:
		fmt.Fprintf(w, "   ✗ %s\n", label(ev))
		writeIndented(w, "       ", ev.Message)
		if ev.Hint != "" {
			writeIndented(w, "       hint: ", ev.Hint)
		}
	case runner.EventMetric:
		if ev.Data != nil && ev.Value == 0 {
			fmt.Fprintf(w, "     · %s recorded\n", ev.Name)
		} else {
			fmt.Fprintf(w, "     · %s = %g %s\n", ev.Name, ev.Value, ev.Unit)
		}
	case runner.EventLog:
		writeIndented(w, "     | ", ev.Message)
	case runner.EventCheckFinished:
		if ev.Message != "" {
			fmt.Fprintf(w, "   check %s: %s\n", ev.Outcome, ev.Message)
		} else {
			fmt.Fprintf(w, "   check %s\n", ev.Outcome)
		}
	}
}

func label(ev runner.Event) string {
	if ev.Title != "" {
		return ev.Step + ": " + ev.Title
	}
	return ev.Step
}

func writeIndented(w io.Writer, prefix, text string) {
	text = strings.TrimRight(text, "\n")
	if text == "" {
		return
	}
	pad := strings.Repeat(" ", len([]rune(prefix)))
	for i, line := range strings.Split(text, "\n") {
		if i == 0 {
			fmt.Fprintf(w, "%s%s\n", prefix, line)
		} else {
			fmt.Fprintf(w, "%s%s\n", pad, line)
		}
	}
}

// indent returns a writer that indents each line written to w.
func indent(w io.Writer) io.Writer {
	return writerFunc(func(b []byte) (int, error) {
		writeIndented(w, "     | ", string(b))
		return len(b), nil
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }
