package web

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/backlab/backlab/internal/auth"
	"github.com/backlab/backlab/internal/store"
)

const (
	loginCookie = "backlab_login"
	// LoginTTL is how long a login lasts.
	LoginTTL = 14 * 24 * time.Hour
)

type userKey struct{}

// withUser stores who makes the request.
func withUser(ctx context.Context, u store.User) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

// user returns who makes the request; the zero User when nobody is
// logged in (only on the paths that need no login).
func (s *Server) user(r *http.Request) store.User {
	u, _ := r.Context().Value(userKey{}).(store.User)
	return u
}

// public reports whether a path is served to browsers that are not
// logged in: the page and its assets (which show the login form), the
// API description, logging in, and signing up with an invite.
func public(method, path string) bool {
	switch {
	case method == http.MethodGet && (path == "/" || strings.HasPrefix(path, "/labs/") || strings.HasPrefix(path, "/static/") ||
		strings.HasPrefix(path, "/join/") || strings.HasPrefix(path, "/cohorts")):
		return true
	case method == http.MethodGet && path == "/account":
		return true
	case path == "/api/openapi.json" || path == "/api/login" || path == "/api/me" || path == "/api/signup":
		return true
	case method == http.MethodGet && strings.HasPrefix(path, "/api/invites/") && strings.Count(path, "/") == 3:
		return true
	}
	return false
}

// authenticate resolves the request's user. Without logins every request
// is the local user; with logins the login cookie names the user, and
// every path but the public ones answers 401 without it.
func (s *Server) authenticate(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.cfg.Auth {
			h.ServeHTTP(w, r.WithContext(withUser(r.Context(), s.cfg.User)))
			return
		}
		if strings.HasPrefix(r.URL.Path, "/static/") {
			h.ServeHTTP(w, r) // assets need no user: no store lookup
			return
		}
		if c, err := r.Cookie(loginCookie); err == nil && c.Value != "" {
			u, err := s.cfg.Store.LoginUser(r.Context(), auth.HashToken(c.Value))
			if err == nil {
				h.ServeHTTP(w, r.WithContext(withUser(r.Context(), u)))
				return
			}
			if !errors.Is(err, store.ErrNotFound) {
				s.internal(w, err)
				return
			}
		}
		if !public(r.Method, r.URL.Path) {
			writeError(w, http.StatusUnauthorized, "log in first", "your login is missing or expired: log in again")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// loggedIn is the account a browser is now logged in as.
type loggedIn struct {
	User store.User `json:"user"`
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if !s.cfg.Auth {
		writeError(w, http.StatusConflict, "this server needs no login", "")
		return
	}
	var body struct {
		Login    string `json:"login"`
		Password string `json:"password"`
	}
	if !readJSON(w, r, 4<<10, &body) {
		return
	}
	name := strings.ToLower(strings.TrimSpace(body.Login))
	// A name no account can have is refused before it costs a hash or a
	// place in the throttle's state.
	if err := auth.CheckLogin(name); err != nil {
		writeError(w, http.StatusBadRequest, err.Error(), "type the login name of your account")
		return
	}
	now := time.Now()
	addr := s.clientAddr(r)
	if s.throttled(w, name, addr, now) {
		return
	}
	acct, err := s.cfg.Store.AccountByLogin(r.Context(), name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		// A wrong name takes as long as a wrong password.
		err = s.hasher.VerifyNobody(body.Password)
	case err != nil:
		s.internal(w, err)
		return
	default:
		err = s.hasher.Verify(acct.PasswordHash, body.Password)
	}
	if errors.Is(err, auth.ErrBusy) {
		busy(w)
		return
	}
	if err != nil {
		s.throttle.Failed(name, addr, now)
		s.log.Warn("failed login", "login", name, "client", addr)
		writeError(w, http.StatusUnauthorized, "wrong login or password", "")
		return
	}
	s.throttle.Succeeded(name, addr, now)
	if !s.startLogin(w, r, acct) {
		return
	}
	s.log.Info("login", "user", acct.ID, "login", name, "client", addr)
	writeJSON(w, http.StatusOK, loggedIn{User: acct.User})
}

// throttled answers 429 when the throttle holds attempts for name from
// addr, and reports whether it did.
func (s *Server) throttled(w http.ResponseWriter, name string, addr netip.Addr, now time.Time) bool {
	wait, scope := s.throttle.Wait(name, addr, now)
	if wait <= 0 {
		return false
	}
	var msg string
	switch scope {
	case auth.ScopeAddress:
		msg = "too many failed logins from your address"
	case auth.ScopeName:
		msg = "too many failed logins for " + name + " from addresses it has not logged in from"
	default:
		msg = "too many failed logins for " + name + " from your address"
	}
	w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
	writeError(w, http.StatusTooManyRequests, msg, "wait "+wait.Round(time.Second).String()+" and try again")
	return true
}

// busy answers a request that found no place to check or hash a password.
func busy(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "1")
	writeError(w, http.StatusTooManyRequests, "the server is busy checking other passwords", "try again in a moment")
}

// hashPassword hashes password through the bounded hasher; when it cannot
// (busy: 429, or failed: 500) it answers the request itself and returns
// false.
func (s *Server) hashPassword(w http.ResponseWriter, password string) (string, bool) {
	hash, err := s.hasher.Hash(password)
	if errors.Is(err, auth.ErrBusy) {
		busy(w)
		return "", false
	} else if err != nil {
		s.internal(w, err)
		return "", false
	}
	return hash, true
}

// startLogin records a new login of acct and sets its cookie; on error it
// answers the request itself and returns false.
func (s *Server) startLogin(w http.ResponseWriter, r *http.Request, acct store.Account) bool {
	token, hash := auth.NewToken()
	if err := s.cfg.Store.CreateLogin(r.Context(), hash, acct.ID, time.Now().Add(LoginTTL)); err != nil {
		s.internal(w, err)
		return false
	}
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: token, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: s.cfg.PublicURL.Scheme == "https", MaxAge: int(LoginTTL / time.Second)})
	return true
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(loginCookie); err == nil && c.Value != "" {
		if err := s.cfg.Store.DeleteLogin(r.Context(), auth.HashToken(c.Value)); err != nil {
			s.internal(w, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: "", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: -1})
	w.WriteHeader(http.StatusNoContent)
}

// changePassword sets a new password for the logged-in account, after
// checking the current one. Every other browser of the account is logged
// out; this one gets a new login.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) {
	if !s.cfg.Auth {
		writeError(w, http.StatusConflict, "this server needs no login, so there is no password to change", "")
		return
	}
	var body struct {
		Current string `json:"current"`
		New     string `json:"new"`
	}
	if !readJSON(w, r, 4<<10, &body) {
		return
	}
	acct, err := s.cfg.Store.AccountByID(r.Context(), s.user(r).ID)
	if err != nil {
		s.internal(w, err)
		return
	}
	now := time.Now()
	addr := s.clientAddr(r)
	if s.throttled(w, acct.Login, addr, now) {
		return
	}
	// 403, not 401: the browser is logged in, the password is wrong.
	if err := s.hasher.Verify(acct.PasswordHash, body.Current); errors.Is(err, auth.ErrBusy) {
		busy(w)
		return
	} else if err != nil {
		s.throttle.Failed(acct.Login, addr, now)
		writeError(w, http.StatusForbidden, "the current password is wrong", "type the password you log in with now")
		return
	}
	if err := auth.CheckPassword(body.New); err != nil {
		writeError(w, http.StatusBadRequest, "the new password: "+err.Error(), "")
		return
	}
	if body.New == body.Current {
		writeError(w, http.StatusBadRequest, "the new password is the current one", "pick another")
		return
	}
	hash, ok := s.hashPassword(w, body.New)
	if !ok {
		return
	}
	if err := s.cfg.Store.SetPassword(r.Context(), acct.Login, hash); err != nil {
		s.internal(w, err)
		return
	}
	if !s.startLogin(w, r, acct) {
		return
	}
	s.log.Info("password changed", "user", acct.ID)
	writeJSON(w, http.StatusOK, loggedIn{User: acct.User})
}
