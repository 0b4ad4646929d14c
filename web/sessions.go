package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/backlab/backlab/internal/session"
	"github.com/backlab/backlab/internal/store"
)

// sessionView is the API's session: the manager's view plus what the
// store keeps.
type sessionView struct {
	session.View
	Hints     map[string][]string `json:"hints"`
	LastCheck *checkView          `json:"last_check"`
}

// keepaliveView says when an idle sandbox now expires.
type keepaliveView struct {
	ExpiresAt time.Time `json:"expires_at"`
}

// hintView is a hint just revealed: its place among the task's hints.
type hintView struct {
	Index int    `json:"index"`
	Total int    `json:"total"`
	HTML  string `json:"html"`
}

func (s *Server) viewOf(ctx context.Context, sess *session.Session) (sessionView, error) {
	v := sessionView{View: sess.View(), Hints: map[string][]string{}}
	revealed, err := s.cfg.Store.Hints(ctx, sess.ID)
	if err != nil {
		return v, err
	}
	p := s.labs[sess.Lab.ID]
	for task, n := range revealed {
		hs := p.Hints[task]
		v.Hints[task] = append([]string{}, hs[:min(n, len(hs))]...)
	}
	runs, err := s.cfg.Store.CheckRuns(ctx, sess.ID)
	if err != nil {
		return v, err
	}
	if len(runs) > 0 {
		c := toCheckView(runs[0])
		v.LastCheck = &c
	}
	return v, nil
}

func (s *Server) openSession(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Lab string `json:"lab"`
	}
	if !readJSON(w, r, 4<<10, &body) {
		return
	}
	if !s.canSeeLab(w, r, s.user(r), body.Lab) {
		return
	}
	sess, created, err := s.cfg.Manager.Open(r.Context(), s.user(r).ID, body.Lab)
	if errors.Is(err, session.ErrNoLab) {
		writeError(w, http.StatusNotFound, "no such lab: "+body.Lab, "pick one from the catalog")
		return
	}
	if s.refuseLimit(w, r, body.Lab, err) {
		return
	}
	if err != nil {
		s.internal(w, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		s.log.Info("session created", "session", sess.ID, "lab", body.Lab, "user", s.user(r).ID)
	}
	s.respondSession(w, r, status, sess)
}

// refuseLimit answers a start that a limit refused, with the status,
// advice and Retry-After of that limit, the same for every path that
// starts a sandbox (open, reset); it reports whether err was one.
func (s *Server) refuseLimit(w http.ResponseWriter, r *http.Request, labID string, err error) bool {
	var limit *session.LimitError
	if !errors.As(err, &limit) {
		return false
	}
	s.log.Info("sandbox start refused", "lab", labID, "user", s.user(r).ID, "limit", limit.Kind)
	status := map[session.LimitKind]int{
		session.LimitPerUser: http.StatusConflict, session.LimitRate: http.StatusTooManyRequests,
	}[limit.Kind]
	if status == 0 {
		status = http.StatusServiceUnavailable
	}
	if limit.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(limit.RetryAfter.Round(time.Second)/time.Second)))
	}
	advice := map[session.LimitKind]string{
		session.LimitPerUser:  "stop a lab you are not using (its check history is kept), then open this one",
		session.LimitRate:     "wait a little, then open the lab again",
		session.LimitCapacity: "wait and retry; others' idle sandboxes stop by themselves",
		session.LimitDisk:     "tell your instructor or admin: the server needs disk space",
	}[limit.Kind]
	writeError(w, status, limit.Message, advice)
	return true
}

func (s *Server) respondSession(w http.ResponseWriter, r *http.Request, status int, sess *session.Session) {
	v, err := s.viewOf(r.Context(), sess)
	if err != nil {
		s.internal(w, err)
		return
	}
	writeJSON(w, status, v)
}

func (s *Server) getSession(w http.ResponseWriter, r *http.Request, sess *session.Session) {
	s.respondSession(w, r, http.StatusOK, sess)
}

func (s *Server) resetSession(w http.ResponseWriter, r *http.Request, sess *session.Session) {
	// A reset starts a sandbox: the lab must still be one the user may
	// open, and the start passes the limits a new session does.
	if !s.canSeeLab(w, r, s.user(r), sess.Lab.ID) {
		return
	}
	err := sess.Reset()
	if s.refuseLimit(w, r, sess.Lab.ID, err) {
		return
	}
	if errors.Is(err, session.ErrGone) {
		writeError(w, http.StatusNotFound, "no such session: "+sess.ID, "open the lab again from the catalog")
		return
	}
	if err != nil {
		s.internal(w, err)
		return
	}
	s.log.Info("session reset", "session", sess.ID)
	s.respondSession(w, r, http.StatusOK, sess)
}

func (s *Server) stopSession(w http.ResponseWriter, r *http.Request, sess *session.Session) {
	s.log.Info("session stopped by its learner", "session", sess.ID)
	sess.Stop(store.StateStopped, "stopped by you")
	s.respondSession(w, r, http.StatusOK, sess)
}

func (s *Server) keepalive(w http.ResponseWriter, r *http.Request, sess *session.Session) {
	exp := sess.Touch()
	if exp.IsZero() {
		writeError(w, http.StatusConflict, "the sandbox is not running", "start the lab again")
		return
	}
	writeJSON(w, http.StatusOK, keepaliveView{ExpiresAt: exp})
}

func (s *Server) revealHint(w http.ResponseWriter, r *http.Request, sess *session.Session) {
	task := r.PathValue("task")
	hints, ok := s.labs[sess.Lab.ID].Hints[task]
	if !ok {
		if !hasTask(sess, task) {
			writeError(w, http.StatusNotFound, "no such task: "+task, "")
			return
		}
	}
	n, more, err := s.cfg.Store.RevealHint(r.Context(), sess.ID, task, len(hints))
	if err != nil {
		s.internal(w, err)
		return
	}
	if !more {
		writeError(w, http.StatusConflict, "every hint of this task is shown already", "")
		return
	}
	writeJSON(w, http.StatusOK, hintView{Index: n - 1, Total: len(hints), HTML: hints[n-1]})
}

func hasTask(sess *session.Session, id string) bool {
	for _, t := range sess.Lab.Tasks {
		if t.ID == id {
			return true
		}
	}
	return false
}

// notRunning answers a request that needs a running sandbox.
func notRunning(w http.ResponseWriter, sess *session.Session) {
	v := sess.View()
	writeError(w, http.StatusConflict, "the sandbox is "+v.State+", not running", "wait until it is ready, or start the lab again")
}

func (s *Server) listTerminals(w http.ResponseWriter, r *http.Request, sess *session.Session) {
	writeJSON(w, http.StatusOK, sess.View().Terminals)
}

func (s *Server) newTerminal(w http.ResponseWriter, r *http.Request, sess *session.Session) {
	t, err := sess.NewTerminal(r.Context(), defaultSize)
	switch {
	case errors.Is(err, session.ErrNotRunning):
		notRunning(w, sess)
	case errors.Is(err, session.ErrTooMany):
		writeError(w, http.StatusConflict, err.Error(), "close a terminal (type exit) first")
	case err != nil:
		s.internal(w, err)
	default:
		writeJSON(w, http.StatusCreated, session.TermInfo{ID: t.ID, Title: t.Title})
	}
}
