package web

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/backlab/backlab/internal/auth"
	"github.com/backlab/backlab/internal/lab"
	"github.com/backlab/backlab/internal/labrun"
	"github.com/backlab/backlab/internal/session"
	"github.com/backlab/backlab/internal/store"
	"github.com/backlab/backlab/internal/testenv"
	"github.com/backlab/backlab/runner"
)

// as sends a request from one browser (client and CSRF token).
func (ts *testServer) as(t *testing.T, cl *http.Client, csrf, method, path, body string) (int, string) {
	t.Helper()
	saved, savedCSRF := ts.cl, ts.csrf
	ts.cl, ts.csrf = cl, csrf
	defer func() { ts.cl, ts.csrf = saved, savedCSRF }()
	status, _, raw := ts.do(t, method, path, body, nil)
	return status, string(raw)
}

func TestLoginRequired(t *testing.T) {
	t.Parallel()
	stuck := func(ctx context.Context, _ *lab.Lab, _ io.Writer) (runner.ImageSet, error) {
		<-ctx.Done()
		return runner.ImageSet{}, ctx.Err()
	}
	var st *store.Store
	ts := newServerWith(t, labrun.Runner{}, stuck, testenv.ScaffoldLab(t, "web-test"), func(_ *session.Config, c *Config) {
		c.Auth = true
		st = c.Store
	})
	for _, a := range []struct{ id, login string }{{"u-ada", "ada"}, {"u-bob", "bob"}} {
		hash, _ := auth.HashPassword(a.login + "-password-1")
		if err := st.CreateAccount(t.Context(), store.Account{User: store.User{ID: a.id, Name: a.login, Role: store.RoleLearner}, Login: a.login, PasswordHash: hash}); err != nil {
			t.Fatal(err)
		}
	}

	// Not logged in: the page and its description load, the API does not.
	anon, anonCSRF := ts.cl, ts.csrf
	for path, want := range map[string]int{"/": 200, "/labs/web-test": 200, "/api/openapi.json": 200, "/api/me": 401, "/api/labs": 401, "/api/labs/web-test": 401} {
		if status, _ := ts.as(t, anon, anonCSRF, "GET", path, ""); status != want {
			t.Errorf("GET %s without a login = %d, want %d", path, status, want)
		}
	}
	if status, _ := ts.as(t, anon, anonCSRF, "POST", "/api/sessions", `{"lab":"web-test"}`); status != 401 {
		t.Errorf("POST /api/sessions without a login = %d, want 401", status)
	}

	// Wrong passwords, an unknown name, extra fields; then a lockout.
	tests := []struct {
		body   string
		status int
	}{
		{`{"login":"bob","password":"wrong-password"}`, 401},
		{`{"login":"nobody","password":"bob-password-1"}`, 401},
		{`{"login":"bob","password":"bob-password-1","role":"admin"}`, 400},
	}
	for _, tt := range tests {
		if status, raw := ts.as(t, anon, anonCSRF, "POST", "/api/login", tt.body); status != tt.status {
			t.Errorf("login %s = %d %s, want %d", tt.body, status, raw, tt.status)
		}
	}

	bob, bobCSRF := ts.browser(t)
	if status, raw := ts.as(t, bob, bobCSRF, "POST", "/api/login", `{"login":"Bob","password":"bob-password-1"}`); status != 200 || !strings.Contains(raw, `"u-bob"`) {
		t.Fatalf("bob's login = %d %s", status, raw)
	}
	if status, raw := ts.as(t, bob, bobCSRF, "GET", "/api/me", ""); status != 200 || !strings.Contains(raw, `"auth":true`) || !strings.Contains(raw, `"role":"learner"`) {
		t.Errorf("bob's /api/me = %d %s", status, raw)
	}
	status, raw := ts.as(t, bob, bobCSRF, "POST", "/api/sessions", `{"lab":"web-test"}`)
	if status != 201 {
		t.Fatalf("bob opens a lab = %d %s", status, raw)
	}
	sid := raw[strings.Index(raw, `"id":"`)+6:]
	sid = sid[:strings.Index(sid, `"`)]

	// Ada cannot reach Bob's session, its events or its terminals, and
	// cannot raise her own role.
	ada, adaCSRF := ts.browser(t)
	if status, _ := ts.as(t, ada, adaCSRF, "POST", "/api/login", `{"login":"ada","password":"ada-password-1"}`); status != 200 {
		t.Fatal("ada's login failed")
	}
	for _, p := range []struct{ method, path string }{
		{"GET", "/api/sessions/" + sid}, {"GET", "/api/sessions/" + sid + "/checks"}, {"GET", "/api/sessions/" + sid + "/files"},
		{"POST", "/api/sessions/" + sid + "/stop"}, {"POST", "/api/sessions/" + sid + "/checks"}, {"POST", "/api/sessions/" + sid + "/terminals"},
		{"GET", "/api/sessions/" + sid + "/events"}, {"GET", "/api/sessions/" + sid + "/terminals/t1/ws"},
	} {
		if status, _ := ts.as(t, ada, adaCSRF, p.method, p.path, ""); status != 404 {
			t.Errorf("ada: %s %s = %d, want 404", p.method, p.path, status)
		}
	}
	for _, p := range []struct{ method, path, body string }{
		{"POST", "/api/me", `{"role":"admin"}`}, {"PUT", "/api/me", `{"role":"admin"}`}, {"POST", "/api/users/u-ada", `{"role":"admin"}`},
	} {
		if status, _ := ts.as(t, ada, adaCSRF, p.method, p.path, p.body); status != 404 {
			t.Errorf("ada: %s %s = %d, want 404 (no way to change a role)", p.method, p.path, status)
		}
	}
	if _, raw := ts.as(t, ada, adaCSRF, "GET", "/api/me", ""); !strings.Contains(raw, `"role":"learner"`) {
		t.Errorf("ada's role changed: %s", raw)
	}

	// Logging out ends the login for good, even for a copy of the cookie.
	token := cookieValue(bob.Jar, ts.URL, loginCookie)
	if status, _ := ts.as(t, bob, bobCSRF, "POST", "/api/logout", ""); status != 204 {
		t.Errorf("logout = %d", status)
	}
	if status, _ := ts.as(t, bob, bobCSRF, "GET", "/api/me", ""); status != 401 {
		t.Errorf("after logout /api/me = %d, want 401", status)
	}
	req, _ := http.NewRequest("GET", ts.URL+"/api/labs", nil)
	req.AddCookie(&http.Cookie{Name: loginCookie, Value: token})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("a copy of the logged-out cookie = %d, want 401", resp.StatusCode)
	}

	// Five failures lock one login name from this address for a while;
	// other names from the same address are not affected.
	for range 5 {
		ts.as(t, anon, anonCSRF, "POST", "/api/login", `{"login":"ada","password":"guess-guess-guess"}`)
	}
	if status, _ := ts.as(t, anon, anonCSRF, "POST", "/api/login", `{"login":"ada","password":"ada-password-1"}`); status != 429 {
		t.Errorf("login after 5 failures = %d, want 429", status)
	}
	if status, _ := ts.as(t, bob, bobCSRF, "POST", "/api/login", `{"login":"bob","password":"bob-password-1"}`); status != 200 {
		t.Errorf("bob's login while ada is locked = %d, want 200", status)
	}
}

func TestChangePassword(t *testing.T) {
	t.Parallel()
	ts := authServer(t)
	ts.account(t, "u-ada", "ada", store.RoleLearner)
	ada := ts.loggedIn(t, "ada")
	other := ts.loggedIn(t, "ada") // the same account in another browser
	for _, tt := range []struct {
		body   string
		status int
	}{
		{`{"current":"wrong-password","new":"a-new-password"}`, 403},
		{`{"current":"ada-password-1","new":"short"}`, 400},
		{`{"current":"ada-password-1","new":"ada-password-1"}`, 400},
		{`{"current":"ada-password-1"}`, 400},
	} {
		if status, raw := ts.call(t, ada, "POST", "/api/me/password", tt.body); status != tt.status {
			t.Errorf("change password %s = %d %s, want %d", tt.body, status, raw, tt.status)
		}
	}
	if status, raw := ts.call(t, ada, "POST", "/api/me/password", `{"current":"ada-password-1","new":"a-new-password"}`); status != 200 {
		t.Fatalf("change password = %d %s", status, raw)
	}
	if status, _ := ts.call(t, ada, "GET", "/api/me", ""); status != 200 {
		t.Errorf("the browser that changed the password was logged out: %d", status)
	}
	if status, _ := ts.call(t, other, "GET", "/api/me", ""); status != 401 {
		t.Errorf("another browser of ada still works after the change: %d, want 401", status)
	}
	anon := ts.loggedIn(t, "")
	if status, _ := ts.call(t, anon, "POST", "/api/login", `{"login":"ada","password":"ada-password-1"}`); status != 401 {
		t.Errorf("the old password still logs in: %d", status)
	}
	if status, _ := ts.call(t, anon, "POST", "/api/login", `{"login":"ada","password":"a-new-password"}`); status != 200 {
		t.Errorf("the new password does not log in: %d", status)
	}
	// Wrong current passwords count towards the login's lockout.
	for range 5 {
		ts.call(t, ada, "POST", "/api/me/password", `{"current":"guess-guess-guess","new":"another-password"}`)
	}
	if status, _ := ts.call(t, ada, "POST", "/api/me/password", `{"current":"a-new-password","new":"another-password"}`); status != 429 {
		t.Errorf("after 5 wrong current passwords = %d, want 429", status)
	}
}
