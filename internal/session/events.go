package session

import (
	"encoding/json"
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

// MaxPendingEvents bounds the messages one subscriber may leave waiting,
// in bytes (roughly, as JSON); a subscriber that would pass it is dropped.
// It is above a checker's longest line (256 KiB).
const MaxPendingEvents = 1 << 20

// Subscribe returns a channel of the session's messages, starting with its
// current view. A subscriber that falls behind (more than
// [MaxPendingEvents] waiting for it) is dropped: its channel is closed.
// cancel ends the subscription.
func (s *Session) Subscribe() (ch <-chan Message, cancel func()) {
	o := newOutbox(MaxPendingEvents, messageSize, nil)
	s.mu.Lock()
	v := s.viewLocked()
	o.push(Message{Event: runner.Event{Type: MsgSession}, Session: &v})
	s.subs[o] = struct{}{}
	s.mu.Unlock()
	return o.out, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.subs, o)
		o.drop()
	}
}

// messageSize estimates the memory a message holds: its text, its data
// as JSON, and a fixed part for the rest.
func messageSize(m Message) int {
	n := 256 + len(m.Run) + len(m.Service) + len(m.Step) + len(m.Title) + len(m.Message) + len(m.Hint) + len(m.Name) + len(m.Unit)
	if m.Data != nil {
		if b, err := json.Marshal(m.Data); err == nil {
			n += len(b)
		}
	}
	if v := m.Session; v != nil {
		n += len(v.Error) + len(v.Advice) + 64*(len(v.Services)+len(v.Terminals))
	}
	return n
}

// publishLocked sends msg to every subscriber; s.mu is held.
func (s *Session) publishLocked(msg Message) {
	if msg.Time.IsZero() {
		msg.Time = time.Now().UTC()
	}
	for o := range s.subs {
		if !o.push(msg) {
			delete(s.subs, o)
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
