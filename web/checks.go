package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/backlab/backlab/internal/cohort"
	"github.com/backlab/backlab/internal/session"
	"github.com/backlab/backlab/internal/store"
)

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

// checkStarted names a check run just started; its events follow on the
// session's WebSocket.
type checkStarted struct {
	Run string `json:"run"`
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
		writeJSON(w, http.StatusAccepted, checkStarted{Run: run})
	}
}

// learnerCheckView is a check run of a cohort's learner: which lab it
// checked, too.
type learnerCheckView struct {
	checkView
	Lab string `json:"lab"`
}

// learnerChecksView is a learner's check runs on the cohort's labs.
type learnerChecksView struct {
	Learner memberView         `json:"learner"`
	Checks  []learnerCheckView `json:"checks"`
}

// learnerChecks lists a learner's check runs on the cohort's labs, newest
// first.
func (s *Server) learnerChecks(w http.ResponseWriter, r *http.Request, c store.Cohort, m store.Member) {
	out := learnerChecksView{Learner: toMemberView(m), Checks: []learnerCheckView{}}
	if len(c.Labs) > 0 {
		runs, err := s.cfg.Store.UserCheckRuns(r.Context(), m.ID, c.Labs...)
		if err != nil {
			s.internal(w, err)
			return
		}
		for _, run := range runs {
			out.Checks = append(out.Checks, learnerCheckView{toCheckView(run), run.LabID})
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// learnerCheck is one of a learner's check runs with every event it
// streamed.
func (s *Server) learnerCheck(w http.ResponseWriter, r *http.Request, c store.Cohort, m store.Member) {
	run, err := s.cfg.Store.CheckRun(r.Context(), r.PathValue("run"))
	if err == nil && !cohort.ShowsRun(c, m.ID, run) {
		err = store.ErrNotFound
	}
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "this learner has no such check run in this cohort's labs", "")
		return
	}
	if err != nil {
		s.internal(w, err)
		return
	}
	evs, err := s.cfg.Store.CheckEvents(r.Context(), run.ID)
	if err != nil {
		s.internal(w, err)
		return
	}
	v := toCheckView(run)
	v.Events, _ = json.Marshal(evs)
	writeJSON(w, http.StatusOK, learnerCheckView{v, run.LabID})
}
