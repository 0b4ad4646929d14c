package web

import (
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/backlab/backlab/internal/cohort"
	"github.com/backlab/backlab/internal/ids"
	"github.com/backlab/backlab/internal/store"
)

// cohortView is a cohort as the API shows it.
type cohortView struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Labs    []string  `json:"labs"`
	Members int       `json:"members"`
	Created time.Time `json:"created_at"`
}

func toCohortView(c store.Cohort) cohortView {
	return cohortView{ID: c.ID, Name: c.Name, Labs: nonNilStrings(c.Labs), Members: c.Members, Created: c.Created}
}

// memberView is a learner of a cohort.
type memberView struct {
	ID     string    `json:"id"`
	Name   string    `json:"name"`
	Login  string    `json:"login"`
	Joined time.Time `json:"joined_at"`
}

func toMemberView(m store.Member) memberView {
	return memberView{ID: m.ID, Name: m.Name, Login: m.Login, Joined: m.Joined}
}

// cohortDetail is a cohort's page: its learners and invites.
type cohortDetail struct {
	Cohort   cohortView   `json:"cohort"`
	Learners []memberView `json:"learners"`
	Invites  []inviteView `json:"invites"`
}

func (s *Server) listCohorts(w http.ResponseWriter, r *http.Request) {
	u := s.user(r)
	staff := u.ID
	if u.Role == store.RoleAdmin {
		staff = ""
	}
	cs, err := s.cfg.Store.Cohorts(r.Context(), staff)
	if err != nil {
		s.internal(w, err)
		return
	}
	out := make([]cohortView, len(cs))
	for i, c := range cs {
		out[i] = toCohortView(c)
	}
	writeJSON(w, http.StatusOK, out)
}

// knownLab reports whether the catalog serves lab id.
func (s *Server) knownLab(id string) bool {
	_, ok := s.cfg.Manager.Lab(id)
	return ok
}

func (s *Server) allLabIDs() []string {
	var ids []string
	for _, l := range s.cfg.Manager.Labs() {
		ids = append(ids, l.ID)
	}
	return ids
}

func (s *Server) createCohort(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name string    `json:"name"`
		Labs *[]string `json:"labs"`
	}
	if !readJSON(w, r, 16<<10, &body) {
		return
	}
	name, err := cohort.Name(body.Name)
	if err != nil {
		s.refused(w, err, "")
		return
	}
	labs := s.allLabIDs()
	if body.Labs != nil {
		labs = *body.Labs
		if err := cohort.UnknownLabs(labs, s.knownLab); err != nil {
			s.refused(w, err, "GET /api/labs lists the labs")
			return
		}
	}
	c := store.Cohort{ID: ids.New(ids.Cohort), Name: name, CreatedBy: s.user(r).ID, Labs: labs}
	if err := s.cfg.Store.CreateCohort(r.Context(), c); err != nil {
		s.internal(w, err)
		return
	}
	created, err := s.cfg.Store.Cohort(r.Context(), c.ID)
	if err != nil {
		s.internal(w, err)
		return
	}
	s.log.Info("cohort created", "cohort", c.ID, "user", c.CreatedBy)
	writeJSON(w, http.StatusCreated, toCohortView(created))
}

func (s *Server) getCohort(w http.ResponseWriter, r *http.Request, c store.Cohort) {
	members, err := s.cfg.Store.CohortMembers(r.Context(), c.ID)
	if err != nil {
		s.internal(w, err)
		return
	}
	invites, err := s.cfg.Store.Invites(r.Context(), c.ID)
	if err != nil {
		s.internal(w, err)
		return
	}
	d := cohortDetail{Cohort: toCohortView(c), Learners: make([]memberView, len(members)), Invites: make([]inviteView, len(invites))}
	for i, m := range members {
		d.Learners[i] = toMemberView(m)
	}
	for i, in := range invites {
		d.Invites[i] = s.toInviteView(in)
	}
	writeJSON(w, http.StatusOK, d)
}

func (s *Server) renameCohort(w http.ResponseWriter, r *http.Request, c store.Cohort) {
	var body struct {
		Name string `json:"name"`
	}
	if !readJSON(w, r, 4<<10, &body) {
		return
	}
	name, err := cohort.Name(body.Name)
	if err != nil {
		s.refused(w, err, "")
		return
	}
	if err := s.cfg.Store.RenameCohort(r.Context(), c.ID, name); err != nil {
		s.internal(w, err)
		return
	}
	c.Name = name
	writeJSON(w, http.StatusOK, toCohortView(c))
}

func (s *Server) setCohortLabs(w http.ResponseWriter, r *http.Request, c store.Cohort) {
	var body struct {
		Labs *[]string `json:"labs"`
	}
	if !readJSON(w, r, 16<<10, &body) {
		return
	}
	if body.Labs == nil {
		writeError(w, http.StatusBadRequest, `the body needs "labs": the ids of the labs the cohort sees (may be empty)`, "")
		return
	}
	if err := cohort.UnknownLabs(*body.Labs, s.knownLab); err != nil {
		s.refused(w, err, "GET /api/labs lists the labs")
		return
	}
	if err := s.cfg.Store.SetCohortLabs(r.Context(), c.ID, *body.Labs); err != nil {
		s.internal(w, err)
		return
	}
	c, err := s.cfg.Store.Cohort(r.Context(), c.ID)
	if err != nil {
		s.internal(w, err)
		return
	}
	writeJSON(w, http.StatusOK, toCohortView(c))
}

func (s *Server) removeMember(w http.ResponseWriter, r *http.Request, c store.Cohort) {
	uid := r.PathValue("uid")
	err := s.cfg.Store.RemoveMember(r.Context(), c.ID, uid)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "no such learner in this cohort", "")
		return
	}
	if err != nil {
		s.internal(w, err)
		return
	}
	s.endHiddenSessions(r, c, uid)
	w.WriteHeader(http.StatusNoContent)
}

// endHiddenSessions stops the sessions of a learner just removed from c
// on the labs they no longer see. When what they see cannot be read, it
// stops their sessions of every lab of c.
func (s *Server) endHiddenSessions(r *http.Request, c store.Cohort, uid string) {
	keep := func(lab string) bool { return !slices.Contains(c.Labs, lab) }
	a, err := s.cfg.Store.AccountByID(r.Context(), uid)
	var visible cohort.Labs
	if err == nil {
		visible, err = s.visibleLabs(r, a.User)
	}
	if err == nil {
		keep = visible.Has
	} else {
		s.log.Error("labs a removed learner sees; ending their sessions of the cohort's labs", "user", uid, "cohort", c.ID, "err", err)
	}
	if n := s.cfg.Manager.EndSessions(uid, keep, "you were removed from "+c.Name+", so this lab is no longer yours to open"); n > 0 {
		s.log.Info("removed learner's sessions ended", "user", uid, "cohort", c.ID, "sessions", n)
	}
}
