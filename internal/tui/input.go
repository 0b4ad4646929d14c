package tui

import (
	"bytes"
	"context"
	"io"
	"sync"
)

// input reads stdin in the background, so the shell and the menu can share
// it.
type input struct {
	c       chan []byte
	mu      sync.Mutex
	pending []byte
}

func newInput(r io.Reader) *input {
	in := &input{c: make(chan []byte, 16)}
	go func() {
		defer close(in.c)
		for {
			buf := make([]byte, 4096)
			n, err := r.Read(buf)
			if n > 0 {
				in.c <- buf[:n]
			}
			if err != nil {
				return
			}
		}
	}()
	return in
}

// unread keeps b for the next line read.
func (in *input) unread(b []byte) {
	in.mu.Lock()
	in.pending = append(in.pending, b...)
	in.mu.Unlock()
}

// line returns the next line typed (without its end).
func (in *input) line(ctx context.Context) (string, bool) {
	for {
		in.mu.Lock()
		if i := bytes.IndexAny(in.pending, "\r\n"); i >= 0 {
			s := string(in.pending[:i])
			in.pending = bytes.TrimLeft(in.pending[i:], "\r\n")
			in.mu.Unlock()
			return s, true
		}
		in.mu.Unlock()
		select {
		case <-ctx.Done():
			return "", false
		case b, ok := <-in.c:
			if !ok {
				in.mu.Lock()
				s := string(in.pending)
				in.pending = nil
				in.mu.Unlock()
				return s, s != ""
			}
			in.unread(b)
		}
	}
}
