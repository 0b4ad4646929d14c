package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/backlab/backlab/runner"
)

// Terminal is a shell in the session's workspace that outlives the
// connections that show it: its recent output is kept, so a page that
// reconnects gets the screen back.
type Terminal struct {
	ID    string
	Title string
	s     *Session
	tty   runner.Terminal

	mu     sync.Mutex
	ring   []byte // recent output, at most limit bytes
	limit  int
	subs   map[*outbox[TermOutput]]struct{}
	exited bool
	code   int
}

// TermOutput is a piece of terminal output, or (Exited) the end of the
// shell with its exit code.
type TermOutput struct {
	Data   []byte
	Exited bool
	Code   int
}

// NewTerminal opens a new shell in the workspace.
func (s *Session) NewTerminal(ctx context.Context, size runner.TermSize) (*Terminal, error) {
	ls, err := s.Sandbox()
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if len(s.terms) >= s.m.cfg.MaxTerminals {
		s.mu.Unlock()
		return nil, fmt.Errorf("%w: at most %d per session; close one first", ErrTooMany, s.m.cfg.MaxTerminals)
	}
	s.termSeq++
	id := fmt.Sprintf("t%d", s.termSeq)
	gen := s.gen
	s.mu.Unlock()
	if size.Cols == 0 || size.Rows == 0 {
		size = runner.TermSize{Cols: 80, Rows: 24}
	}
	// The shell lives as long as the session, not as long as the request.
	tty, err := ls.Shell(context.WithoutCancel(ctx), size)
	if err != nil {
		return nil, fmt.Errorf("open a shell: %w", err)
	}
	t := &Terminal{ID: id, Title: "Terminal " + id[1:], s: s, tty: tty, limit: s.m.cfg.Scrollback, subs: map[*outbox[TermOutput]]struct{}{}}
	s.mu.Lock()
	if s.gen != gen {
		s.mu.Unlock()
		tty.Close()
		return nil, ErrNotRunning
	}
	s.terms[id] = t
	v := s.viewLocked()
	s.publishLocked(Message{Event: runner.Event{Type: MsgSession}, Session: &v})
	s.mu.Unlock()
	go t.pump()
	s.Touch()
	return t, nil
}

// Terminal returns one of the session's terminals.
func (s *Session) Terminal(id string) (*Terminal, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.terms[id]
	if !ok {
		return nil, ErrNoTerminal
	}
	return t, nil
}

// pump copies the shell's output to the ring and the subscribers until
// the shell ends.
func (t *Terminal) pump() {
	buf := make([]byte, 32<<10)
	for {
		n, err := t.tty.Read(buf)
		if n > 0 {
			// Exactly n long, so that an attachment that merges onto it
			// copies it rather than writing past it into a shared array.
			data := make([]byte, n)
			copy(data, buf)
			t.mu.Lock()
			t.ring = append(t.ring, data...)
			// Trim only at twice the limit, so a fast stream does not copy
			// the whole ring for every chunk.
			if len(t.ring) > 2*t.limit {
				t.ring = append(t.ring[:0:0], t.ring[len(t.ring)-t.limit:]...)
			}
			t.sendLocked(TermOutput{Data: data})
			t.mu.Unlock()
		}
		if err != nil {
			break
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	code, err := t.tty.Wait(ctx)
	cancel()
	if err != nil && !errors.Is(err, io.EOF) {
		code = -1
	}
	t.mu.Lock()
	t.exited, t.code = true, code
	t.sendLocked(TermOutput{Exited: true, Code: code})
	for o := range t.subs {
		o.finish()
	}
	t.subs = map[*outbox[TermOutput]]struct{}{}
	t.mu.Unlock()
	s := t.s
	s.mu.Lock()
	if s.terms[t.ID] == t {
		delete(s.terms, t.ID)
		v := s.viewLocked()
		s.publishLocked(Message{Event: runner.Event{Type: MsgSession}, Session: &v})
	}
	s.mu.Unlock()
}

func (t *Terminal) sendLocked(out TermOutput) {
	for o := range t.subs {
		if !o.push(out) {
			// Too slow to keep up: dropped; it reconnects and replays.
			delete(t.subs, o)
		}
	}
}

// MaxPendingOutput bounds the output one attachment may leave waiting
// (what it has not taken yet, including the piece being handed over); an
// attachment that would pass it is dropped.
const MaxPendingOutput = 256 << 10

// maxChunk bounds the pieces of output pending pieces are merged into.
const maxChunk = 32 << 10

func termOutputSize(o TermOutput) int { return len(o.Data) }

// mergeOutput joins output that waits into pieces of up to maxChunk.
func mergeOutput(last, next TermOutput) (TermOutput, bool) {
	if last.Exited || next.Exited || len(last.Data)+len(next.Data) > maxChunk {
		return last, false
	}
	last.Data = append(last.Data, next.Data...)
	return last, true
}

// Attach returns the recent output (to replay) and a channel of what
// follows; the channel closes when the shell ends (after an Exited
// message) or when the attachment falls behind: when more than
// [MaxPendingOutput] bytes of output wait for it. detach ends it.
func (t *Terminal) Attach() (replay []byte, out <-chan TermOutput, detach func()) {
	o := newOutbox(MaxPendingOutput, termOutputSize, mergeOutput)
	t.mu.Lock()
	defer t.mu.Unlock()
	replay = append([]byte(nil), t.ring[max(0, len(t.ring)-t.limit):]...)
	if t.exited {
		o.push(TermOutput{Exited: true, Code: t.code})
		o.finish()
		return replay, o.out, o.drop
	}
	t.subs[o] = struct{}{}
	return replay, o.out, func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		delete(t.subs, o)
		o.drop()
	}
}

// Write sends input to the shell; it counts as activity.
func (t *Terminal) Write(p []byte) (int, error) {
	t.s.Touch()
	return t.tty.Write(p)
}

// Resize changes the terminal's size.
func (t *Terminal) Resize(ctx context.Context, size runner.TermSize) error {
	if size.Cols == 0 || size.Rows == 0 || size.Cols > 1000 || size.Rows > 1000 {
		return fmt.Errorf("terminal size %dx%d: columns and rows must be 1–1000", size.Cols, size.Rows)
	}
	return t.tty.Resize(ctx, size)
}

// close ends the shell.
func (t *Terminal) close() { t.tty.Close() }
