package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/backlab/backlab/internal/lab"
	"github.com/backlab/backlab/internal/labrun"
	"github.com/backlab/backlab/internal/session"
	"github.com/backlab/backlab/internal/store"
	"github.com/backlab/backlab/internal/testenv"
	"github.com/backlab/backlab/runner"
)

type testServer struct {
	*httptest.Server
	m     *session.Manager
	st    *store.Store
	lab   *lab.Lab
	csrf  string
	cl    *http.Client
	local store.User
}

// newServer starts a server on a loopback test listener. runner may be
// zero when the test opens no sandbox.
func newServer(t testing.TB, r labrun.Runner, imgs session.ImagesFunc) *testServer {
	t.Helper()
	return newServerWith(t, r, imgs, testenv.ScaffoldLab(t, "web-test"))
}

// newServerWith is newServer serving the lab l.
func newServerWith(t testing.TB, r labrun.Runner, imgs session.ImagesFunc, l *lab.Lab, opts ...func(*session.Config, *Config)) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	u, _ := st.EnsureUser(ctx, store.User{ID: "local", Name: "You", Role: store.RoleLearner})
	st.EnsureUser(ctx, store.User{ID: "other", Name: "Someone else", Role: store.RoleLearner})
	if imgs == nil {
		imgs = func(context.Context, *lab.Lab, io.Writer) (runner.ImageSet, error) {
			return runner.ImageSet{}, runner.ErrImageMissing
		}
	}
	cfg := session.Config{Runner: r, Images: imgs, Store: st, Labs: []*lab.Lab{l}}
	wcfg := Config{Store: st, User: u}
	for _, o := range opts {
		o(&cfg, &wcfg)
	}
	m := session.New(ctx, cfg)
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	ts := &testServer{m: m, st: st, lab: l, local: u}
	ts.Server = httptest.NewUnstartedServer(nil)
	public, _ := url.Parse("http://" + ts.Listener.Addr().String())
	wcfg.Manager, wcfg.PublicURL = m, public
	srv, err := New(wcfg)
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = validateAPI(t, srv)
	ts.Start()
	t.Cleanup(func() {
		ts.Close()
		cancel()
		<-done
		st.Close()
	})
	ts.cl, ts.csrf = ts.browser(t)
	return ts
}

// browser returns a client with a cookie jar of its own, holding the
// CSRF cookie the page's first GET sets.
func (ts *testServer) browser(t testing.TB) (*http.Client, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar}
	resp, err := cl.Get(ts.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	csrf := cookieValue(jar, ts.URL, csrfCookie)
	if len(csrf) != 64 {
		t.Fatalf("no CSRF cookie set on the first GET (got %q)", csrf)
	}
	return cl, csrf
}

func cookieValue(jar http.CookieJar, base, name string) string {
	u, _ := url.Parse(base)
	for _, c := range jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// do sends a request as the page would (CSRF header, same origin).
func (ts *testServer) do(t testing.TB, method, path, body string, hdr map[string]string) (int, map[string]any, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if method != http.MethodGet {
		req.Header.Set(csrfHeader, ts.csrf)
		req.Header.Set("Origin", ts.URL)
	}
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := ts.cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(raw, &m)
	return resp.StatusCode, m, raw
}

func TestRoutesMatchOpenAPI(t *testing.T) {
	t.Parallel()
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	s := &Server{}
	served := map[string]bool{}
	for _, rt := range s.routeTable() {
		key := strings.ToLower(rt.Method) + " " + rt.Pattern
		served[key] = true
		if _, ok := doc.Paths[rt.Pattern][strings.ToLower(rt.Method)]; !ok {
			t.Errorf("%s %s is served but not documented in web/openapi.json", rt.Method, rt.Pattern)
		}
	}
	for p, ops := range doc.Paths {
		for m := range ops {
			if !served[m+" "+p] {
				t.Errorf("web/openapi.json documents %s %s, which is not served", strings.ToUpper(m), p)
			}
		}
	}
}

func TestHostAndOrigin(t *testing.T) {
	t.Parallel()
	ts := newServer(t, labrun.Runner{}, nil)
	tests := []struct {
		name   string
		host   string
		status int
	}{
		{"public host", ts.Listener.Addr().String(), 200},
		{"localhost spelling", "localhost:" + portOf(ts), 200},
		{"rebound DNS name", "attacker.example:" + portOf(ts), http.StatusMisdirectedRequest},
		{"other port", "127.0.0.1:1", http.StatusMisdirectedRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", ts.URL+"/api/labs", nil)
			req.Host = tt.host
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("Host %s: status %d, want %d", tt.host, resp.StatusCode, tt.status)
			}
		})
	}
}

func portOf(ts *testServer) string {
	_, p, _ := strings.Cut(ts.Listener.Addr().String(), ":")
	return p
}

func TestCSRFAndOrigin(t *testing.T) {
	t.Parallel()
	ts := newServer(t, labrun.Runner{}, nil)
	body := `{"lab":"no-such-lab"}`
	tests := []struct {
		name   string
		hdr    map[string]string
		status int
		errHas string
	}{
		{"no token", map[string]string{csrfHeader: ""}, 403, csrfHeader},
		{"wrong token", map[string]string{csrfHeader: strings.Repeat("0", 64)}, 403, csrfHeader},
		{"other site", map[string]string{"Origin": "http://attacker.example"}, 403, "another site"},
		{"the page itself", nil, 404, "no such lab"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, m, raw := ts.do(t, "POST", "/api/sessions", body, tt.hdr)
			if status != tt.status || !strings.Contains(m["error"].(string), tt.errHas) {
				t.Errorf("status %d %s, want %d with %q", status, raw, tt.status, tt.errHas)
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	ts := newServer(t, labrun.Runner{}, nil)
	tests := []struct {
		name, method, path, body string
		status                   int
		errHas                   string
	}{
		{"unknown field", "POST", "/api/sessions", `{"lab":"x","admin":true}`, 400, "unknown field"},
		{"empty body", "POST", "/api/sessions", ``, 400, "empty"},
		{"not json", "POST", "/api/sessions", `lab=x`, 400, "not valid JSON"},
		{"huge body", "POST", "/api/sessions", `{"lab":"` + strings.Repeat("a", 10<<10) + `"}`, 413, "larger than"},
		{"unknown lab", "GET", "/api/labs/nope", ``, 404, "no such lab"},
		{"unknown session", "GET", "/api/sessions/s-0000", ``, 404, "no such session"},
		{"unknown endpoint", "GET", "/api/nothing", ``, 404, "no such API endpoint"},
		{"wrong method", "DELETE", "/api/sessions/x", ``, 404, "no such API endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, m, raw := ts.do(t, tt.method, tt.path, tt.body, nil)
			msg, _ := m["error"].(string)
			if status != tt.status || !strings.Contains(msg, tt.errHas) {
				t.Errorf("status %d %s, want %d with %q", status, raw, tt.status, tt.errHas)
			}
		})
	}
}

func TestCatalogAndLab(t *testing.T) {
	t.Parallel()
	ts := newServer(t, labrun.Runner{}, nil)
	status, _, raw := ts.do(t, "GET", "/api/labs", "", nil)
	var labs []labSummary
	if err := json.Unmarshal(raw, &labs); status != 200 || err != nil || len(labs) != 1 {
		t.Fatalf("GET /api/labs = %d %s", status, raw)
	}
	if l := labs[0]; l.ID != "web-test" || l.Status != "not_started" || l.Title == "" || len(l.Skills) == 0 || l.EstimatedMinutes == 0 {
		t.Errorf("catalog entry = %+v", l)
	}
	status, m, raw := ts.do(t, "GET", "/api/labs/web-test", "", nil)
	if status != 200 || !strings.Contains(m["instructions_html"].(string), "<p>") {
		t.Fatalf("GET lab = %d %s", status, raw)
	}
	tasks := m["tasks"].([]any)
	task := tasks[0].(map[string]any)
	if task["hints_total"].(float64) != 3 || !strings.Contains(task["instructions_html"].(string), "<") {
		t.Errorf("task = %v", task)
	}
	// The page is served for the catalog and for lab paths; unknown labs 404.
	for path, want := range map[string]int{"/": 200, "/labs/web-test": 200, "/labs/nope": 404, "/static/index.html": 200} {
		resp, err := ts.cl.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s = %d, want %d", path, resp.StatusCode, want)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("GET %s: CSP %q", path, csp)
		}
	}
}

func TestWebSocketUpgradeRefusals(t *testing.T) {
	t.Parallel()
	ts := newServer(t, labrun.Runner{}, nil)
	// A session of this user whose sandbox cannot start (no images): it
	// exists, so the socket checks apply.
	sess, _, err := ts.m.Open(t.Context(), "local", "web-test")
	if err != nil {
		t.Fatal(err)
	}
	path := "/api/sessions/" + sess.ID + "/events"
	tests := []struct {
		name   string
		proto  string
		origin string
		status int
	}{
		{"no subprotocol", "", ts.URL, 400},
		{"old subprotocol", "backlab.events.v0", ts.URL, 400},
		{"foreign origin", EventsProtocol, "http://attacker.example", 403},
		{"no origin", EventsProtocol, "", 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", ts.URL+path, nil)
			req.Header.Set("Connection", "Upgrade")
			req.Header.Set("Upgrade", "websocket")
			req.Header.Set("Sec-WebSocket-Version", "13")
			req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
			if tt.proto != "" {
				req.Header.Set("Sec-WebSocket-Protocol", tt.proto)
			}
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
		})
	}
}

func TestProbesAndRequestIDs(t *testing.T) {
	t.Parallel()
	ts := newServer(t, labrun.Runner{}, nil)
	for _, tt := range []struct {
		path, host string
		status     int
	}{
		{"/healthz", "10.1.2.3:8080", 200}, // an orchestrator's probe by pod address
		{"/readyz", "10.1.2.3:8080", 200},
		{"/api/labs", "10.1.2.3:8080", http.StatusMisdirectedRequest},
	} {
		req, _ := http.NewRequest("GET", ts.URL+tt.path, nil)
		req.Host = tt.host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("GET %s (Host %s) = %d, want %d", tt.path, tt.host, resp.StatusCode, tt.status)
		}
		if len(resp.Header.Get("X-Request-Id")) != 16 {
			t.Errorf("GET %s: X-Request-Id %q", tt.path, resp.Header.Get("X-Request-Id"))
		}
	}
}

func TestReadyzSaysWhatIsDown(t *testing.T) {
	t.Parallel()
	s := &Server{cfg: Config{Ready: func(context.Context) error { return errors.New("the Docker engine does not answer") }}}
	rec := httptest.NewRecorder()
	s.readyz(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), "Docker engine does not answer") {
		t.Errorf("readyz = %d %q", rec.Code, rec.Body.String())
	}
}

func TestStartLimitsAnswerWithAdvice(t *testing.T) {
	t.Parallel()
	stuck := func(ctx context.Context, _ *lab.Lab, _ io.Writer) (runner.ImageSet, error) {
		<-ctx.Done()
		return runner.ImageSet{}, ctx.Err()
	}
	ts := newServerWith(t, labrun.Runner{}, stuck, testenv.ScaffoldLab(t, "web-test"), func(c *session.Config, _ *Config) {
		c.Limits = session.Limits{Starts: 1, StartsWindow: time.Hour}
	})
	status, m, _ := ts.do(t, "POST", "/api/sessions", `{"lab":"web-test"}`, nil)
	if status != 201 {
		t.Fatalf("first open = %d", status)
	}
	ts.do(t, "POST", "/api/sessions/"+m["id"].(string)+"/stop", "", nil)
	req, _ := http.NewRequest("POST", ts.URL+"/api/sessions", strings.NewReader(`{"lab":"web-test"}`))
	req.Header.Set(csrfHeader, ts.csrf)
	req.Header.Set("Content-Type", "application/json")
	resp, err := ts.cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body apiError
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !strings.Contains(body.Error, "try again in") || body.Advice == "" {
		t.Errorf("second open within the window = %d (Retry-After %q) %+v", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
}

// TestResetRefusedLikeCreate resets a stopped lab while limits are
// reached: the API refuses it with the status, message, advice and
// Retry-After that opening the lab gets, and the session stays stopped.
func TestResetRefusedLikeCreate(t *testing.T) {
	t.Parallel()
	stuck := func(ctx context.Context, _ *lab.Lab, _ io.Writer) (runner.ImageSet, error) {
		<-ctx.Done()
		return runner.ImageSet{}, ctx.Err()
	}
	off := session.Limits{PerUser: -1, Starts: -1, MaxSandboxes: -1, MinFreeDisk: -1}
	tests := []struct {
		name   string
		limits func(*session.Limits)
		status int
	}{
		{"one sandbox per user", func(l *session.Limits) { l.PerUser = 1 }, http.StatusConflict},
		{"start rate", func(l *session.Limits) { l.Starts = 2; l.StartsWindow = time.Hour }, http.StatusTooManyRequests},
		{"server full", func(l *session.Limits) { l.MaxSandboxes = 1 }, http.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			lim := off
			tt.limits(&lim)
			ts := newServerWith(t, labrun.Runner{}, stuck, testenv.ScaffoldLab(t, "web-test"), func(c *session.Config, _ *Config) {
				c.Limits = lim
				c.Labs = append(c.Labs, testenv.ScaffoldLab(t, "web-two"))
			})
			status, a, raw := ts.do(t, "POST", "/api/sessions", `{"lab":"web-test"}`, nil)
			if status != 201 {
				t.Fatalf("open A = %d %s", status, raw)
			}
			ts.do(t, "POST", "/api/sessions/"+a["id"].(string)+"/stop", "", nil)
			if status, _, raw := ts.do(t, "POST", "/api/sessions", `{"lab":"web-two"}`, nil); status != 201 {
				t.Fatalf("open B = %d %s", status, raw)
			}
			// What opening A again answers now…
			req := func(path, body string) (*http.Response, apiError) {
				r, _ := http.NewRequest("POST", ts.URL+path, strings.NewReader(body))
				r.Header.Set(csrfHeader, ts.csrf)
				r.Header.Set("Content-Type", "application/json")
				resp, err := ts.cl.Do(r)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var e apiError
				json.NewDecoder(resp.Body).Decode(&e)
				return resp, e
			}
			createResp, create := req("/api/sessions", `{"lab":"web-test"}`)
			if createResp.StatusCode != tt.status || create.Advice == "" {
				t.Fatalf("open A again = %d %+v, want %d with advice", createResp.StatusCode, create, tt.status)
			}
			// …a reset of the stopped A answers too.
			resetResp, reset := req("/api/sessions/"+a["id"].(string)+"/reset", "")
			if resetResp.StatusCode != tt.status || reset.Advice != create.Advice || reset.Error == "" {
				t.Errorf("reset A = %d %+v; want %d with the advice of a create, %q", resetResp.StatusCode, reset, tt.status, create.Advice)
			}
			if tt.status != http.StatusConflict && resetResp.Header.Get("Retry-After") == "" {
				t.Errorf("reset A refused with %d but no Retry-After", resetResp.StatusCode)
			}
			if _, v, _ := ts.do(t, "GET", "/api/sessions/"+a["id"].(string), "", nil); v["state"] != "stopped" {
				t.Errorf("after the refused reset, A is %v, want stopped", v["state"])
			}
		})
	}
}
