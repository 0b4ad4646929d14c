package tui

import (
	"bytes"
	"strings"
	"testing"
)

func TestGate(t *testing.T) {
	var out bytes.Buffer
	g := newGate(&out)
	g.Write([]byte("before the shell opens|"))
	if out.Len() != 0 {
		t.Fatalf("a new gate let %q through", out.String())
	}
	g.open()
	if got := out.String(); got != "before the shell opens|" {
		t.Fatalf("open released %q, want the held output", got)
	}
	g.Write([]byte("live|"))
	g.pause()
	g.Write([]byte("while the menu shows|"))
	if got := out.String(); got != "before the shell opens|live|" {
		t.Fatalf("after pause the terminal shows %q", got)
	}
	g.open()
	if got := out.String(); got != "before the shell opens|live|while the menu shows|" {
		t.Fatalf("second open: the terminal shows %q", got)
	}
}

// TestGateHoldsAtMost256KiB: while paused, a write that would pass the
// limit is dropped whole; smaller ones that still fit are kept.
func TestGateHoldsAtMost256KiB(t *testing.T) {
	var out bytes.Buffer
	g := newGate(&out)
	a, b, c := strings.Repeat("a", 200<<10), strings.Repeat("b", 100<<10), strings.Repeat("c", 56<<10)
	for _, s := range []string{a, b, c} {
		if n, err := g.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write = %d, %v; want %d, nil (the shell's output must never block)", n, err, len(s))
		}
	}
	g.open()
	if out.String() != a+c {
		t.Errorf("released %d bytes, want the first and third writes (%d bytes)", out.Len(), len(a+c))
	}
}

func TestGateClosed(t *testing.T) {
	g := newGate(&bytes.Buffer{})
	g.closed()
	g.closed() // the shell's end may be seen twice
	select {
	case <-g.done:
	default:
		t.Fatal("done is not closed after closed()")
	}
}
