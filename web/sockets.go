package web

import (
	"fmt"
	"net"
	"sync"
)

// SocketLimits bounds the WebSockets (terminals and event streams) open
// at once. A page holds one socket for its session's events and one per
// terminal it shows. A socket past a limit is closed with [CloseTooMany]
// and a reason that says what to close.
type SocketLimits struct {
	// PerUser bounds one user's sockets over all their sessions; zero:
	// the default, negative: no limit.
	PerUser int
	// PerSession bounds one session's sockets; zero: the default,
	// negative: no limit.
	PerSession int
}

// DefaultSocketLimits are the limits when none are given: a session's
// limit lets two pages of a lab show all its terminals (8) at once, a
// user's lets two labs do so.
var DefaultSocketLimits = SocketLimits{PerUser: 40, PerSession: 20}

// sendBuffer is the kernel's send buffer of a WebSocket's connection (the
// kernel doubles it): what waits for a slow page there is bounded too,
// besides what waits in the server (session.MaxPendingOutput,
// session.MaxPendingEvents). It still lets a terminal stream about 2.5
// MB/s to a page 100 ms away.
const sendBuffer = 128 << 10

// sockets counts the open WebSockets of each user and session.
type sockets struct {
	limits SocketLimits

	mu       sync.Mutex
	users    map[string]int
	sessions map[string]int
}

func newSockets(l SocketLimits) *sockets {
	if l.PerUser == 0 {
		l.PerUser = DefaultSocketLimits.PerUser
	}
	if l.PerSession == 0 {
		l.PerSession = DefaultSocketLimits.PerSession
	}
	return &sockets{limits: l, users: map[string]int{}, sessions: map[string]int{}}
}

// acquire counts a socket of user's session, or says why it may not
// open: the reason fits a WebSocket close frame. release, which may be
// called more than once, uncounts it.
func (s *sockets) acquire(user, session string) (release func(), refused string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.limits.PerUser > 0 && s.users[user] >= s.limits.PerUser:
		return nil, fmt.Sprintf("too many open connections: at most %d per user; close other backlab tabs, then reload", s.limits.PerUser)
	case s.limits.PerSession > 0 && s.sessions[session] >= s.limits.PerSession:
		return nil, fmt.Sprintf("too many open connections: at most %d per session; close other tabs of this lab, then reload", s.limits.PerSession)
	}
	s.users[user]++
	s.sessions[session]++
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			uncount(s.users, user)
			uncount(s.sessions, session)
		})
	}, ""
}

// uncount takes one from m[k], forgetting k at zero.
func uncount(m map[string]int, k string) {
	if m[k] <= 1 {
		delete(m, k)
		return
	}
	m[k]--
}

// limitSendBuffer bounds the kernel's send buffer of a hijacked
// connection, when it is TCP.
func limitSendBuffer(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(sendBuffer)
	}
}

// Check says what is wrong with limits given by an admin: each is at
// least 1, or -1 for none.
func (l SocketLimits) Check() error {
	for _, f := range []struct {
		flag string
		n    int
	}{{"--max-sockets-per-user", l.PerUser}, {"--max-sockets-per-session", l.PerSession}} {
		if f.n == 0 || f.n < -1 {
			return fmt.Errorf("%s %d: give at least 1, or -1 for no limit", f.flag, f.n)
		}
	}
	return nil
}
