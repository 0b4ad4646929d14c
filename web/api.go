package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/backlab/backlab/internal/session"
	"github.com/backlab/backlab/internal/store"
)

// route is one endpoint; the table is what the OpenAPI document is
// checked against.
type route struct {
	Method  string
	Pattern string
	Handler http.HandlerFunc
}

func (s *Server) routeTable() []route {
	return []route{
		{"GET", "/api/openapi.json", s.getOpenAPI},
		{"GET", "/api/me", s.getMe},
		{"POST", "/api/login", s.login},
		{"POST", "/api/logout", s.logout},
		{"POST", "/api/me/password", s.changePassword},
		{"GET", "/api/labs", s.listLabs},
		{"GET", "/api/labs/{lab}", s.getLab},
		{"POST", "/api/sessions", s.openSession},
		{"GET", "/api/sessions/{sid}", s.withSession(s.getSession)},
		{"POST", "/api/sessions/{sid}/reset", s.withSession(s.resetSession)},
		{"POST", "/api/sessions/{sid}/stop", s.withSession(s.stopSession)},
		{"POST", "/api/sessions/{sid}/keepalive", s.withSession(s.keepalive)},
		{"POST", "/api/sessions/{sid}/tasks/{task}/hints", s.withSession(s.revealHint)},
		{"GET", "/api/sessions/{sid}/events", s.withSession(s.events)},
		{"GET", "/api/sessions/{sid}/terminals", s.withSession(s.listTerminals)},
		{"POST", "/api/sessions/{sid}/terminals", s.withSession(s.newTerminal)},
		{"GET", "/api/sessions/{sid}/terminals/{tid}/ws", s.withSession(s.terminalWS)},
		{"GET", "/api/sessions/{sid}/files", s.withSession(s.listFiles)},
		{"GET", "/api/sessions/{sid}/file", s.withSession(s.readFile)},
		{"PUT", "/api/sessions/{sid}/file", s.withSession(s.writeFile)},
		{"GET", "/api/sessions/{sid}/checks", s.withSession(s.listChecks)},
		{"POST", "/api/sessions/{sid}/checks", s.withSession(s.startCheck)},
		{"GET", "/api/sessions/{sid}/checks/{run}", s.withSession(s.getCheck)},
		{"GET", "/api/invites/{code}", s.getInvite},
		{"POST", "/api/signup", s.signUp},
		{"POST", "/api/invites/{code}/join", s.joinCohort},
		{"GET", "/api/cohorts", s.staffOnly(s.listCohorts)},
		{"POST", "/api/cohorts", s.staffOnly(s.createCohort)},
		{"GET", "/api/cohorts/{cid}", s.withCohort(s.getCohort)},
		{"PATCH", "/api/cohorts/{cid}", s.withCohort(s.renameCohort)},
		{"PUT", "/api/cohorts/{cid}/labs", s.withCohort(s.setCohortLabs)},
		{"POST", "/api/cohorts/{cid}/invites", s.withCohort(s.createInvite)},
		{"DELETE", "/api/cohorts/{cid}/invites/{code}", s.withCohort(s.revokeInvite)},
		{"DELETE", "/api/cohorts/{cid}/learners/{uid}", s.withCohort(s.removeMember)},
		{"GET", "/api/cohorts/{cid}/progress", s.withCohort(s.cohortProgress)},
		{"GET", "/api/cohorts/{cid}/progress.csv", s.withCohort(s.cohortCSV)},
		{"GET", "/api/cohorts/{cid}/learners/{uid}/checks", s.withLearner(s.learnerChecks)},
		{"GET", "/api/cohorts/{cid}/learners/{uid}/checks/{run}", s.withLearner(s.learnerCheck)},
	}
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.routeTable() {
		mux.HandleFunc(rt.Method+" "+rt.Pattern, rt.Handler)
	}
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such API endpoint: "+r.Method+" "+r.URL.Path, "see /api/openapi.json")
	})
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(s.static)))
	mux.HandleFunc("GET /{$}", s.page)
	mux.HandleFunc("GET /labs/{lab}", s.page)
	mux.HandleFunc("GET /join/{code}", s.page)
	mux.HandleFunc("GET /account", s.page)
	mux.HandleFunc("GET /cohorts", s.page)
	mux.HandleFunc("GET /cohorts/{cid}", s.page)
	mux.HandleFunc("GET /cohorts/{cid}/learners/{uid}", s.page)
	return mux
}

// page serves the single page; the script routes on the path.
func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	if id := r.PathValue("lab"); id != "" {
		if _, ok := s.cfg.Manager.Lab(id); !ok {
			w.WriteHeader(http.StatusNotFound)
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(s.index)
}

func (s *Server) getOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(openAPI)
}

func (s *Server) getMe(w http.ResponseWriter, r *http.Request) {
	u := s.user(r)
	if u.ID == "" {
		writeError(w, http.StatusUnauthorized, "log in first", "")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": u, "auth": s.cfg.Auth})
}

// labSummary is a catalog entry.
type labSummary struct {
	ID               string   `json:"id"`
	Title            string   `json:"title"`
	Summary          string   `json:"summary"`
	Skills           []string `json:"skills"`
	Difficulty       string   `json:"difficulty"`
	EstimatedMinutes int      `json:"estimated_minutes"`
	Status           string   `json:"status"` // not_started, in_progress, passed
	SessionID        string   `json:"session_id"`
}

func (s *Server) listLabs(w http.ResponseWriter, r *http.Request) {
	u := s.user(r)
	prog, err := s.cfg.Store.Progress(r.Context(), u.ID)
	if err != nil {
		s.internal(w, err)
		return
	}
	visible, all, err := s.visibleLabs(r, u)
	if err != nil {
		s.internal(w, err)
		return
	}
	out := []labSummary{}
	for _, l := range s.cfg.Manager.Labs() {
		if !all && !visible[l.ID] {
			continue
		}
		e := labSummary{ID: l.ID, Title: l.Title, Summary: l.Summary, Skills: l.Skills, Difficulty: l.Difficulty,
			EstimatedMinutes: l.EstimatedMinutes, Status: "not_started"}
		if p, ok := prog[l.ID]; ok {
			e.Status = "in_progress"
			if p.Passed {
				e.Status = "passed"
			}
		}
		if sess := s.cfg.Manager.Live(u.ID, l.ID); sess != nil {
			e.SessionID = sess.ID
			if e.Status == "not_started" {
				e.Status = "in_progress"
			}
		}
		out = append(out, e)
	}
	writeJSON(w, http.StatusOK, out)
}

type taskView struct {
	ID               string   `json:"id"`
	Title            string   `json:"title"`
	InstructionsHTML string   `json:"instructions_html"`
	HintsTotal       int      `json:"hints_total"`
	Steps            []string `json:"steps"`
}

type stepView struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

func (s *Server) getLab(w http.ResponseWriter, r *http.Request) {
	l, ok := s.cfg.Manager.Lab(r.PathValue("lab"))
	if !ok {
		writeError(w, http.StatusNotFound, "no such lab: "+r.PathValue("lab"), "pick one from the catalog")
		return
	}
	if !s.canSeeLab(w, r, s.user(r), l.ID) {
		return
	}
	p := s.labs[l.ID]
	tasks := []taskView{}
	for _, t := range l.Tasks {
		tasks = append(tasks, taskView{ID: t.ID, Title: t.Title, InstructionsHTML: p.Tasks[t.ID], HintsTotal: len(t.Hints), Steps: nonNilStrings(t.Steps)})
	}
	steps := []stepView{}
	for _, st := range l.Checker.Steps {
		steps = append(steps, stepView{ID: st.ID, Title: st.Title})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": l.ID, "title": l.Title, "summary": l.Summary, "skills": l.Skills, "difficulty": l.Difficulty,
		"estimated_minutes": l.EstimatedMinutes, "instructions_html": p.Instructions, "tasks": tasks, "steps": steps,
	})
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// sessionView is the API's session: the manager's view plus what the
// store keeps.
type sessionView struct {
	session.View
	Hints     map[string][]string `json:"hints"`
	LastCheck *checkView          `json:"last_check"`
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
		v.Hints[task] = hs[:min(n, len(hs))]
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
	var limit *session.LimitError
	if errors.As(err, &limit) {
		s.log.Info("session refused", "lab", body.Lab, "user", s.user(r).ID, "limit", limit.Kind)
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

func (s *Server) respondSession(w http.ResponseWriter, r *http.Request, status int, sess *session.Session) {
	v, err := s.viewOf(r.Context(), sess)
	if err != nil {
		s.internal(w, err)
		return
	}
	writeJSON(w, status, v)
}

// sessionHandler is a handler for one session its owner asked for.
type sessionHandler func(w http.ResponseWriter, r *http.Request, sess *session.Session)

// withSession finds the session named in the path and checks that the
// user owns it. Another user's session is answered as not found, so its
// existence does not show.
func (s *Server) withSession(h sessionHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sid := r.PathValue("sid")
		sess, ok := s.cfg.Manager.Get(sid)
		if !ok || sess.UserID != s.user(r).ID {
			if ok {
				s.log.Warn("refused another user's session", "session", sid, "user", s.user(r).ID)
			}
			writeError(w, http.StatusNotFound, "no such session: "+sid, "open the lab again from the catalog")
			return
		}
		h(w, r, sess)
	}
}

func (s *Server) getSession(w http.ResponseWriter, r *http.Request, sess *session.Session) {
	s.respondSession(w, r, http.StatusOK, sess)
}

func (s *Server) resetSession(w http.ResponseWriter, r *http.Request, sess *session.Session) {
	s.log.Info("session reset", "session", sess.ID)
	sess.Reset()
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
	writeJSON(w, http.StatusOK, map[string]any{"expires_at": exp})
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
	writeJSON(w, http.StatusOK, map[string]any{"index": n - 1, "total": len(hints), "html": hints[n-1]})
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

func (s *Server) listFiles(w http.ResponseWriter, r *http.Request, sess *session.Session) {
	files, err := sess.Files(r.Context())
	if errors.Is(err, session.ErrNotRunning) {
		notRunning(w, sess)
		return
	}
	if err != nil {
		s.internal(w, err)
		return
	}
	if files == nil {
		files = []session.FileEntry{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"root": sess.WorkDir(), "entries": files})
}

func (s *Server) readFile(w http.ResponseWriter, r *http.Request, sess *session.Session) {
	p := r.URL.Query().Get("path")
	b, err := sess.ReadFile(r.Context(), p)
	if s.fileError(w, sess, err) {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"path": path.Clean(p), "content": string(b), "size": len(b)})
}

func (s *Server) writeFile(w http.ResponseWriter, r *http.Request, sess *session.Session) {
	var body struct {
		Content *string `json:"content"`
	}
	if !readJSON(w, r, session.MaxFileSize*2+4<<10, &body) {
		return
	}
	if body.Content == nil {
		writeError(w, http.StatusBadRequest, `the body needs "content": the file's new text`, "")
		return
	}
	p := r.URL.Query().Get("path")
	err := sess.WriteFile(r.Context(), p, []byte(*body.Content))
	if s.fileError(w, sess, err) {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"path": path.Clean(p), "size": len(*body.Content)})
}

func (s *Server) fileError(w http.ResponseWriter, sess *session.Session, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, session.ErrNotRunning):
		notRunning(w, sess)
	case errors.Is(err, session.ErrBadPath):
		writeError(w, http.StatusBadRequest, strings.TrimPrefix(err.Error(), session.ErrBadPath.Error()+": "), "")
	default:
		s.internal(w, err)
	}
	return true
}

// checkView is a check run as the API shows it.
type checkView struct {
	ID         string          `json:"id"`
	Started    time.Time       `json:"started_at"`
	Finished   *time.Time      `json:"finished_at"`
	Outcome    string          `json:"outcome"`
	Error      string          `json:"error,omitempty"`
	Steps      json.RawMessage `json:"steps"`
	Metrics    json.RawMessage `json:"metrics"`
	DurationMS int64           `json:"duration_ms"`
	Events     json.RawMessage `json:"events,omitempty"`
}

func toCheckView(c store.CheckRun) checkView {
	v := checkView{ID: c.ID, Started: c.Started, Outcome: c.Outcome, Error: c.Error, Steps: json.RawMessage("[]"), Metrics: json.RawMessage("[]")}
	if !c.Finished.IsZero() {
		f := c.Finished
		v.Finished = &f
	}
	var res struct {
		Steps      json.RawMessage `json:"steps"`
		Metrics    json.RawMessage `json:"metrics"`
		DurationMS int64           `json:"duration_ms"`
	}
	if json.Unmarshal(c.Result, &res) == nil {
		if len(res.Steps) > 0 && string(res.Steps) != "null" {
			v.Steps = res.Steps
		}
		if len(res.Metrics) > 0 && string(res.Metrics) != "null" {
			v.Metrics = res.Metrics
		}
		v.DurationMS = res.DurationMS
	}
	return v
}

func (s *Server) listChecks(w http.ResponseWriter, r *http.Request, sess *session.Session) {
	runs, err := s.cfg.Store.CheckRuns(r.Context(), sess.ID)
	if err != nil {
		s.internal(w, err)
		return
	}
	out := make([]checkView, len(runs))
	for i, c := range runs {
		out[i] = toCheckView(c)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getCheck(w http.ResponseWriter, r *http.Request, sess *session.Session) {
	runs, err := s.cfg.Store.CheckRuns(r.Context(), sess.ID)
	if err != nil {
		s.internal(w, err)
		return
	}
	for _, c := range runs {
		if c.ID != r.PathValue("run") {
			continue
		}
		evs, err := s.cfg.Store.CheckEvents(r.Context(), c.ID)
		if err != nil {
			s.internal(w, err)
			return
		}
		v := toCheckView(c)
		v.Events, _ = json.Marshal(evs)
		writeJSON(w, http.StatusOK, v)
		return
	}
	writeError(w, http.StatusNotFound, "no such check run in this session: "+r.PathValue("run"), "")
}

func (s *Server) startCheck(w http.ResponseWriter, r *http.Request, sess *session.Session) {
	run, err := sess.StartCheck(r.Context())
	switch {
	case errors.Is(err, session.ErrNotRunning):
		notRunning(w, sess)
	case errors.Is(err, session.ErrCheckRunning):
		writeError(w, http.StatusConflict, "a check is already running", "wait for its result")
	case err != nil:
		s.internal(w, err)
	default:
		writeJSON(w, http.StatusAccepted, map[string]string{"run": run})
	}
}

// internal answers an error that is the server's, not the caller's.
func (s *Server) internal(w http.ResponseWriter, err error) {
	s.log.Error("request failed", "err", err)
	writeError(w, http.StatusInternalServerError, "the server failed: "+err.Error(), "try again; if it keeps failing, the server log has the details")
}
