package web

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/backlab/backlab/internal/auth"
	"github.com/backlab/backlab/internal/labrun"
	"github.com/backlab/backlab/internal/store"
)

// Invites: defaults and bounds of what an instructor may ask for.
const (
	defaultInviteUses  = 50
	maxInviteUses      = 1000
	defaultInviteHours = 14 * 24
	maxInviteHours     = 90 * 24
	maxNameLen         = 80
)

// isStaff reports whether u may see cohorts at all.
func isStaff(u store.User) bool { return u.Role == store.RoleInstructor || u.Role == store.RoleAdmin }

// visibleLabs returns the lab ids u may see and open; all is true when
// that is every lab (staff, the local user, a learner in no cohort).
func (s *Server) visibleLabs(r *http.Request, u store.User) (ids map[string]bool, all bool, err error) {
	if !s.cfg.Auth || isStaff(u) {
		return nil, true, nil
	}
	labs, inCohort, err := s.cfg.Store.VisibleLabs(r.Context(), u.ID)
	if err != nil || !inCohort {
		return nil, err == nil, err
	}
	ids = map[string]bool{}
	for _, l := range labs {
		ids[l] = true
	}
	return ids, false, nil
}

// canSeeLab reports whether u may see lab id; it answers the request
// itself when not (404, as for a lab that does not exist) or on error.
func (s *Server) canSeeLab(w http.ResponseWriter, r *http.Request, u store.User, id string) bool {
	ids, all, err := s.visibleLabs(r, u)
	if err != nil {
		s.internal(w, err)
		return false
	}
	if !all && !ids[id] {
		writeError(w, http.StatusNotFound, "no such lab: "+id, "your cohort's labs are listed on the catalog page")
		return false
	}
	return true
}

// inviteView is an invite as the API shows it.
type inviteView struct {
	Code      string     `json:"code"`
	URL       string     `json:"url"`
	Cohort    string     `json:"cohort"`
	CohortID  string     `json:"cohort_id,omitempty"`
	Role      string     `json:"role"`
	Created   time.Time  `json:"created_at"`
	Expires   time.Time  `json:"expires_at"`
	MaxUses   int        `json:"max_uses"`
	Uses      int        `json:"uses"`
	Revoked   *time.Time `json:"revoked_at"`
	Usable    bool       `json:"usable"`
	Unusable  string     `json:"unusable,omitempty"` // why not
	CreatedBy string     `json:"created_by,omitempty"`
}

func (s *Server) inviteURL(code string) string {
	return strings.TrimRight(s.cfg.PublicURL.String(), "/") + "/join/" + code
}

func (s *Server) toInviteView(in store.Invite) inviteView {
	v := inviteView{Code: in.Code, URL: s.inviteURL(in.Code), Cohort: in.CohortName, CohortID: in.CohortID, Role: in.Role,
		Created: in.Created, Expires: in.Expires, MaxUses: in.MaxUses, Uses: in.Uses, Usable: true, CreatedBy: in.CreatedBy}
	if !in.Revoked.IsZero() {
		t := in.Revoked
		v.Revoked = &t
	}
	if err := in.Usable(time.Now()); err != nil {
		v.Usable, v.Unusable = false, inviteReason(err)
	}
	return v
}

// inviteReason is the part of an invite error meant for people.
func inviteReason(err error) string {
	if ie, ok := errors.AsType[*store.InviteError](err); ok {
		return ie.Reason
	}
	return err.Error()
}

// getInvite tells a sign-up page which cohort an invite joins; it is
// public, and reveals nothing but the cohort's name and the invite's state.
func (s *Server) getInvite(w http.ResponseWriter, r *http.Request) {
	in, err := s.cfg.Store.Invite(r.Context(), r.PathValue("code"))
	if errors.Is(err, store.ErrInvite) {
		writeError(w, http.StatusNotFound, "this invite cannot be used: "+inviteReason(err), "ask your instructor for a new link")
		return
	}
	if err != nil {
		s.internal(w, err)
		return
	}
	v := s.toInviteView(in)
	writeJSON(w, http.StatusOK, map[string]any{"cohort": v.Cohort, "role": v.Role, "expires_at": v.Expires,
		"usable": v.Usable, "unusable": v.Unusable, "auth": s.cfg.Auth})
}

// inviteError answers an error of SignUp or JoinCohort.
func (s *Server) inviteError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, store.ErrExists):
		writeError(w, http.StatusConflict, "this login is taken", "pick another login, or log in if it is yours")
	case errors.Is(err, store.ErrInvite):
		writeError(w, http.StatusGone, "this invite cannot be used: "+inviteReason(err), "ask your instructor for a new link")
	default:
		s.internal(w, err)
	}
}

// signUp creates an account from an invite and logs it in.
func (s *Server) signUp(w http.ResponseWriter, r *http.Request) {
	if !s.cfg.Auth {
		writeError(w, http.StatusConflict, "this server needs no login, so it takes no sign-ups", "open the catalog")
		return
	}
	var body struct {
		Invite   string `json:"invite"`
		Login    string `json:"login"`
		Name     string `json:"name"`
		Password string `json:"password"`
	}
	if !readJSON(w, r, 4<<10, &body) {
		return
	}
	login := strings.ToLower(strings.TrimSpace(body.Login))
	name := strings.TrimSpace(body.Name)
	if name == "" {
		name = login
	}
	problem := auth.CheckLogin(login)
	switch {
	case strings.TrimSpace(body.Invite) == "":
		problem = errors.New(`"invite" is missing: open the invite link you were given`)
	case problem != nil:
	case utf8.RuneCountInString(name) > maxNameLen || !utf8.ValidString(name):
		problem = fmt.Errorf("the name must be at most %d characters of text", maxNameLen)
	default:
		problem = auth.CheckPassword(body.Password)
	}
	if problem != nil {
		writeError(w, http.StatusBadRequest, problem.Error(), "")
		return
	}
	// A cheap look at the invite first: hashing costs 64 MiB and a third
	// of a second, and should not be had for a made-up code.
	code := strings.TrimSpace(body.Invite)
	in, err := s.cfg.Store.Invite(r.Context(), code)
	if err == nil {
		err = in.Usable(time.Now())
	}
	if err != nil {
		s.inviteError(w, err)
		return
	}
	hash, err := auth.HashPassword(body.Password)
	if err != nil {
		s.internal(w, err)
		return
	}
	acct, cohort, err := s.cfg.Store.SignUp(r.Context(), code,
		store.Account{User: store.User{ID: labrun.NewSessionID("u-"), Name: name}, Login: login, PasswordHash: hash})
	if err != nil {
		s.inviteError(w, err)
		return
	}
	if !s.startLogin(w, r, acct) {
		return
	}
	s.log.Info("sign-up", "user", acct.ID, "login", login, "role", acct.Role, "cohort", cohort.ID)
	writeJSON(w, http.StatusCreated, map[string]any{"user": acct.User, "cohort": map[string]string{"id": cohort.ID, "name": cohort.Name}})
}

// joinCohort adds the logged-in user to an invite's cohort.
func (s *Server) joinCohort(w http.ResponseWriter, r *http.Request) {
	u := s.user(r)
	if !s.cfg.Auth {
		writeError(w, http.StatusConflict, "this server has no cohorts: it serves one local user", "")
		return
	}
	c, err := s.cfg.Store.JoinCohort(r.Context(), r.PathValue("code"), u)
	if err != nil {
		s.inviteError(w, err)
		return
	}
	s.log.Info("joined cohort", "user", u.ID, "cohort", c.ID)
	writeJSON(w, http.StatusOK, map[string]any{"cohort": map[string]string{"id": c.ID, "name": c.Name}})
}

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

// staffOnly answers 403 unless the user is an instructor or admin.
func (s *Server) staffOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !isStaff(s.user(r)) {
			writeError(w, http.StatusForbidden, "only instructors and admins can see cohorts", "")
			return
		}
		h(w, r)
	}
}

type cohortHandler func(w http.ResponseWriter, r *http.Request, c store.Cohort)

// withCohort resolves {cid} for staff: an admin reaches every cohort, an
// instructor only those they instruct (others answer 404, as if they did
// not exist).
func (s *Server) withCohort(h cohortHandler) http.HandlerFunc {
	return s.staffOnly(func(w http.ResponseWriter, r *http.Request) {
		u := s.user(r)
		id := r.PathValue("cid")
		notFound := func() { writeError(w, http.StatusNotFound, "no such cohort: "+id, "") }
		if u.Role != store.RoleAdmin {
			ok, err := s.cfg.Store.IsCohortStaff(r.Context(), id, u.ID)
			if err != nil {
				s.internal(w, err)
				return
			}
			if !ok {
				notFound()
				return
			}
		}
		c, err := s.cfg.Store.Cohort(r.Context(), id)
		if errors.Is(err, store.ErrNotFound) {
			notFound()
			return
		}
		if err != nil {
			s.internal(w, err)
			return
		}
		h(w, r, c)
	})
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

// checkLabs says which of ids are not in the catalog, or "".
func (s *Server) checkLabs(ids []string) string {
	var unknown []string
	for _, id := range ids {
		if _, ok := s.cfg.Manager.Lab(id); !ok {
			unknown = append(unknown, id)
		}
	}
	if len(unknown) == 0 {
		return ""
	}
	return "no such lab: " + strings.Join(unknown, ", ")
}

func (s *Server) allLabIDs() []string {
	var ids []string
	for _, l := range s.cfg.Manager.Labs() {
		ids = append(ids, l.ID)
	}
	return ids
}

// cohortName returns a cohort's trimmed name, or answers 400 itself.
func cohortName(w http.ResponseWriter, name string) (string, bool) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > maxNameLen || !utf8.ValidString(name) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf(`"name" must be 1 to %d characters, e.g. "Backend bootcamp, autumn"`, maxNameLen), "")
		return "", false
	}
	return name, true
}

func (s *Server) createCohort(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name string    `json:"name"`
		Labs *[]string `json:"labs"`
	}
	if !readJSON(w, r, 16<<10, &body) {
		return
	}
	name, ok := cohortName(w, body.Name)
	if !ok {
		return
	}
	labs := s.allLabIDs()
	if body.Labs != nil {
		labs = *body.Labs
		if msg := s.checkLabs(labs); msg != "" {
			writeError(w, http.StatusBadRequest, msg, "GET /api/labs lists the labs")
			return
		}
	}
	c := store.Cohort{ID: labrun.NewSessionID("c-"), Name: name, CreatedBy: s.user(r).ID, Labs: labs}
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

// memberView is a learner of a cohort.
type memberView struct {
	ID     string    `json:"id"`
	Name   string    `json:"name"`
	Login  string    `json:"login"`
	Joined time.Time `json:"joined_at"`
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
	mv := make([]memberView, len(members))
	for i, m := range members {
		mv[i] = memberView{ID: m.ID, Name: m.Name, Login: m.Login, Joined: m.Joined}
	}
	iv := make([]inviteView, len(invites))
	for i, in := range invites {
		iv[i] = s.toInviteView(in)
	}
	writeJSON(w, http.StatusOK, map[string]any{"cohort": toCohortView(c), "learners": mv, "invites": iv})
}

func (s *Server) renameCohort(w http.ResponseWriter, r *http.Request, c store.Cohort) {
	var body struct {
		Name string `json:"name"`
	}
	if !readJSON(w, r, 4<<10, &body) {
		return
	}
	name, ok := cohortName(w, body.Name)
	if !ok {
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
	if msg := s.checkLabs(*body.Labs); msg != "" {
		writeError(w, http.StatusBadRequest, msg, "GET /api/labs lists the labs")
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

func (s *Server) createInvite(w http.ResponseWriter, r *http.Request, c store.Cohort) {
	var body struct {
		Role           string `json:"role"`
		MaxUses        *int   `json:"max_uses"`
		ExpiresInHours *int   `json:"expires_in_hours"`
	}
	if !readJSON(w, r, 4<<10, &body) {
		return
	}
	u := s.user(r)
	switch body.Role {
	case "", store.RoleLearner:
		body.Role = store.RoleLearner
	case store.RoleInstructor:
		if u.Role != store.RoleAdmin {
			writeError(w, http.StatusForbidden, "only an admin can invite instructors", "")
			return
		}
	default:
		writeError(w, http.StatusBadRequest, `"role" must be "learner" or "instructor"`, "")
		return
	}
	uses, hours := defaultInviteUses, defaultInviteHours
	if body.MaxUses != nil {
		uses = *body.MaxUses
	}
	if body.ExpiresInHours != nil {
		hours = *body.ExpiresInHours
	}
	if uses < 1 || uses > maxInviteUses {
		writeError(w, http.StatusBadRequest, fmt.Sprintf(`"max_uses" must be 1 to %d`, maxInviteUses), "")
		return
	}
	if hours < 1 || hours > maxInviteHours {
		writeError(w, http.StatusBadRequest, fmt.Sprintf(`"expires_in_hours" must be 1 to %d (90 days)`, maxInviteHours), "")
		return
	}
	in := store.Invite{Code: auth.NewInviteCode(), CohortID: c.ID, CohortName: c.Name, Role: body.Role, CreatedBy: u.ID,
		Created: time.Now(), Expires: time.Now().Add(time.Duration(hours) * time.Hour), MaxUses: uses}
	if err := s.cfg.Store.CreateInvite(r.Context(), in); err != nil {
		s.internal(w, err)
		return
	}
	s.log.Info("invite created", "cohort", c.ID, "user", u.ID, "role", in.Role, "max_uses", uses)
	writeJSON(w, http.StatusCreated, s.toInviteView(in))
}

func (s *Server) revokeInvite(w http.ResponseWriter, r *http.Request, c store.Cohort) {
	err := s.cfg.Store.RevokeInvite(r.Context(), c.ID, r.PathValue("code"))
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "this cohort has no such invite, or it is revoked already", "")
		return
	}
	if err != nil {
		s.internal(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) removeMember(w http.ResponseWriter, r *http.Request, c store.Cohort) {
	err := s.cfg.Store.RemoveMember(r.Context(), c.ID, r.PathValue("uid"))
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "no such learner in this cohort", "")
		return
	}
	if err != nil {
		s.internal(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// cellView is one learner's record on one lab in the dashboard.
type cellView struct {
	Status            string     `json:"status"` // not_started, in_progress, passed
	Attempts          int        `json:"attempts"`
	Sessions          int        `json:"sessions"`
	FirstAt           *time.Time `json:"first_at"`
	LastAt            *time.Time `json:"last_at"`
	PassedAt          *time.Time `json:"passed_at"`
	TimeToPassSeconds *int64     `json:"time_to_pass_seconds"`
}

// liveView is the session a learner is in right now.
type liveView struct {
	SessionID string    `json:"session_id"`
	Lab       string    `json:"lab"`
	State     string    `json:"state"`
	Since     time.Time `json:"since"`
	Checking  bool      `json:"checking"`
}

type learnerRow struct {
	memberView
	Live []liveView          `json:"live"`
	Labs map[string]cellView `json:"labs"`
}

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

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func toCell(p store.LabProgress) cellView {
	c := cellView{Status: "not_started", Attempts: p.Attempts, Sessions: p.Sessions,
		FirstAt: timePtr(p.First), LastAt: timePtr(p.Last), PassedAt: timePtr(p.Passed)}
	switch {
	case !p.Passed.IsZero():
		c.Status = "passed"
		secs := int64(p.TimeToPass().Round(time.Second) / time.Second)
		c.TimeToPassSeconds = &secs
	case p.Sessions > 0 || p.Attempts > 0:
		c.Status = "in_progress"
	}
	return c
}

// dashboardOf gathers the learners × labs grid of a cohort.
func (s *Server) dashboardOf(r *http.Request, c store.Cohort) (dashboard, error) {
	members, err := s.cfg.Store.CohortMembers(r.Context(), c.ID)
	if err != nil {
		return dashboard{}, err
	}
	prog, err := s.cfg.Store.CohortProgress(r.Context(), c.ID)
	if err != nil {
		return dashboard{}, err
	}
	d := dashboard{Cohort: toCohortView(c), Labs: []labRef{}, Learners: []learnerRow{}, Passed: map[string]int{}}
	// The cohort's labs in catalog order; a lab removed from the catalog
	// since is left out.
	for _, l := range s.cfg.Manager.Labs() {
		if slices.Contains(c.Labs, l.ID) {
			d.Labs = append(d.Labs, labRef{ID: l.ID, Title: l.Title})
		}
	}
	for _, m := range members {
		row := learnerRow{memberView: memberView{ID: m.ID, Name: m.Name, Login: m.Login, Joined: m.Joined},
			Live: []liveView{}, Labs: map[string]cellView{}}
		for _, l := range d.Labs {
			cell := toCell(prog[m.ID][l.ID])
			if sess := s.cfg.Manager.Live(m.ID, l.ID); sess != nil {
				v := sess.View()
				row.Live = append(row.Live, liveView{SessionID: v.ID, Lab: l.ID, State: v.State, Since: v.Created, Checking: v.Checking})
				if cell.Status == "not_started" {
					cell.Status = "in_progress"
				}
			}
			if cell.Status == "passed" {
				d.Passed[l.ID]++
			}
			row.Labs[l.ID] = cell
		}
		if len(row.Live) > 0 {
			d.InLab++
		}
		d.Learners = append(d.Learners, row)
	}
	return d, nil
}

func (s *Server) cohortProgress(w http.ResponseWriter, r *http.Request, c store.Cohort) {
	d, err := s.dashboardOf(r, c)
	if err != nil {
		s.internal(w, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// csvCell keeps a spreadsheet from reading text as a formula.
func csvCell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

func csvTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// cohortCSV exports the dashboard: one row per learner and lab.
func (s *Server) cohortCSV(w http.ResponseWriter, r *http.Request, c store.Cohort) {
	d, err := s.dashboardOf(r, c)
	if err != nil {
		s.internal(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="cohort-%s-%s.csv"`, c.ID, time.Now().UTC().Format("2006-01-02")))
	cw := csv.NewWriter(w)
	cw.Write([]string{"login", "name", "lab", "status", "attempts", "sessions", "first_session_at", "passed_at", "time_to_pass_seconds", "last_activity_at", "in_session_now"})
	for _, l := range d.Learners {
		for _, lab := range d.Labs {
			cell := l.Labs[lab.ID]
			ttp := ""
			if cell.TimeToPassSeconds != nil {
				ttp = strconv.FormatInt(*cell.TimeToPassSeconds, 10)
			}
			live := "no"
			for _, lv := range l.Live {
				if lv.Lab == lab.ID {
					live = "yes"
				}
			}
			cw.Write([]string{csvCell(l.Login), csvCell(l.Name), lab.ID, cell.Status, strconv.Itoa(cell.Attempts), strconv.Itoa(cell.Sessions),
				csvTime(cell.FirstAt), csvTime(cell.PassedAt), ttp, csvTime(cell.LastAt), live})
		}
	}
	cw.Flush()
}

// withLearner resolves {uid} to a learner of the cohort; anyone else is
// 404.
func (s *Server) withLearner(h func(w http.ResponseWriter, r *http.Request, c store.Cohort, m store.Member)) http.HandlerFunc {
	return s.withCohort(func(w http.ResponseWriter, r *http.Request, c store.Cohort) {
		members, err := s.cfg.Store.CohortMembers(r.Context(), c.ID)
		if err != nil {
			s.internal(w, err)
			return
		}
		for _, m := range members {
			if m.ID == r.PathValue("uid") {
				h(w, r, c, m)
				return
			}
		}
		writeError(w, http.StatusNotFound, "no such learner in this cohort", "")
	})
}

// learnerChecks lists a learner's check runs on the cohort's labs.
func (s *Server) learnerChecks(w http.ResponseWriter, r *http.Request, c store.Cohort, m store.Member) {
	out := []any{}
	if len(c.Labs) > 0 {
		runs, err := s.cfg.Store.UserCheckRuns(r.Context(), m.ID, c.Labs...)
		if err != nil {
			s.internal(w, err)
			return
		}
		for _, run := range runs {
			out = append(out, struct {
				checkView
				Lab string `json:"lab"`
			}{toCheckView(run), run.LabID})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"learner": memberView{ID: m.ID, Name: m.Name, Login: m.Login, Joined: m.Joined}, "checks": out})
}

// learnerCheck is one of a learner's check runs with every event it
// streamed.
func (s *Server) learnerCheck(w http.ResponseWriter, r *http.Request, c store.Cohort, m store.Member) {
	run, err := s.cfg.Store.CheckRun(r.Context(), r.PathValue("run"))
	if err == nil && (run.UserID != m.ID || !slices.Contains(c.Labs, run.LabID)) {
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
	writeJSON(w, http.StatusOK, struct {
		checkView
		Lab string `json:"lab"`
	}{v, run.LabID})
}
