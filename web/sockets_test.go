package web

import (
	"bytes"
	"errors"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/backlab/backlab/internal/labrun"
	"github.com/backlab/backlab/internal/session"
	"github.com/backlab/backlab/internal/testenv"
	"github.com/backlab/backlab/runner/runnertest"
)

// socketServer serves a scaffolded lab on the fake driver with the given
// WebSocket limits, and opens a session of it that is ready; it returns
// the session's id and the path of a terminal of it.
func socketServer(t *testing.T, limits SocketLimits) (ts *testServer, fake *testenv.FakeLabs, sid, tpath string) {
	t.Helper()
	l := testenv.ScaffoldLab(t, "web-test")
	fake = testenv.NewFakeLabs(t, l)
	ts = newServerWith(t, labrun.Runner{Driver: fake.Driver, Instance: "fake"}, fake.Images, l,
		func(_ *session.Config, c *Config) { c.Sockets = limits })
	status, m, raw := ts.do(t, "POST", "/api/sessions", `{"lab":"web-test"}`, nil)
	if status != 201 {
		t.Fatalf("open = %d %s", status, raw)
	}
	sid = m["id"].(string)
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		if _, m, _ := ts.do(t, "GET", "/api/sessions/"+sid, "", nil); m["state"] == "ready" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the session is not ready after a minute")
		}
	}
	status, m, raw = ts.do(t, "POST", "/api/sessions/"+sid+"/terminals", "", nil)
	if status != 201 {
		t.Fatalf("new terminal = %d %s", status, raw)
	}
	return ts, fake, sid, "/api/sessions/" + sid + "/terminals/" + m["id"].(string) + "/ws"
}

// refusal returns the close error a socket refused for too many
// connections ends with, or nil when the socket stays open (it answers
// its first frame, or for a terminal, a ping).
func refusal(t *testing.T, c *websocket.Conn) *websocket.CloseError {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	defer c.SetReadDeadline(time.Time{})
	_, _, err := c.ReadMessage()
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return ce
	}
	return nil
}

// TestSocketLimits opens more sockets than a user and a session may have
// at once: the one past the limit is closed with CloseTooMany and a
// reason that says what to do; once one closes, another opens.
func TestSocketLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		limits SocketLimits
		open   int    // sockets that open
		says   string // what the refusal says
	}{
		{"per user", SocketLimits{PerUser: 3, PerSession: 10}, 3, "at most 3 per user"},
		{"per session", SocketLimits{PerUser: 10, PerSession: 2}, 2, "at most 2 per session"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts, _, sid, tpath := socketServer(t, tt.limits)
			epath := "/api/sessions/" + sid + "/events"
			var open []*websocket.Conn
			defer func() {
				for _, c := range open {
					c.Close()
				}
			}()
			// Events and terminal sockets count together.
			for i := range tt.open {
				path, proto := epath, EventsProtocol
				if i%2 == 1 {
					path, proto = tpath, TerminalProtocol
				}
				c, err := ts.dial(t, path, proto)
				if err != nil {
					t.Fatal(err)
				}
				if ce := refusal(t, c); ce != nil {
					t.Fatalf("socket %d of %d allowed was refused: %v", i+1, tt.open, ce)
				}
				open = append(open, c)
			}
			for _, try := range []struct{ path, proto string }{{epath, EventsProtocol}, {tpath, TerminalProtocol}} {
				c, err := ts.dial(t, try.path, try.proto)
				if err != nil {
					t.Fatal(err)
				}
				ce := refusal(t, c)
				c.Close()
				if ce == nil || ce.Code != CloseTooMany {
					t.Fatalf("%s socket past the limit: %v, want close %d", try.proto, ce, CloseTooMany)
				}
				if !strings.Contains(ce.Text, tt.says) || !strings.Contains(ce.Text, "close") {
					t.Errorf("refusal reason %q; want it to say %q and what to close", ce.Text, tt.says)
				}
			}
			// A socket that closes frees its place.
			open[0].Close()
			open = open[1:]
			for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
				c, err := ts.dial(t, epath, EventsProtocol)
				if err != nil {
					t.Fatal(err)
				}
				if refusal(t, c) == nil {
					open = append(open, c)
					break
				}
				c.Close()
				if time.Now().After(deadline) {
					t.Fatal("a socket is still refused a minute after another closed")
				}
			}
		})
	}
}

// slowDial opens a WebSocket as a page that reads nothing would, on a
// connection with a small receive buffer, so that what the kernel holds
// for it is small too.
func (ts *testServer) slowDial(t *testing.T, path, proto string) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{Subprotocols: []string{proto}, NetDialContext: (&net.Dialer{
		Control: func(_, _ string, rc syscall.RawConn) error {
			return rc.Control(func(fd uintptr) {
				syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 8<<10)
			})
		},
	}).DialContext}
	c, _, err := d.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+path, map[string][]string{"Origin": {ts.URL}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestSlowTerminalReaderIsClosed floods a terminal whose page does not
// read: the server keeps a bounded amount for it, then closes the socket
// with CloseFellBehind; the page, reconnecting, gets the screen back.
func TestSlowTerminalReaderIsClosed(t *testing.T) {
	t.Parallel()
	ts, fake, sid, tpath := socketServer(t, SocketLimits{})
	fake.Driver.AddCommand("flood", testenv.Flood)
	c := ts.slowDial(t, tpath, TerminalProtocol)
	const flood = 4 << 20
	c.WriteMessage(websocket.BinaryMessage, []byte("flood "+strconv.Itoa(flood)+"\n"))
	sess, _ := ts.m.Get(sid)
	term, err := sess.Terminal(tpath[strings.LastIndex(tpath, "/terminals/")+len("/terminals/") : len(tpath)-len("/ws")])
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		replay, _, detach := term.Attach()
		detach()
		if bytes.Contains(replay, []byte("flood-done")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the flood did not finish within a minute")
		}
	}

	// What reaches the page now is what the server and the kernel held
	// for it: at most the bound of the socket, its send buffer and what
	// this side's kernel took.
	const bound = session.MaxPendingOutput + 2*sendBuffer + 512<<10
	got := 0
	c.SetReadDeadline(time.Now().Add(time.Minute))
	for {
		_, data, err := c.ReadMessage()
		if err != nil {
			if !websocket.IsCloseError(err, CloseFellBehind) {
				t.Errorf("after %d bytes: %v, want close %d (fell behind)", got, err, CloseFellBehind)
			}
			break
		}
		got += len(data)
		if bytes.Contains(data, []byte("flood-done")) {
			t.Fatalf("the page got the whole flood (%d bytes) although it read nothing while it ran", got)
		}
	}
	if got > bound {
		t.Errorf("the page got %d bytes held for it; at most %d should be", got, bound)
	}

	// Reconnecting replays the recent output.
	c2, err := ts.dial(t, tpath, TerminalProtocol)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	readTerm(t, c2, "flood-done")
}

// TestSlowEventsReaderIsClosed runs a check whose checker reports 2 MiB
// of evidence while the page reads none of its events: the server keeps
// a bounded amount for it, then closes the socket with CloseFellBehind.
func TestSlowEventsReaderIsClosed(t *testing.T) {
	t.Parallel()
	ts, fake, sid, _ := socketServer(t, SocketLimits{})
	var steps []runnertest.Step
	for i := range 32 {
		steps = append(steps, runnertest.Step{ID: "step-" + strconv.Itoa(i), Message: strings.Repeat("m", 64<<10)})
	}
	fake.SetChecker(ts.lab, steps...)
	c := ts.slowDial(t, "/api/sessions/"+sid+"/events", EventsProtocol)
	if status, _, raw := ts.do(t, "POST", "/api/sessions/"+sid+"/checks", "", nil); status != 202 {
		t.Fatalf("start check = %d %s", status, raw)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		if _, m, _ := ts.do(t, "GET", "/api/sessions/"+sid, "", nil); m["checking"] == false {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the check still runs after a minute")
		}
	}
	const bound = session.MaxPendingEvents + 2*sendBuffer + 512<<10
	got := 0
	c.SetReadDeadline(time.Now().Add(time.Minute))
	for {
		_, data, err := c.ReadMessage()
		if err != nil {
			if !websocket.IsCloseError(err, CloseFellBehind) {
				t.Errorf("after %d bytes: %v, want close %d (fell behind)", got, err, CloseFellBehind)
			}
			break
		}
		got += len(data)
		if bytes.Contains(data, []byte(`"check.finished"`)) {
			t.Fatalf("the page got every event (%d bytes) although it read nothing while the check ran", got)
		}
	}
	if got > bound {
		t.Errorf("the page got %d bytes held for it; at most %d should be", got, bound)
	}
}

// TestSocketCounts counts sockets over users and sessions: a user's limit
// spans their sessions, another user is not affected, -1 is no limit, and
// releasing twice frees one place.
func TestSocketCounts(t *testing.T) {
	t.Parallel()
	type open struct{ user, session string }
	tests := []struct {
		name    string
		limits  SocketLimits
		opens   []open
		refused []bool
	}{
		{"per user over sessions", SocketLimits{PerUser: 2, PerSession: 5},
			[]open{{"ada", "s1"}, {"ada", "s2"}, {"ada", "s3"}, {"bob", "s4"}},
			[]bool{false, false, true, false}},
		{"per session", SocketLimits{PerUser: 5, PerSession: 1},
			[]open{{"ada", "s1"}, {"ada", "s1"}, {"ada", "s2"}},
			[]bool{false, true, false}},
		{"no limit", SocketLimits{PerUser: -1, PerSession: -1},
			[]open{{"ada", "s1"}, {"ada", "s1"}, {"ada", "s1"}},
			[]bool{false, false, false}},
		{"defaults", SocketLimits{},
			[]open{{"ada", "s1"}}, []bool{false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSockets(tt.limits)
			for i, o := range tt.opens {
				_, refused := s.acquire(o.user, o.session)
				if (refused != "") != tt.refused[i] {
					t.Errorf("open %d (%s, %s): refused %q, want refused %v", i, o.user, o.session, refused, tt.refused[i])
				}
				if len(refused) > 123 {
					t.Errorf("reason %q is longer than a close frame holds", refused)
				}
			}
		})
	}
	s := newSockets(SocketLimits{PerUser: 2, PerSession: 2})
	release, _ := s.acquire("ada", "s1")
	s.acquire("ada", "s1")
	release()
	release()
	if _, refused := s.acquire("ada", "s1"); refused != "" {
		t.Fatalf("after a release: %s", refused)
	}
	if _, refused := s.acquire("ada", "s1"); refused == "" {
		t.Fatal("releasing one socket twice freed two places")
	}
	if s.users["ada"] != 2 || s.sessions["s1"] != 2 {
		t.Errorf("counts = %v %v, want 2 each", s.users, s.sessions)
	}
}
