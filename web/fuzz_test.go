package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/backlab/backlab/internal/auth"
	"github.com/backlab/backlab/internal/labrun"
	"github.com/backlab/backlab/internal/session"
	"github.com/backlab/backlab/internal/store"
	"github.com/backlab/backlab/internal/testenv"
)

// relayTB is the testing.TB a fuzz target's server is built with: the
// OpenAPI check of every response (validateAPI) reports to the iteration
// that sent the request instead of to the *testing.F, which may not fail
// inside the fuzz function.
type relayTB struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *relayTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// take returns and forgets what was reported since the last take.
func (r *relayTB) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	errs := r.errs
	r.errs = nil
	return errs
}

// fuzzTarget is a server with logins on the fake driver, as a fuzz target
// sees it: an admin logged in with a cohort, an invite, a ready session
// and a terminal, and a visitor who is not logged in.
type fuzzTarget struct {
	ts          *testServer
	relay       *relayTB
	admin, anon *http.Client
	adminCSRF   string
	anonCSRF    string
	cid, invite string
	sid, termWS string
}

func newFuzzTarget(f *testing.F) *fuzzTarget {
	f.Helper()
	relay := &relayTB{TB: f}
	l := testenv.ScaffoldLab(f, "web-test")
	fake := testenv.NewFakeLabs(f, l)
	var st *store.Store
	ts := newServerWith(relay, labrun.Runner{Driver: fake.Driver, Instance: "fake"}, fake.Images, l,
		func(_ *session.Config, c *Config) { c.Auth, st = true, c.Store })
	hash, err := auth.HashPassword("ada-password-1")
	if err != nil {
		f.Fatal(err)
	}
	if err := st.CreateAccount(f.Context(), store.Account{User: store.User{ID: "u-ada", Name: "Ada", Role: store.RoleAdmin}, Login: "ada", PasswordHash: hash}); err != nil {
		f.Fatal(err)
	}
	ft := &fuzzTarget{ts: ts, relay: relay}
	ft.anon, ft.anonCSRF = ts.cl, ts.csrf
	ft.admin, ft.adminCSRF = ts.browser(f)
	must := func(method, path, body string, want int) map[string]any {
		status, m, raw := ft.send(f, ft.admin, ft.adminCSRF, method, path, body)
		if status != want {
			f.Fatalf("%s %s = %d %s, want %d", method, path, status, raw, want)
		}
		return m
	}
	must("POST", "/api/login", `{"login":"ada","password":"ada-password-1"}`, 200)
	ft.cid = must("POST", "/api/cohorts", `{"name":"Fuzz cohort"}`, 201)["id"].(string)
	ft.invite = must("POST", "/api/cohorts/"+ft.cid+"/invites", `{"role":"learner"}`, 201)["code"].(string)
	ft.sid = must("POST", "/api/sessions", `{"lab":"web-test"}`, 201)["id"].(string)
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		if m := must("GET", "/api/sessions/"+ft.sid, "", 200); m["state"] == "ready" {
			break
		}
		if time.Now().After(deadline) {
			f.Fatal("the session is not ready after a minute")
		}
	}
	tid := must("POST", "/api/sessions/"+ft.sid+"/terminals", "", 201)["id"].(string)
	ft.termWS = "/api/sessions/" + ft.sid + "/terminals/" + tid + "/ws"
	relay.take()
	return ft
}

// send is ts.do as the given browser.
func (ft *fuzzTarget) send(t testing.TB, cl *http.Client, csrf, method, path, body string) (int, map[string]any, []byte) {
	t.Helper()
	saved, savedCSRF := ft.ts.cl, ft.ts.csrf
	ft.ts.cl, ft.ts.csrf = cl, csrf
	defer func() { ft.ts.cl, ft.ts.csrf = saved, savedCSRF }()
	return ft.ts.do(t, method, path, body, map[string]string{"Content-Type": "application/json"})
}

// bodyRoutes are the endpoints that read a JSON body, each sent by the
// visitor (anon) or the admin.
var bodyRoutes = []struct {
	method, path string
	anon         bool
}{
	{"POST", "/api/login", true},
	{"POST", "/api/signup", true},
	{"POST", "/api/invites/{code}/join", false},
	{"POST", "/api/me/password", false},
	{"POST", "/api/cohorts", false},
	{"PATCH", "/api/cohorts/{cid}", false},
	{"PUT", "/api/cohorts/{cid}/labs", false},
	{"POST", "/api/cohorts/{cid}/invites", false},
	{"POST", "/api/sessions", false},
	{"PUT", "/api/sessions/{sid}/file?path=notes.txt", false},
}

// FuzzAPIBodies sends arbitrary bodies to every endpoint that reads JSON
// (route picks one of bodyRoutes). Whatever the body: no 5xx, an error
// answer is JSON with a non-empty "error", and every answer matches
// web/openapi.json.
func FuzzAPIBodies(f *testing.F) {
	ft := newFuzzTarget(f)
	f.Fuzz(func(t *testing.T, route uint8, body string) {
		rt := bodyRoutes[int(route)%len(bodyRoutes)]
		path := strings.NewReplacer("{code}", ft.invite, "{cid}", ft.cid, "{sid}", ft.sid).Replace(rt.path)
		cl, csrf := ft.admin, ft.adminCSRF
		if rt.anon {
			cl, csrf = ft.anon, ft.anonCSRF
		}
		status, _, raw := ft.send(t, cl, csrf, rt.method, path, body)
		for _, e := range ft.relay.take() {
			t.Errorf("%s %s %q: %s", rt.method, path, body, e)
		}
		if status >= 500 {
			t.Fatalf("%s %s %q = %d %s", rt.method, path, body, status, raw)
		}
		if status >= 400 {
			var e struct {
				Error string `json:"error"`
			}
			if err := json.Unmarshal(raw, &e); err != nil || strings.TrimSpace(e.Error) == "" {
				t.Fatalf("%s %s %q = %d with %q; want JSON with an \"error\"", rt.method, path, body, status, raw)
			}
		}
	})
}

// dialTerminal opens the target's terminal socket as the admin's page.
func (ft *fuzzTarget) dialTerminal(t testing.TB) *websocket.Conn {
	t.Helper()
	u := "ws" + strings.TrimPrefix(ft.ts.URL, "http") + ft.termWS
	d := websocket.Dialer{Subprotocols: []string{TerminalProtocol}, HandshakeTimeout: 10 * time.Second, Jar: ft.admin.Jar}
	c, resp, err := d.Dial(u, http.Header{"Origin": {ft.ts.URL}})
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		t.Fatalf("dial the terminal: %v", err)
	}
	return c
}

// wantControl is what the terminal socket must accept: a JSON resize
// frame within the read limit with 1–1000 columns and rows.
func wantControl(frame []byte) bool {
	var m control
	return len(frame) <= maxInput && json.Unmarshal(frame, &m) == nil && m.Type == "resize" &&
		m.Cols >= 1 && m.Cols <= 1000 && m.Rows >= 1 && m.Rows <= 1000
}

// FuzzTerminalControl sends arbitrary text frames (control frames) on a
// terminal socket, each followed by a line typed as a binary frame. A
// frame that wantControl accepts leaves the socket open (the typed line
// is echoed); any other closes it with CloseBadMessage (or, past the read
// limit, 1009). Nothing else happens: no panic, no other close, no hang.
func FuzzTerminalControl(f *testing.F) {
	ft := newFuzzTarget(f)
	var c *websocket.Conn
	n := 0
	f.Cleanup(func() {
		if c != nil {
			c.Close()
		}
	})
	f.Fuzz(func(t *testing.T, frame []byte) {
		if c == nil {
			c = ft.dialTerminal(t)
		}
		n++
		marker := fmt.Sprintf("m%d", n)
		c.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if err := c.WriteMessage(websocket.TextMessage, frame); err != nil {
			t.Fatalf("send the frame: %v", err)
		}
		// The server may close before it reads this; then the read below
		// finds the close.
		c.WriteMessage(websocket.BinaryMessage, []byte(marker+"\x03"))
		var out strings.Builder
		c.SetReadDeadline(time.Now().Add(20 * time.Second))
		for !strings.Contains(out.String(), marker+"^C") {
			kind, data, err := c.ReadMessage()
			if err != nil {
				c.Close()
				c = nil
				var ce *websocket.CloseError
				if !errors.As(err, &ce) {
					t.Fatalf("frame %q: socket ended without a close frame: %v", frame, err)
				}
				want := CloseBadMessage
				if len(frame) > maxInput {
					want = websocket.CloseMessageTooBig
				}
				if ce.Code != want || wantControl(frame) {
					t.Fatalf("frame %q: closed with %d %q; want it accepted: %v, or closed with %d", frame, ce.Code, ce.Text, wantControl(frame), want)
				}
				return
			}
			if kind == websocket.BinaryMessage {
				out.Write(data)
			}
		}
		if !wantControl(frame) {
			t.Fatalf("frame %q was accepted", frame)
		}
	})
}
