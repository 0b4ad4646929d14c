package session

import (
	"strings"
	"sync"
	"time"

	"github.com/backlab/backlab/runner"
)

// Message is what a session publishes to its subscribers: a runner event
// (provisioning, check steps) tagged with the check run it belongs to, or
// a state change.
type Message struct {
	runner.Event
	Run       string    `json:"run,omitempty"`
	Session   *View     `json:"session,omitempty"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// Message types besides runner's event types.
const (
	MsgSession       runner.EventType = "session"          // Session holds the new view
	MsgImageProgress runner.EventType = "image.progress"   // Message is a line of image build output
	MsgExpiring      runner.EventType = "session.expiring" // ExpiresAt says when the sandbox stops
)

// Subscribe returns a channel of the session's messages, starting with its
// current view. A subscriber that falls behind is dropped: its channel is
// closed. cancel ends the subscription.
func (s *Session) Subscribe() (ch <-chan Message, cancel func()) {
	c := make(chan Message, 256)
	s.mu.Lock()
	v := s.viewLocked()
	c <- Message{Event: runner.Event{Type: MsgSession}, Session: &v}
	s.subs[c] = struct{}{}
	s.mu.Unlock()
	return c, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if _, ok := s.subs[c]; ok {
			delete(s.subs, c)
			close(c)
		}
	}
}

// publishLocked sends msg to every subscriber; s.mu is held.
func (s *Session) publishLocked(msg Message) {
	if msg.Time.IsZero() {
		msg.Time = time.Now().UTC()
	}
	for c := range s.subs {
		select {
		case c <- msg:
		default:
			delete(s.subs, c)
			close(c)
		}
	}
}

func (s *Session) publish(msg Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.publishLocked(msg)
}

// lineWriter calls fn with each complete line written to it.
type lineWriter struct {
	mu  sync.Mutex
	buf []byte
	fn  func(string)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := strings.IndexByte(string(w.buf), '\n')
		if i < 0 {
			break
		}
		if line := strings.TrimSpace(string(w.buf[:i])); line != "" {
			w.fn(line)
		}
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}
