package tui

import (
	"context"
	"io"
	"testing"
	"time"
)

// chunks returns its chunks one Read at a time, then io.EOF.
type chunks []string

func (c *chunks) Read(p []byte) (int, error) {
	if len(*c) == 0 {
		return 0, io.EOF
	}
	n := copy(p, (*c)[0])
	(*c)[0] = (*c)[0][n:]
	if (*c)[0] == "" {
		*c = (*c)[1:]
	}
	return n, nil
}

func TestInputLine(t *testing.T) {
	tests := []struct {
		name   string
		unread string
		reads  chunks
		want   []string
	}{
		{"one line", "", chunks{"check\n"}, []string{"check"}},
		{"carriage returns", "", chunks{"c\r\nh\r"}, []string{"c", "h"}},
		{"blank lines between", "", chunks{"c\n\n\nq\n"}, []string{"c", "q"}},
		{"split across reads", "", chunks{"he", "l", "p\r"}, []string{"help"}},
		{"last line without an end", "", chunks{"c\nquit"}, []string{"c", "quit"}},
		{"unread bytes come first", "ch", chunks{"eck\n"}, []string{"check"}},
		{"nothing typed", "", chunks{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			reads := tt.reads
			in := newInput(&reads)
			in.unread([]byte(tt.unread))
			var got []string
			for {
				line, ok := in.line(ctx)
				if !ok {
					break
				}
				got = append(got, line)
			}
			if ctx.Err() != nil {
				t.Fatal("line did not return at the end of the input")
			}
			if len(got) != len(tt.want) {
				t.Fatalf("lines = %q, want %q", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("lines = %q, want %q", got, tt.want)
				}
			}
		})
	}
}

// TestInputLineCancelled: a line read gives up when its context ends,
// even though the input is still open.
func TestInputLineCancelled(t *testing.T) {
	r, w := io.Pipe()
	defer w.Close()
	in := newInput(r)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan bool)
	go func() {
		_, ok := in.line(ctx)
		done <- ok
	}()
	cancel()
	select {
	case ok := <-done:
		if ok {
			t.Error("line reported a line after its context ended")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("line did not return after its context ended")
	}
}
