package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
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

// loginServer starts a server that requires logins, configured by opt,
// with the learner account ada (password ada-password-1).
func loginServer(t *testing.T, opt func(*Config)) *testServer {
	t.Helper()
	stuck := func(ctx context.Context, _ *lab.Lab, _ io.Writer) (runner.ImageSet, error) {
		<-ctx.Done()
		return runner.ImageSet{}, ctx.Err()
	}
	ts := newServerWith(t, labrun.Runner{}, stuck, testenv.ScaffoldLab(t, "web-test"), func(_ *session.Config, c *Config) {
		c.Auth = true
		if opt != nil {
			opt(c)
		}
	})
	ts.account(t, "u-ada", "ada", store.RoleLearner)
	return ts
}

// loginFrom logs in as a client whose proxy says it is at addr.
func (ts *testServer) loginFrom(t *testing.T, addr, login, password string) (int, map[string]any) {
	t.Helper()
	status, m, _ := ts.do(t, "POST", "/api/login", fmt.Sprintf(`{"login":%q,"password":%q}`, login, password),
		map[string]string{"X-Forwarded-For": addr})
	return status, m
}

// TestLoginLockoutIsPerAddress: failures from a stranger's address hold
// that address only; the name's owner logs in from hers. Behind an
// untrusted peer, X-Forwarded-For is not believed.
func TestLoginLockoutIsPerAddress(t *testing.T) {
	t.Parallel()
	trusted := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	for _, tt := range []struct {
		name    string
		trusted []netip.Prefix
		adaGets int // ada's login from her own address after the stranger's failures
	}{
		{"behind a trusted proxy", trusted, 200},
		{"behind an untrusted peer the header is ignored", nil, 429},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := loginServer(t, func(c *Config) { c.TrustedProxies = tt.trusted })
			for i := range auth.PairFailures {
				if status, m := ts.loginFrom(t, "203.0.113.7", "ada", "guess-guess-guess"); status != 401 {
					t.Fatalf("stranger's guess %d = %d %v, want 401", i+1, status, m)
				}
			}
			status, m := ts.loginFrom(t, "203.0.113.7", "ada", "ada-password-1")
			if status != 429 {
				t.Errorf("the stranger after %d failures = %d %v, want 429", auth.PairFailures, status, m)
			}
			if status, m := ts.loginFrom(t, "198.51.100.2", "ada", "ada-password-1"); status != tt.adaGets {
				t.Errorf("ada from her own address = %d %v, want %d", status, m, tt.adaGets)
			}
		})
	}
}

// TestLoginRefusesBeforeHashing: malformed names get 400 without a hash
// or any state; a full hash queue answers 429 at once; made-up names do
// not grow the throttle's state past its bound.
func TestLoginRefusesBeforeHashing(t *testing.T) {
	t.Parallel()
	hasher := auth.NewHasher(1, 0)
	throttle := auth.NewThrottle(6)
	ts := loginServer(t, func(c *Config) { c.Hasher, c.Throttle = hasher, throttle })
	ada := ts.loggedIn(t, "ada")

	release, err := hasher.Hold() // every hashing place is taken
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"", "a", "../../etc/passwd", "ada ", "ada\x00", strings.Repeat("x", 64), "Ada Lovelace", "-ada"} {
		quoted, _ := json.Marshal(name)
		body := `{"login":` + string(quoted) + `,"password":"guess-guess-guess"}`
		status, m, raw := ts.do(t, "POST", "/api/login", body, nil)
		if name == "ada " { // surrounding space is trimmed: a well-formed name
			continue
		}
		if status != 400 || !strings.Contains(m["error"].(string), "login") {
			t.Errorf("login %q = %d %s, want 400 about the login name (and no hashing)", name, status, raw)
		}
	}
	anon := ts.loggedIn(t, "")
	for _, tt := range []struct{ who, path, body string }{
		{"anonymous", "/api/login", `{"login":"ada","password":"ada-password-1"}`},
		{"ada", "/api/me/password", `{"current":"ada-password-1","new":"a-new-password"}`},
	} {
		a := anon
		if tt.who == "ada" {
			a = ada
		}
		req := ts.request(t, a, "POST", tt.path, tt.body)
		resp, err := a.cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(raw), "busy") {
			t.Errorf("%s: POST %s with the hash queue full = %d (Retry-After %q) %s, want 429 saying the server is busy",
				tt.who, tt.path, resp.StatusCode, resp.Header.Get("Retry-After"), raw)
		}
	}
	if n := throttle.Len(); n != 1 { // ada's own login, from before
		t.Errorf("the throttle holds %d buckets after refused attempts, want 1", n)
	}
	release()

	for i := range 8 {
		if status, _ := ts.call(t, anon, "POST", "/api/login", fmt.Sprintf(`{"login":"made-up-%d","password":"guess-guess-guess"}`, i)); status != 401 {
			t.Errorf("made-up name %d = %d, want 401", i, status)
		}
		if n := throttle.Len(); n > 6 {
			t.Fatalf("the throttle holds %d buckets after %d made-up names, bound 6", n, i+1)
		}
	}
	if status, raw := ts.call(t, anon, "POST", "/api/login", `{"login":"ada","password":"ada-password-1"}`); status != 200 {
		t.Errorf("ada's login after the made-up names = %d %s", status, raw)
	}
}

// request is a request from a's browser as the page sends it.
func (ts *testServer) request(t *testing.T, a actor, method, path, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(csrfHeader, a.csrf)
	req.Header.Set("Origin", ts.URL)
	return req
}
