package web

import (
	"net/http"
)

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

// labView is a lab's page: its text, tasks and checker steps.
type labView struct {
	ID               string     `json:"id"`
	Title            string     `json:"title"`
	Summary          string     `json:"summary"`
	Skills           []string   `json:"skills"`
	Difficulty       string     `json:"difficulty"`
	EstimatedMinutes int        `json:"estimated_minutes"`
	InstructionsHTML string     `json:"instructions_html"`
	Tasks            []taskView `json:"tasks"`
	Steps            []stepView `json:"steps"`
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

func (s *Server) listLabs(w http.ResponseWriter, r *http.Request) {
	u := s.user(r)
	prog, err := s.cfg.Store.Progress(r.Context(), u.ID)
	if err != nil {
		s.internal(w, err)
		return
	}
	visible, err := s.visibleLabs(r, u)
	if err != nil {
		s.internal(w, err)
		return
	}
	out := []labSummary{}
	for _, l := range s.cfg.Manager.Labs() {
		if !visible.Has(l.ID) {
			continue
		}
		e := labSummary{ID: l.ID, Title: l.Title, Summary: l.Summary, Skills: nonNilStrings(l.Skills), Difficulty: l.Difficulty,
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
	v := labView{ID: l.ID, Title: l.Title, Summary: l.Summary, Skills: nonNilStrings(l.Skills), Difficulty: l.Difficulty,
		EstimatedMinutes: l.EstimatedMinutes, InstructionsHTML: p.Instructions, Tasks: []taskView{}, Steps: []stepView{}}
	for _, t := range l.Tasks {
		v.Tasks = append(v.Tasks, taskView{ID: t.ID, Title: t.Title, InstructionsHTML: p.Tasks[t.ID], HintsTotal: len(t.Hints), Steps: nonNilStrings(t.Steps)})
	}
	for _, st := range l.Checker.Steps {
		v.Steps = append(v.Steps, stepView{ID: st.ID, Title: st.Title})
	}
	writeJSON(w, http.StatusOK, v)
}

// nonNilStrings returns s, or an empty list for nil, so that it encodes
// as [] rather than null.
func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
