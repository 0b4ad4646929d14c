package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/netip"
	"strings"
)

// CSRF protection: a random token in a cookie that the page's script reads
// and sends back in a header on every request that changes something. A
// page of another site can neither read the cookie nor set the header.
const (
	csrfCookie = "backlab_csrf"
	csrfHeader = "X-Backlab-CSRF"
)

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// secure wraps h with what every request passes first: the Host check
// (a loopback server must not answer a DNS name rebound to it), security
// headers, the CSRF token, and Origin checks on requests that change
// something.
func (s *Server) secure(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.hosts[strings.ToLower(r.Host)] {
			s.log.Warn("refused request for another host", "host", r.Host, "path", redactPath(r.URL.Path))
			writeError(w, http.StatusMisdirectedRequest, "this server does not answer to host "+r.Host,
				"open "+s.cfg.PublicURL.String()+" instead")
			return
		}
		if h := proxied(r); h != "" && !s.cfg.Auth {
			s.log.Warn("refused a proxied request: this server needs no login", "header", h, "path", redactPath(r.URL.Path))
			writeError(w, http.StatusForbidden, "this server needs no login, so it answers only browsers on its own machine; this request came through a proxy ("+h+" header)",
				"to serve backlab through a reverse proxy, give serve --public-url with the address browsers use and create an admin with `backlab admin create`: logins are then required")
			return
		}
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")

		token := ""
		if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) == 64 {
			token = c.Value
		}
		if token == "" {
			token = newToken()
			http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: token, Path: "/", SameSite: http.SameSiteStrictMode,
				Secure: s.cfg.PublicURL.Scheme == "https"})
		}
		if !safeMethod(r.Method) {
			if o := r.Header.Get("Origin"); o != "" && !s.origins[o] {
				writeError(w, http.StatusForbidden, "request from another site ("+o+") refused", "")
				return
			}
			got := r.Header.Get(csrfHeader)
			if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
				writeError(w, http.StatusForbidden, "missing or wrong "+csrfHeader+" header",
					"reload the page; scripts must send the "+csrfCookie+" cookie's value in the "+csrfHeader+" header")
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// checkOrigin accepts a WebSocket upgrade only from the server's own pages.
func (s *Server) checkOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	return o != "" && s.origins[o]
}

func newToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:])
}

// proxyHeaders are the headers a reverse proxy adds; a request that
// carries one came through a proxy.
var proxyHeaders = []string{"Forwarded", "X-Forwarded-For", "X-Real-Ip"}

// proxied returns the first proxy header r carries, or "".
func proxied(r *http.Request) string {
	for _, h := range proxyHeaders {
		if _, ok := r.Header[h]; ok {
			return h
		}
	}
	return ""
}

// clientAddr is the address of the request's client: the connection's
// peer, or, when the peer is a trusted proxy, the address its
// X-Forwarded-For header names. The header is read from the right (each
// proxy appends the address it was connected from): the first address
// that is not a trusted proxy is the client; what lies left of it was
// written by the client itself and may be anything. When every address is
// a trusted proxy, the leftmost is the client; an entry that is not an
// address stops the walk at the proxy that wrote it.
func (s *Server) clientAddr(r *http.Request) netip.Addr {
	peer := parseHostAddr(r.RemoteAddr)
	if !s.trusted(peer) {
		return peer
	}
	var hops []string
	for _, line := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(line, ",")...)
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a := parseHostAddr(strings.TrimSpace(hops[i]))
		if !a.IsValid() {
			return client
		}
		client = a
		if !s.trusted(a) {
			return a
		}
	}
	return client
}

// trusted reports whether a is one of the trusted proxies.
func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseHostAddr parses an address with or without a port ("10.0.0.1",
// "10.0.0.1:80", "2001:db8::1", "[2001:db8::1]:80"); IPv4-mapped IPv6
// addresses become IPv4. The zero Addr when it is none.
func parseHostAddr(s string) netip.Addr {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone("")
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone("")
	}
	return netip.Addr{}
}
