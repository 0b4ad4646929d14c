package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
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
			s.log.Warn("refused request for another host", "host", r.Host, "path", r.URL.Path)
			writeError(w, http.StatusMisdirectedRequest, "this server does not answer to host "+r.Host,
				"open "+s.cfg.PublicURL.String()+" instead")
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
