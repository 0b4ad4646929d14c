package session

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/backlab/backlab/internal/lab"
)

// Limits bound what learners may start. Zero fields take the defaults of
// [DefaultLimits]; a negative field turns that limit off.
type Limits struct {
	// PerUser is how many sandboxes one user may run at once.
	PerUser int
	// Starts is how many sessions one user may create per StartsWindow.
	Starts       int
	StartsWindow time.Duration
	// MaxSandboxes is how many sandboxes the server runs at once.
	MaxSandboxes int
	// MemoryBytes bounds the sum of the memory limits of the running
	// sandboxes' services.
	MemoryBytes int64
	// MinFreeDisk refuses new sandboxes while the engine's disk has less
	// free space (needs Config.DiskFree).
	MinFreeDisk int64
}

// DefaultLimits are the limits a server has unless configured.
var DefaultLimits = Limits{PerUser: 2, Starts: 10, StartsWindow: time.Minute, MaxSandboxes: 20, MinFreeDisk: 2 << 30}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.PerUser == 0 {
		l.PerUser = d.PerUser
	}
	if l.Starts == 0 {
		l.Starts = d.Starts
	}
	if l.StartsWindow <= 0 {
		l.StartsWindow = d.StartsWindow
	}
	if l.MaxSandboxes == 0 {
		l.MaxSandboxes = d.MaxSandboxes
	}
	if l.MinFreeDisk == 0 {
		l.MinFreeDisk = d.MinFreeDisk
	}
	return l
}

// LimitError says why a new session was refused and, for a full server,
// when trying again may work.
type LimitError struct {
	Kind       LimitKind
	Message    string
	RetryAfter time.Duration // zero: not a matter of waiting
}

// LimitKind names which limit refused a start.
type LimitKind string

// Limit kinds.
const (
	LimitPerUser  LimitKind = "per-user"
	LimitRate     LimitKind = "rate"
	LimitCapacity LimitKind = "capacity"
	LimitDisk     LimitKind = "disk"
)

func (e *LimitError) Error() string { return e.Message }

// ErrLimit matches every [LimitError] with errors.Is.
var ErrLimit = errors.New("session: limit reached")

// Is makes errors.Is(err, ErrLimit) hold.
func (e *LimitError) Is(target error) bool { return target == ErrLimit }

// labMemory is the sum of the memory limits of a lab's services.
func labMemory(l *lab.Lab) int64 {
	var sum int64
	for _, svc := range l.Services {
		sum += svc.Resources.Limits().MemoryBytes
	}
	return sum
}

// launchLocked is the one way a sandbox starts: a new session and a reset
// alike. It admits the start against every limit (per user, start rate,
// server-wide count, memory budget, disk floor), then runs prepare (nil:
// nothing; an error refuses the start), records the start and starts s
// in the background, replacing the sandbox s had. A refused start leaves s
// as it was. m.mu is held.
func (m *Manager) launchLocked(s *Session, now time.Time, prepare func() error) error {
	if err := m.admitLocked(s, now); err != nil {
		return err
	}
	if prepare != nil {
		if err := prepare(); err != nil {
			return err
		}
	}
	m.starts[s.UserID] = append(m.starts[s.UserID], now)
	s.start()
	return nil
}

// admitLocked checks the limits for starting a sandbox for s. The
// sandbox s runs now, if any, is the one being replaced, so it does not
// count. m.mu is held.
func (m *Manager) admitLocked(s *Session, now time.Time) error {
	userID, l := s.UserID, s.Lab
	lim := m.limits
	var mine []string
	running := 0
	var memory int64
	var soonest time.Time
	for _, o := range m.sessions {
		if o == s || !o.alive() {
			continue
		}
		running++
		memory += labMemory(o.Lab)
		if o.UserID == userID {
			mine = append(mine, o.Lab.ID)
		}
		if exp := o.View().Expires; !exp.IsZero() && (soonest.IsZero() || exp.Before(soonest)) {
			soonest = exp
		}
	}
	if lim.PerUser > 0 && len(mine) >= lim.PerUser {
		sort.Strings(mine)
		return &LimitError{Kind: LimitPerUser, Message: fmt.Sprintf(
			"you already run %d sandboxes (%s), the most one person may run at once; stop one of them first", len(mine), strings.Join(mine, ", "))}
	}
	if lim.Starts > 0 {
		recent := m.starts[userID][:0]
		for _, t := range m.starts[userID] {
			if now.Sub(t) < lim.StartsWindow {
				recent = append(recent, t)
			}
		}
		m.starts[userID] = recent
		if len(recent) >= lim.Starts {
			wait := lim.StartsWindow - now.Sub(recent[0])
			return &LimitError{Kind: LimitRate, RetryAfter: wait, Message: fmt.Sprintf(
				"you started %d sandboxes in the last %s; try again in %s", len(recent), lim.StartsWindow, wait.Round(time.Second))}
		}
	}
	full := lim.MaxSandboxes > 0 && running >= lim.MaxSandboxes
	if lim.MemoryBytes > 0 && memory+labMemory(l) > lim.MemoryBytes {
		full = true
	}
	if full {
		wait := time.Minute
		if !soonest.IsZero() && soonest.After(now) {
			wait = soonest.Sub(now)
		}
		return &LimitError{Kind: LimitCapacity, RetryAfter: wait, Message: fmt.Sprintf(
			"backlab is full (%d sandboxes running); try again in %s", running, wait.Round(time.Second))}
	}
	if lim.MinFreeDisk > 0 && m.cfg.DiskFree != nil {
		free, err := m.cfg.DiskFree()
		if err == nil && free < lim.MinFreeDisk {
			return &LimitError{Kind: LimitDisk, Message: fmt.Sprintf(
				"the container engine's disk is nearly full (%d MiB free, %d MiB needed): no new sandbox can start until an admin frees space", free>>20, lim.MinFreeDisk>>20)}
		}
	}
	return nil
}
