package web

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"time"

	"github.com/backlab/backlab/internal/cohort"
	"github.com/backlab/backlab/internal/store"
)

// dashboard is a cohort's learners × labs grid as the API shows it
// (computed by cohort.Dashboard).
type dashboard struct {
	Cohort   cohortView     `json:"cohort"`
	Labs     []labRef       `json:"labs"`
	Learners []learnerRow   `json:"learners"`
	Passed   map[string]int `json:"passed"` // learners who passed, by lab
	InLab    int            `json:"in_session"`
}

type labRef struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

type learnerRow struct {
	memberView
	Live []liveView          `json:"live"`
	Labs map[string]cellView `json:"labs"`
}

// liveView is the session a learner is in right now.
type liveView struct {
	SessionID string    `json:"session_id"`
	Lab       string    `json:"lab"`
	State     string    `json:"state"`
	Since     time.Time `json:"since"`
	Checking  bool      `json:"checking"`
}

// cellView is one learner's record on one lab.
type cellView struct {
	Status            cohort.Status `json:"status"`
	Attempts          int           `json:"attempts"`
	Sessions          int           `json:"sessions"`
	FirstAt           *time.Time    `json:"first_at"`
	LastAt            *time.Time    `json:"last_at"`
	PassedAt          *time.Time    `json:"passed_at"`
	TimeToPassSeconds *int64        `json:"time_to_pass_seconds"`
}

// grid gathers what cohort c's dashboard is computed from and computes it.
func (s *Server) grid(r *http.Request, c store.Cohort) (cohort.Grid, error) {
	members, err := s.cfg.Store.CohortMembers(r.Context(), c.ID)
	if err != nil {
		return cohort.Grid{}, err
	}
	prog, err := s.cfg.Store.CohortProgress(r.Context(), c.ID)
	if err != nil {
		return cohort.Grid{}, err
	}
	in := cohort.Input{Cohort: c, Members: members, Progress: prog, Live: s.live}
	for _, l := range s.cfg.Manager.Labs() {
		in.Catalog = append(in.Catalog, cohort.Lab{ID: l.ID, Title: l.Title})
	}
	return cohort.Dashboard(in), nil
}

// live finds a learner's live session on a lab.
func (s *Server) live(userID, labID string) (cohort.Live, bool) {
	sess := s.cfg.Manager.Live(userID, labID)
	if sess == nil {
		return cohort.Live{}, false
	}
	v := sess.View()
	return cohort.Live{SessionID: v.ID, Lab: labID, State: v.State, Since: v.Created, Checking: v.Checking}, true
}

func toDashboard(c store.Cohort, g cohort.Grid) dashboard {
	d := dashboard{Cohort: toCohortView(c), Labs: make([]labRef, len(g.Labs)), Learners: make([]learnerRow, len(g.Learners)),
		Passed: g.Passed, InLab: g.InSession}
	for i, l := range g.Labs {
		d.Labs[i] = labRef{ID: l.ID, Title: l.Title}
	}
	for i, row := range g.Learners {
		lr := learnerRow{memberView: toMemberView(row.Learner), Live: make([]liveView, len(row.Live)), Labs: map[string]cellView{}}
		for j, lv := range row.Live {
			lr.Live[j] = liveView{SessionID: lv.SessionID, Lab: lv.Lab, State: lv.State, Since: lv.Since, Checking: lv.Checking}
		}
		for lab, cell := range row.Labs {
			lr.Labs[lab] = toCellView(cell)
		}
		d.Learners[i] = lr
	}
	return d
}

func toCellView(c cohort.Cell) cellView {
	v := cellView{Status: c.Status, Attempts: c.Attempts, Sessions: c.Sessions,
		FirstAt: timePtr(c.First), LastAt: timePtr(c.Last), PassedAt: timePtr(c.Passed)}
	if secs, ok := c.TimeToPassSeconds(); ok {
		v.TimeToPassSeconds = &secs
	}
	return v
}

// timePtr is t, or nil (null) when it is zero.
func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (s *Server) cohortProgress(w http.ResponseWriter, r *http.Request, c store.Cohort) {
	g, err := s.grid(r, c)
	if err != nil {
		s.internal(w, err)
		return
	}
	writeJSON(w, http.StatusOK, toDashboard(c, g))
}

// cohortCSV exports the dashboard: one row per learner and lab.
func (s *Server) cohortCSV(w http.ResponseWriter, r *http.Request, c store.Cohort) {
	g, err := s.grid(r, c)
	if err != nil {
		s.internal(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="cohort-%s-%s.csv"`, c.ID, time.Now().UTC().Format("2006-01-02")))
	cw := csv.NewWriter(w)
	cw.WriteAll(cohort.CSV(g))
}
