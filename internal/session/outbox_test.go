package session

import (
	"bytes"
	"runtime"
	"slices"
	"testing"
)

// collect takes everything o hands over until its channel closes.
func collect[T any](o *outbox[T]) []T {
	var got []T
	for v := range o.out {
		got = append(got, v)
	}
	return got
}

func (o *outbox[T]) heldBytes() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.held
}

func TestOutbox(t *testing.T) {
	t.Parallel()
	size := func(s string) int { return len(s) }
	tests := []struct {
		name    string
		limit   int
		push    []string
		want    []string // what the subscriber gets, reading after the pushes
		dropped bool
	}{
		{"within the limit", 10, []string{"abc", "def", "ghij"}, []string{"abc", "def", "ghij"}, false},
		{"exactly the limit", 6, []string{"abc", "def"}, []string{"abc", "def"}, false},
		{"past the limit", 6, []string{"abc", "def", "g"}, nil, true},
		{"one item past the limit", 2, []string{"abc"}, nil, true},
		{"nothing after a drop", 6, []string{"abcdefg", "a"}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newOutbox(tt.limit, size, nil)
			dropped := false
			for _, p := range tt.push {
				dropped = !o.push(p) || dropped
			}
			o.finish()
			if dropped != tt.dropped {
				t.Errorf("dropped = %v, want %v", dropped, tt.dropped)
			}
			if got := collect(o); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if o.peak > tt.limit {
				t.Errorf("held %d bytes at once; the limit is %d", o.peak, tt.limit)
			}
		})
	}
}

// TestOutboxHoldsTheItemInHand counts the item being handed over: with it
// waiting, only limit minus its size more may queue.
func TestOutboxHoldsTheItemInHand(t *testing.T) {
	t.Parallel()
	o := newOutbox(4, func(s string) int { return len(s) }, nil)
	o.push("ab")
	// The feeder has taken "ab" off the queue or is about to; either way
	// it is held until read.
	if !o.push("cd") {
		t.Fatal("dropped within the limit")
	}
	if o.push("e") {
		t.Fatal("not dropped past the limit while nothing was read")
	}
	if got := collect(o); len(got) > 1 {
		t.Errorf("a dropped subscriber got %q; at most the item in hand", got)
	}
}

// TestOutboxReaderKeepsUp reads as it goes: far more than the limit
// passes, in order.
func TestOutboxReaderKeepsUp(t *testing.T) {
	t.Parallel()
	o := newOutbox(3, func(s string) int { return len(s) }, nil)
	var want []string
	done := make(chan []string)
	go func() { done <- collect(o) }()
	for i := range 1000 {
		s := string(rune('a' + i%26))
		want = append(want, s)
		for o.heldBytes() >= 3 {
			// Wait for the reader: the test is of the order, not of
			// speed.
			runtime.Gosched()
		}
		if !o.push(s) {
			t.Fatal("dropped although the reader keeps up")
		}
	}
	o.finish()
	if got := <-done; !slices.Equal(got, want) {
		t.Errorf("got %d items out of order or missing, want %d", len(got), len(want))
	}
}

// TestOutboxMergesOutput merges terminal output that waits into pieces of
// at most maxChunk, without writing into the pieces it was given.
func TestOutboxMergesOutput(t *testing.T) {
	t.Parallel()
	o := newOutbox(MaxPendingOutput, termOutputSize, mergeOutput)
	a, b := o, newOutbox(MaxPendingOutput, termOutputSize, mergeOutput)
	var want bytes.Buffer
	for i := range 100 {
		piece := bytes.Repeat([]byte{byte('a' + i%26)}, 1000)
		data := make([]byte, len(piece))
		copy(data, piece)
		want.Write(piece)
		// Both subscribers get the same piece, as the pump sends it.
		a.push(TermOutput{Data: data})
		b.push(TermOutput{Data: data})
	}
	a.push(TermOutput{Exited: true, Code: 3})
	a.finish()
	b.finish()
	for _, box := range []*outbox[TermOutput]{a, b} {
		var got bytes.Buffer
		exited := false
		for _, out := range collect(box) {
			if len(out.Data) > maxChunk {
				t.Errorf("a piece of %d bytes; at most %d", len(out.Data), maxChunk)
			}
			got.Write(out.Data)
			exited = exited || out.Exited
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("merged output differs from what was pushed (%d bytes, want %d)", got.Len(), want.Len())
		}
		if box == a && !exited {
			t.Error("the exit after the output was lost")
		}
	}
}
