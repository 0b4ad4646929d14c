package web

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
)

// healthz answers while the process serves requests.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

// readyz answers 200 when what sessions need answers (the store, the
// container engine), 503 with the reason otherwise.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if s.cfg.Ready != nil {
		if err := s.cfg.Ready(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("not ready: " + err.Error() + "\n"))
			return
		}
	}
	w.Write([]byte("ready\n"))
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack hands the connection to a WebSocket upgrade (gorilla/websocket
// asserts http.Hijacker directly).
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.status = http.StatusSwitchingProtocols
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// logged gives every request an id (X-Request-Id) and logs it when it
// ends, with its session when the path names one.
func (s *Server) logged(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b [8]byte
		rand.Read(b[:])
		id := hex.EncodeToString(b[:])
		w.Header().Set("X-Request-Id", id)
		if _, ok := r.Header["X-Forwarded-For"]; ok && s.cfg.Auth && !s.trusted(parseHostAddr(r.RemoteAddr)) {
			s.warnUntrusted.Do(func() {
				s.log.Warn("a request carries X-Forwarded-For from a peer that is not a trusted proxy, so the header is ignored and the peer counts as the client (login throttling included); if the peer is your reverse proxy, give serve --trusted-proxy ADDRESS",
					"peer", r.RemoteAddr)
			})
		}
		sw := &statusWriter{ResponseWriter: w}
		start := time.Now()
		h.ServeHTTP(sw, r)
		level := slog.LevelInfo
		if strings.HasPrefix(r.URL.Path, "/static/") || r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
			level = slog.LevelDebug
		}
		status := sw.status
		if status == 0 {
			status = http.StatusOK // written implicitly, or hijacked for a WebSocket
		}
		attrs := []any{"request_id", id, "method", r.Method, "path", redactPath(r.URL.Path), "status", status, "client", s.clientAddr(r),
			"duration", time.Since(start).Round(time.Microsecond)}
		if sid := sessionInPath(r.URL.Path); sid != "" {
			attrs = append(attrs, "session", sid)
		}
		s.log.Log(r.Context(), level, "request", attrs...)
	})
}

// sessionInPath returns the session id of an /api/sessions/{sid}/… path.
func sessionInPath(p string) string {
	rest, ok := strings.CutPrefix(p, "/api/sessions/")
	if !ok {
		return ""
	}
	sid, _, _ := strings.Cut(rest, "/")
	return sid
}

// redactPath hides invite codes, which let anyone sign up, in a path
// that is logged: /join/{code}, /api/invites/{code}/… and
// /api/cohorts/{cid}/invites/{code}.
func redactPath(p string) string {
	segs := strings.Split(p, "/")
	changed := false
	for i := 1; i+1 < len(segs); i++ {
		if segs[i+1] == "" {
			continue
		}
		if i == 1 && segs[i] == "join" || segs[i] == "invites" && segs[1] == "api" {
			segs[i+1] = "{code}"
			changed = true
		}
	}
	if !changed {
		return p
	}
	return strings.Join(segs, "/")
}
