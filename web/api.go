package web

import (
	"net/http"

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

// meView is who the requests act as.
type meView struct {
	User store.User `json:"user"`
	Auth bool       `json:"auth"` // whether the server requires logins
}

func (s *Server) getMe(w http.ResponseWriter, r *http.Request) {
	u := s.user(r)
	if u.ID == "" {
		writeError(w, http.StatusUnauthorized, "log in first", "")
		return
	}
	writeJSON(w, http.StatusOK, meView{User: u, Auth: s.cfg.Auth})
}

// internal answers an error that is the server's, not the caller's. The
// error's text (the store's, the engine's) goes to the log under the
// request's id; the caller gets the id only.
func (s *Server) internal(w http.ResponseWriter, err error) {
	id := w.Header().Get("X-Request-Id") // set by logged
	s.log.Error("request failed", "request_id", id, "err", err)
	writeJSON(w, http.StatusInternalServerError, apiError{Error: "the server failed", RequestID: id,
		Advice: "try again; if it keeps failing, give the request id " + id + " to the admin: the server log has the details under it"})
}
