// Package session runs learners' lab sessions for the web server: one
// sandbox per session, started in the background with its progress
// published, terminals that survive a dropped connection (with their
// recent output kept for replay), check runs recorded in the store and
// streamed as they happen, and an idle timeout that warns before it stops
// a sandbox.
package session

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/backlab/backlab/internal/lab"
	"github.com/backlab/backlab/internal/labrun"
	"github.com/backlab/backlab/internal/store"
	"github.com/backlab/backlab/runner"
)

// ServiceState is how far one service of a starting sandbox got.
type ServiceState struct {
	Name  string `json:"name"`
	State string `json:"state"` // waiting, starting, ready
}

// Session is one learner's session on one lab.
type Session struct {
	ID      string
	UserID  string
	Lab     *lab.Lab
	Created time.Time
	m       *Manager

	mu       sync.Mutex
	state    string
	errMsg   string
	advice   string
	services []ServiceState
	run      *labrun.Run
	gen      int                // bumps on every start and stop
	ctx      context.Context    // lives as long as the current sandbox
	cancel   context.CancelFunc // ends ctx: the start and checks
	stopping chan struct{}      // closed when the last sandbox is removed
	expires  time.Time          // the idle stop, moved on by activity
	warned   bool
	endsAt   time.Time // the end of the sandbox's lifetime (zero: none)
	lifeWarn bool      // the page was warned of endsAt
	terms    map[string]*Terminal
	termSeq  int
	checking bool
	subs     map[*outbox[Message]]struct{}
}

// View is what the API shows of a session.
type View struct {
	ID                 string         `json:"id"`
	Lab                string         `json:"lab"`
	State              string         `json:"state"`
	Error              string         `json:"error,omitempty"`
	Advice             string         `json:"advice,omitempty"`
	Services           []ServiceState `json:"services"`
	Created            time.Time      `json:"created_at"`
	Expires            time.Time      `json:"expires_at,omitzero"`
	EndsAt             time.Time      `json:"ends_at,omitzero"`
	IdleTimeoutSeconds int            `json:"idle_timeout_seconds"`
	Terminals          []TermInfo     `json:"terminals"`
	Checking           bool           `json:"checking"`
}

// TermInfo names a terminal.
type TermInfo struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// View returns the session's current state.
func (s *Session) View() View {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.viewLocked()
}

func (s *Session) viewLocked() View {
	v := View{
		ID: s.ID, Lab: s.Lab.ID, State: s.state, Error: s.errMsg, Advice: s.advice,
		Services: append([]ServiceState{}, s.services...), Created: s.Created,
		IdleTimeoutSeconds: int(s.m.cfg.IdleTimeout / time.Second), Terminals: []TermInfo{}, Checking: s.checking,
	}
	if s.state == store.StateReady {
		v.Expires, v.EndsAt = s.expiresLocked(), s.endsAt
	}
	for _, t := range s.terms {
		v.Terminals = append(v.Terminals, TermInfo{ID: t.ID, Title: t.Title})
	}
	sort.Slice(v.Terminals, func(i, j int) bool { return v.Terminals[i].ID < v.Terminals[j].ID })
	return v
}

func (s *Session) alive() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state == store.StateStarting || s.state == store.StateReady
}

// setStateLocked records and announces a new state; s.mu is held.
func (s *Session) setStateLocked(state, errMsg, advice string) {
	s.state, s.errMsg, s.advice = state, errMsg, advice
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.m.ctx), 10*time.Second)
	defer cancel()
	if err := s.m.cfg.Store.SetSessionState(ctx, s.ID, state, errMsg); err != nil {
		s.m.log.Error("record session state", "session", s.ID, "state", state, "err", err)
	}
	v := s.viewLocked()
	s.publishLocked(Message{Event: runner.Event{Type: MsgSession}, Session: &v})
}

// start brings up a fresh sandbox in the background; only
// [Manager.launchLocked] calls it, after admission.
func (s *Session) start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	gen := s.gen
	ctx, cancel := context.WithCancel(s.m.ctx)
	s.ctx, s.cancel = ctx, cancel
	s.services = s.services[:0]
	for _, svc := range s.Lab.Services {
		s.services = append(s.services, ServiceState{Name: svc.Name, State: "waiting"})
	}
	s.warned, s.lifeWarn, s.endsAt = false, false, time.Time{}
	prev := s.stopping
	s.setStateLocked(store.StateStarting, "", "")
	go s.provision(ctx, gen, prev)
}

func (s *Session) provision(ctx context.Context, gen int, prev chan struct{}) {
	if prev != nil {
		select {
		case <-prev:
		case <-ctx.Done():
			return
		}
	}
	r := s.m.cfg.Runner
	progress := &lineWriter{fn: func(line string) {
		s.publish(Message{Event: runner.Event{Type: MsgImageProgress, Message: line}})
	}}
	r.Images = func(ctx context.Context, l *lab.Lab) (runner.ImageSet, error) {
		return s.m.cfg.Images(ctx, l, progress)
	}
	start := time.Now()
	ls, err := r.Start(ctx, s.Lab, s.ID, func(ev runner.Event) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.gen != gen {
			return
		}
		for i := range s.services {
			if s.services[i].Name != ev.Service {
				continue
			}
			switch ev.Type {
			case runner.EventServiceStarting:
				s.services[i].State = "starting"
			case runner.EventServiceReady:
				s.services[i].State = "ready"
			}
		}
		s.publishLocked(Message{Event: ev})
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen != gen {
		// Stopped or reset while starting: this sandbox is not wanted.
		if ls != nil {
			go s.remove(ls, nil)
		}
		return
	}
	if err != nil {
		s.m.cfg.Observer.Provisioned(s.Lab.ID, store.StateFailed, time.Since(start))
		s.m.log.Warn("sandbox failed to start", "session", s.ID, "lab", s.Lab.ID, "err", err)
		s.setStateLocked(store.StateFailed, plainError(err), Advice(err))
		return
	}
	s.m.cfg.Observer.Provisioned(s.Lab.ID, store.StateReady, time.Since(start))
	s.m.log.Info("session ready", "session", s.ID, "lab", s.Lab.ID, "duration", time.Since(start).Round(time.Millisecond))
	s.run = ls
	now := time.Now()
	s.expires = now.Add(s.m.cfg.IdleTimeout)
	if s.m.cfg.MaxLifetime > 0 {
		s.endsAt = now.Add(s.m.cfg.MaxLifetime)
	}
	s.setStateLocked(store.StateReady, "", "")
}

// Reset replaces the sandbox with a fresh one from the lab's images; the
// session keeps its id, hints and check history. A reset starts a
// sandbox, so it passes the same admission as opening a lab: a
// [LimitError] refuses it and leaves the session as it was.
func (s *Session) Reset() error {
	return s.m.reset(s)
}

// Stop ends the session's sandbox and records state (stopped or expired;
// empty: keep the state for a restart that follows at once).
func (s *Session) Stop(state, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	if s.cancel != nil {
		s.cancel()
	}
	for _, t := range s.terms {
		t.close()
	}
	s.terms = map[string]*Terminal{}
	s.checking = false
	done := make(chan struct{})
	prev := s.stopping
	s.stopping = done
	old := s.run
	s.run = nil
	go func() {
		if prev != nil {
			<-prev
		}
		s.remove(old, done)
	}()
	if state != "" {
		s.setStateLocked(state, reason, "")
	}
}

func (s *Session) waitStopped() {
	s.mu.Lock()
	ch := s.stopping
	s.mu.Unlock()
	if ch != nil {
		<-ch
	}
}

// remove stops a sandbox and closes done when it is gone.
func (s *Session) remove(ls *labrun.Run, done chan struct{}) {
	if done != nil {
		defer close(done)
	}
	if ls == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.m.ctx), time.Minute)
	defer cancel()
	if err := ls.Stop(ctx); err != nil {
		s.m.log.Warn("remove sandbox", "session", s.ID, "err", err)
	}
}

// Touch records activity: the idle timeout starts again, up to the end
// of the sandbox's lifetime. It returns when the sandbox now stops (zero
// when it is not running).
func (s *Session) Touch() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != store.StateReady {
		return time.Time{}
	}
	s.expires = time.Now().Add(s.m.cfg.IdleTimeout)
	if s.warned {
		s.warned = false
		v := s.viewLocked()
		s.publishLocked(Message{Event: runner.Event{Type: MsgSession}, Session: &v})
	}
	return s.expiresLocked()
}

// expiresLocked is when the sandbox stops unless there is activity: the
// idle stop or the end of its lifetime, whichever comes first; s.mu is
// held.
func (s *Session) expiresLocked() time.Time {
	if !s.endsAt.IsZero() && s.endsAt.Before(s.expires) {
		return s.endsAt
	}
	return s.expires
}

// MsgLifetimeEnding warns that the sandbox reaches its maximum lifetime:
// ExpiresAt says when it stops; activity cannot put that off.
const MsgLifetimeEnding runner.EventType = "session.lifetime"

// idle warns before the end of the sandbox's lifetime and stops it then,
// even with a check running; and warns before the idle timeout and stops
// the session at it, unless a check runs.
func (s *Session) idle(now time.Time) {
	s.mu.Lock()
	if s.state != store.StateReady {
		s.mu.Unlock()
		return
	}
	if end := s.endsAt; !end.IsZero() {
		if !now.Before(end) {
			s.mu.Unlock()
			s.m.log.Info("session reached its maximum lifetime, stopping", "session", s.ID, "lifetime", s.m.cfg.MaxLifetime)
			s.Stop(store.StateExpired, fmt.Sprintf("stopped at its maximum lifetime of %s; open the lab again for a fresh sandbox", lifetime(s.m.cfg.MaxLifetime)))
			return
		}
		if !s.lifeWarn && !now.Before(end.Add(-s.m.cfg.LifetimeWarning)) {
			s.lifeWarn = true
			s.publishLocked(Message{Event: runner.Event{Type: MsgLifetimeEnding}, ExpiresAt: end})
		}
	}
	expires := s.expires
	if s.checking || (!s.endsAt.IsZero() && !expires.Before(s.endsAt)) {
		// A check counts as activity; and an idle stop after the end of
		// the lifetime never comes.
		s.mu.Unlock()
		return
	}
	if now.Before(expires) {
		if !s.warned && now.After(expires.Add(-s.m.cfg.IdleWarning)) {
			s.warned = true
			s.publishLocked(Message{Event: runner.Event{Type: MsgExpiring}, ExpiresAt: expires})
		}
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	s.m.log.Info("session idle, stopping", "session", s.ID)
	s.Stop(store.StateExpired, fmt.Sprintf("stopped after %s without activity", s.m.cfg.IdleTimeout))
}

// lifetime writes a duration as people read it: 4h, 1h30m, 20s.
func lifetime(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Sandbox returns the running sandbox, or ErrNotRunning.
func (s *Session) Sandbox() (*labrun.Run, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != store.StateReady || s.run == nil {
		return nil, ErrNotRunning
	}
	return s.run, nil
}
