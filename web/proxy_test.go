package web

import (
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/backlab/backlab/internal/labrun"
)

// TestProxiedRequestsRefusedWithoutLogins: a server without logins
// answers only this machine; a request that a proxy forwarded may come
// from anywhere, so it is refused.
func TestProxiedRequestsRefusedWithoutLogins(t *testing.T) {
	t.Parallel()
	ts := newServer(t, labrun.Runner{}, nil)
	for _, tt := range []struct {
		name   string
		path   string
		hdr    map[string]string
		status int
	}{
		{"direct", "/api/me", nil, 200},
		{"x-forwarded-for", "/api/me", map[string]string{"X-Forwarded-For": "203.0.113.9"}, 403},
		{"forwarded", "/api/me", map[string]string{"Forwarded": "for=203.0.113.9;proto=https"}, 403},
		{"the page too", "/", map[string]string{"X-Forwarded-For": "203.0.113.9"}, 403},
		{"an empty header still says a proxy", "/api/labs", map[string]string{"X-Forwarded-For": " "}, 403},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, body, raw := ts.do(t, "GET", tt.path, "", tt.hdr)
			if status != tt.status {
				t.Fatalf("GET %s with %v = %d %s, want %d", tt.path, tt.hdr, status, raw, tt.status)
			}
			if status == 403 && !strings.Contains(body["error"].(string), "proxy") {
				t.Errorf("the refusal does not say why: %s", raw)
			}
			if status == 200 && tt.path == "/api/me" && !strings.Contains(string(raw), `"auth":false`) {
				t.Errorf("GET /api/me = %s", raw)
			}
		})
	}
	// A server with logins serves proxied requests (the login decides).
	as := authServer(t)
	if status, _, raw := as.do(t, "GET", "/api/me", "", map[string]string{"X-Forwarded-For": "203.0.113.9"}); status != 401 {
		t.Errorf("proxied GET /api/me on a server with logins = %d %s, want 401 (log in first)", status, raw)
	}
}

func TestClientAddr(t *testing.T) {
	t.Parallel()
	trusted := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	for _, tt := range []struct {
		name    string
		trusted []netip.Prefix
		peer    string
		xff     []string
		want    string
	}{
		{"no proxy trusted: the peer", nil, "127.0.0.1:4000", []string{"198.51.100.7"}, "127.0.0.1"},
		{"an untrusted peer's header is ignored", trusted, "203.0.113.5:4000", []string{"198.51.100.7"}, "203.0.113.5"},
		{"a trusted peer names the client", trusted, "127.0.0.1:4000", []string{"198.51.100.7"}, "198.51.100.7"},
		{"what the client wrote itself is ignored", trusted, "127.0.0.1:4000", []string{"1.2.3.4, 198.51.100.7"}, "198.51.100.7"},
		{"a chain of trusted proxies", trusted, "127.0.0.1:4000", []string{"1.2.3.4, 198.51.100.7, 10.0.0.2"}, "198.51.100.7"},
		{"header lines in order", trusted, "127.0.0.1:4000", []string{"1.2.3.4", "198.51.100.7"}, "198.51.100.7"},
		{"only proxies: the first", trusted, "127.0.0.1:4000", []string{"10.0.0.3, 10.0.0.2"}, "10.0.0.3"},
		{"no header: the peer", trusted, "127.0.0.1:4000", nil, "127.0.0.1"},
		{"garbage: the peer", trusted, "127.0.0.1:4000", []string{"198.51.100.7, not-an-address"}, "127.0.0.1"},
		{"an address with a port", trusted, "127.0.0.1:4000", []string{"198.51.100.7:5555"}, "198.51.100.7"},
		{"ipv6", trusted, "[::1]:4000", []string{"2001:db8::1"}, "2001:db8::1"},
		{"ipv6 with a port", trusted, "[::1]:4000", []string{"[2001:db8::1]:80"}, "2001:db8::1"},
		{"an ipv4-mapped peer", trusted, "[::ffff:127.0.0.1]:4000", []string{"198.51.100.7"}, "198.51.100.7"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := &Server{cfg: Config{TrustedProxies: tt.trusted}}
			r := httptest.NewRequest("GET", "/api/me", nil)
			r.RemoteAddr = tt.peer
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := s.clientAddr(r); got.String() != tt.want {
				t.Errorf("clientAddr = %s, want %s", got, tt.want)
			}
		})
	}
}
