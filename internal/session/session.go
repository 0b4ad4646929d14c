// Package session runs learners' lab sessions for the web server: one
// sandbox per session, started in the background with its progress
// published, terminals that survive a dropped connection (with their
// recent output kept for replay), check runs recorded in the store and
// streamed as they happen, and an idle timeout that warns before it stops
// a sandbox.
package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/backlab/backlab/internal/lab"
	"github.com/backlab/backlab/internal/labrun"
	"github.com/backlab/backlab/internal/store"
	"github.com/backlab/backlab/runner"
)

// Errors the manager returns.
var (
	ErrNoLab        = errors.New("session: no such lab")
	ErrNotRunning   = errors.New("session: the sandbox is not running")
	ErrCheckRunning = errors.New("session: a check is already running")
	ErrNoTerminal   = errors.New("session: no such terminal")
	ErrTooMany      = errors.New("session: too many terminals")
)

// ImagesFunc resolves a lab's images, building missing ones and writing
// the build's output to progress.
type ImagesFunc func(ctx context.Context, l *lab.Lab, progress io.Writer) (runner.ImageSet, error)

// Config configures a [Manager].
type Config struct {
	// Runner starts sandboxes; its Images field is replaced per session by
	// Images.
	Runner labrun.Runner
	Images ImagesFunc
	Store  *store.Store
	Labs   []*lab.Lab
	// IdleTimeout stops a session without activity; zero: 30 minutes.
	IdleTimeout time.Duration
	// IdleWarning is how long before the stop the page is warned; zero:
	// 2 minutes (at most half the timeout).
	IdleWarning time.Duration
	// Scrollback is how many recent bytes of each terminal are kept for
	// replay; zero: 256 KiB.
	Scrollback int
	// MaxTerminals bounds the terminals of one session; zero: 8.
	MaxTerminals int
	// Limits bound what learners may start.
	Limits Limits
	// DiskFree reports the free bytes of the engine's disk, for
	// Limits.MinFreeDisk; nil skips that check.
	DiskFree func() (int64, error)
	// Observer, when set, is told how sandbox starts and checks went.
	Observer Observer
	Log      *slog.Logger
}

// Observer records what sessions do, e.g. as metrics.
type Observer interface {
	// Provisioned: a sandbox start ended with outcome ready or failed.
	Provisioned(lab, outcome string, d time.Duration)
	// Checked: a check run ended with outcome passed, failed, error or timeout.
	Checked(lab, outcome string, d time.Duration)
}

type noObserver struct{}

func (noObserver) Provisioned(string, string, time.Duration) {}
func (noObserver) Checked(string, string, time.Duration)     {}

// Manager holds the live sessions of a server.
type Manager struct {
	cfg  Config
	labs map[string]*lab.Lab
	log  *slog.Logger
	ctx  context.Context // ends when the server stops

	limits Limits

	mu       sync.Mutex
	sessions map[string]*Session
	starts   map[string][]time.Time // recent session creations by user
}

// New returns a manager; call [Manager.Run] to enforce idle timeouts and
// to stop every sandbox when the server ends.
func New(ctx context.Context, cfg Config) *Manager {
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 30 * time.Minute
	}
	if cfg.IdleWarning <= 0 {
		cfg.IdleWarning = 2 * time.Minute
	}
	cfg.IdleWarning = min(cfg.IdleWarning, cfg.IdleTimeout/2)
	if cfg.Scrollback <= 0 {
		cfg.Scrollback = 256 << 10
	}
	if cfg.MaxTerminals <= 0 {
		cfg.MaxTerminals = 8
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Observer == nil {
		cfg.Observer = noObserver{}
	}
	m := &Manager{cfg: cfg, labs: map[string]*lab.Lab{}, log: cfg.Log, ctx: ctx, sessions: map[string]*Session{},
		starts: map[string][]time.Time{}, limits: cfg.Limits.withDefaults()}
	for _, l := range cfg.Labs {
		m.labs[l.ID] = l
	}
	return m
}

// Labs returns the catalog in id order.
func (m *Manager) Labs() []*lab.Lab {
	out := make([]*lab.Lab, 0, len(m.labs))
	for _, l := range m.labs {
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Lab returns one lab of the catalog.
func (m *Manager) Lab(id string) (*lab.Lab, bool) {
	l, ok := m.labs[id]
	return l, ok
}

// IdleTimeout is the configured idle timeout.
func (m *Manager) IdleTimeout() time.Duration { return m.cfg.IdleTimeout }

// Run enforces idle timeouts until ctx ends, then stops every sandbox.
func (m *Manager) Run(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			m.stopAll()
			return
		case now := <-tick.C:
			for _, s := range m.live() {
				s.idle(now)
			}
		}
	}
}

func (m *Manager) live() []*Session {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*Session, 0, len(m.sessions))
	for _, s := range m.sessions {
		out = append(out, s)
	}
	return out
}

func (m *Manager) stopAll() {
	var wg sync.WaitGroup
	for _, s := range m.live() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.Stop(store.StateStopped, "the server stopped")
			s.waitStopped()
		}()
	}
	wg.Wait()
}

// Counts returns how many sessions this server holds in each state.
func (m *Manager) Counts() map[string]int {
	out := map[string]int{}
	for _, s := range m.live() {
		out[s.View().State]++
	}
	return out
}

// Get returns a session this server holds (live or ended since it began).
func (m *Manager) Get(id string) (*Session, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[id]
	return s, ok
}

// Live returns the user's live (starting or ready) session on labID, or
// nil.
func (m *Manager) Live(userID, labID string) *Session {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.liveLocked(userID, labID)
}

// liveLocked is Live with m.mu held.
func (m *Manager) liveLocked(userID, labID string) *Session {
	for _, s := range m.sessions {
		if s.UserID == userID && s.Lab.ID == labID && s.alive() {
			return s
		}
	}
	return nil
}

// Open returns the user's live session on labID, or starts a new one
// (created is then true).
func (m *Manager) Open(ctx context.Context, userID, labID string) (s *Session, created bool, err error) {
	l, ok := m.labs[labID]
	if !ok {
		return nil, false, fmt.Errorf("%w: %q", ErrNoLab, labID)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.liveLocked(userID, labID); s != nil {
		return s, false, nil
	}
	now := time.Now()
	if err := m.admitLocked(userID, l, now); err != nil {
		return nil, false, err
	}
	m.starts[userID] = append(m.starts[userID], now)
	s = &Session{
		ID: labrun.NewSessionID("s-"), UserID: userID, Lab: l, Created: now, m: m,
		terms: map[string]*Terminal{}, subs: map[chan Message]struct{}{},
	}
	if err := m.cfg.Store.CreateSession(ctx, store.Session{ID: s.ID, UserID: userID, LabID: labID, State: store.StateStarting, Created: now}); err != nil {
		return nil, false, err
	}
	// Ended sessions of this user and lab are no longer needed in memory:
	// the store keeps their record.
	for id, old := range m.sessions {
		if old.UserID == userID && old.Lab.ID == labID {
			delete(m.sessions, id)
		}
	}
	m.sessions[s.ID] = s
	s.start()
	return s, true, nil
}

// ServiceState is how far one service of a starting sandbox got.
type ServiceState struct {
	Name  string `json:"name"`
	State string `json:"state"` // waiting, starting, ready
}

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
	sess     *labrun.Session
	gen      int                // bumps on every start and stop
	ctx      context.Context    // lives as long as the current sandbox
	cancel   context.CancelFunc // ends ctx: the start and checks
	stopping chan struct{}      // closed when the last sandbox is removed
	expires  time.Time
	warned   bool
	terms    map[string]*Terminal
	termSeq  int
	checking bool
	subs     map[chan Message]struct{}
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
		v.Expires = s.expires
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

// start brings up a fresh sandbox in the background.
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
	s.warned = false
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
	s.sess = ls
	s.expires = time.Now().Add(s.m.cfg.IdleTimeout)
	s.setStateLocked(store.StateReady, "", "")
}

// Reset replaces the sandbox with a fresh one from the lab's images; the
// session keeps its id, hints and check history.
func (s *Session) Reset() {
	s.Stop("", "")
	s.start()
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
	old := s.sess
	s.sess = nil
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
func (s *Session) remove(ls *labrun.Session, done chan struct{}) {
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

// Touch records activity: the idle timeout starts again.
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
	return s.expires
}

// idle warns before the idle timeout and stops the session at it.
func (s *Session) idle(now time.Time) {
	s.mu.Lock()
	if s.state != store.StateReady || s.checking {
		s.mu.Unlock()
		return
	}
	expires := s.expires
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

// Sandbox returns the running sandbox, or ErrNotRunning.
func (s *Session) Sandbox() (*labrun.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != store.StateReady || s.sess == nil {
		return nil, ErrNotRunning
	}
	return s.sess, nil
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

// plainError turns a start error into words for the page.
func plainError(err error) string {
	return "The sandbox did not start: " + err.Error()
}

// Advice says what a learner or admin can do about err.
func Advice(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "Cannot connect to the Docker daemon") || strings.Contains(msg, "docker.sock") || strings.Contains(msg, "connection refused") && strings.Contains(msg, "docker"):
		return "The server cannot reach the Docker engine. Start it (bash scripts/engine.sh as root), then press Retry."
	case errors.Is(err, runner.ErrImageMissing) || strings.Contains(msg, "build "):
		return "Building the lab's images failed. Run `backlab images build labs/` on the server to see why, then press Retry."
	case errors.Is(err, context.DeadlineExceeded) || strings.Contains(msg, "not ready"):
		return "A service of the sandbox did not become ready in time. Press Retry; if it happens again, tell your instructor (the server log has the service's last lines)."
	default:
		return "Press Retry. If it fails again, tell your instructor; the server log has the details."
	}
}
