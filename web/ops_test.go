package web

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/backlab/backlab/internal/labrun"
	"github.com/backlab/backlab/internal/session"
	"github.com/backlab/backlab/internal/testenv"
)

// logBuffer collects a server's log.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// loggedServer starts a server whose log goes to the returned buffer.
func loggedServer(t *testing.T, auth bool) (*testServer, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	ts := newServerWith(t, labrun.Runner{}, nil, testenv.ScaffoldLab(t, "web-test"), func(_ *session.Config, c *Config) {
		c.Log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c.Auth = auth
	})
	return ts, logs
}

// TestInternalErrorsAreGeneric: a 500 tells the caller nothing of the
// store's or the engine's error, only a request id, under which the log
// has the details.
func TestInternalErrorsAreGeneric(t *testing.T) {
	t.Parallel()
	ts, logs := loggedServer(t, false)
	ts.st.Close() // every query now fails with the driver's error
	req, _ := http.NewRequest("GET", ts.URL+"/api/labs", nil)
	resp, err := ts.cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	id := resp.Header.Get("X-Request-Id")
	if resp.StatusCode != 500 {
		t.Fatalf("GET /api/labs with the store closed = %d %s, want 500", resp.StatusCode, raw)
	}
	for _, leak := range []string{"sql", "database", "closed"} {
		if strings.Contains(strings.ToLower(string(raw)), leak) {
			t.Errorf("the 500 body tells the caller the error (%q): %s", leak, raw)
		}
	}
	if id == "" || !strings.Contains(string(raw), `"request_id":"`+id+`"`) {
		t.Errorf("the 500 body does not give the request id %q: %s", id, raw)
	}
	var line string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "request failed") {
			line = l
		}
	}
	if !strings.Contains(line, "request_id="+id) || !strings.Contains(line, "database is closed") {
		t.Errorf("the log has no line with the request id %s and the error; log:\n%s", id, logs.String())
	}
}

// TestInviteCodesNotLogged: an invite code lets anyone sign up, so
// request logs show {code} in its place.
func TestInviteCodesNotLogged(t *testing.T) {
	t.Parallel()
	ts, logs := loggedServer(t, true)
	const code = "k7qxm2vb9c4ta8rzn3wy5pl6he"
	for _, p := range []struct{ method, path string }{
		{"GET", "/join/" + code},
		{"GET", "/api/invites/" + code},
		{"POST", "/api/invites/" + code + "/join"},
		{"DELETE", "/api/cohorts/c-1/invites/" + code},
	} {
		ts.do(t, p.method, p.path, "", nil)
		req, _ := http.NewRequest(p.method, ts.URL+p.path, nil)
		req.Host = "elsewhere.example" // refused for another host: logged too
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}
	out := logs.String()
	if strings.Contains(out, code) || strings.Contains(out, code[:8]) {
		t.Errorf("an invite code is in the log:\n%s", out)
	}
	for _, want := range []string{"path=/join/{code}", "path=/api/invites/{code}", "path=/api/invites/{code}/join", "path=/api/cohorts/c-1/invites/{code}"} {
		if !strings.Contains(out, want+" ") {
			t.Errorf("the log has no %s:\n%s", want, out)
		}
	}
}

func TestRedactPath(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"/join/abc":                     "/join/{code}",
		"/join/abc/":                    "/join/{code}/",
		"/api/invites/abc":              "/api/invites/{code}",
		"/api/invites/abc/join":         "/api/invites/{code}/join",
		"/api/cohorts/c1/invites":       "/api/cohorts/c1/invites",
		"/api/cohorts/c1/invites/abc":   "/api/cohorts/c1/invites/{code}",
		"/api/sessions/s1/file":         "/api/sessions/s1/file",
		"/labs/join/x":                  "/labs/join/x",
		"/api/invites/":                 "/api/invites/",
		"/":                             "/",
		"/static/app.js":                "/static/app.js",
		"/api/cohorts/c1/learners/u1":   "/api/cohorts/c1/learners/u1",
		"/api/cohorts/c1/invites/a/b/c": "/api/cohorts/c1/invites/{code}/b/c",
	} {
		if got := redactPath(in); got != want {
			t.Errorf("redactPath(%q) = %q, want %q", in, got, want)
		}
	}
}
