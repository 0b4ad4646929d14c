package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/backlab/backlab/internal/ids"
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
	// ErrGone: the session was replaced by a newer one of the same lab.
	ErrGone = errors.New("session: replaced by a newer session of the lab")
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
	// MaxLifetime is the longest a sandbox runs, however active: keepalive
	// and activity do not extend it. Zero: 4 hours; negative: no maximum.
	// A reset or a new session starts a sandbox with a lifetime of its own.
	MaxLifetime time.Duration
	// LifetimeWarning is how long before MaxLifetime ends the sandbox the
	// page is warned; zero: 10 minutes (at most half the lifetime).
	LifetimeWarning time.Duration
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

// DefaultMaxLifetime is the longest a sandbox runs unless configured.
const DefaultMaxLifetime = 4 * time.Hour

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
	switch {
	case cfg.MaxLifetime == 0:
		cfg.MaxLifetime = DefaultMaxLifetime
	case cfg.MaxLifetime < 0:
		cfg.MaxLifetime = 0
	}
	if cfg.LifetimeWarning <= 0 {
		cfg.LifetimeWarning = 10 * time.Minute
	}
	cfg.LifetimeWarning = min(cfg.LifetimeWarning, cfg.MaxLifetime/2)
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

// EndSessions stops the user's live sessions of the labs keep does not
// keep, recording reason, and returns how many it stopped; e.g. the
// sessions of labs a learner no longer sees.
func (m *Manager) EndSessions(userID string, keep func(labID string) bool, reason string) int {
	m.mu.Lock()
	var end []*Session
	for _, s := range m.sessions {
		if s.UserID == userID && s.alive() && !keep(s.Lab.ID) {
			end = append(end, s)
		}
	}
	m.mu.Unlock()
	for _, s := range end {
		m.log.Info("session ended", "session", s.ID, "lab", s.Lab.ID, "user", userID, "reason", reason)
		s.Stop(store.StateStopped, reason)
	}
	return len(end)
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
	s = &Session{
		ID: ids.New(ids.Session), UserID: userID, Lab: l, Created: now, m: m,
		terms: map[string]*Terminal{}, subs: map[*outbox[Message]]struct{}{},
	}
	err = m.launchLocked(s, now, func() error {
		if err := m.cfg.Store.CreateSession(ctx, store.Session{ID: s.ID, UserID: userID, LabID: labID, State: store.StateStarting, Created: now}); err != nil {
			return err
		}
		// Ended sessions of this user and lab are no longer needed in
		// memory: the store keeps their record.
		for id, old := range m.sessions {
			if old.UserID == userID && old.Lab.ID == labID {
				delete(m.sessions, id)
			}
		}
		m.sessions[s.ID] = s
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return s, true, nil
}

// reset replaces s's sandbox with a fresh one, once admitted like any
// other start.
func (m *Manager) reset(s *Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if cur, ok := m.sessions[s.ID]; !ok || cur != s {
		return fmt.Errorf("session %s: %w", s.ID, ErrGone)
	}
	return m.launchLocked(s, time.Now(), func() error {
		s.Stop("", "")
		return nil
	})
}
