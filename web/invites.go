package web

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/backlab/backlab/internal/auth"
	"github.com/backlab/backlab/internal/cohort"
	"github.com/backlab/backlab/internal/ids"
	"github.com/backlab/backlab/internal/store"
)

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

// invitePreview is what a sign-up page learns of an invite: the cohort's
// name and whether the invite can be used, nothing more.
type invitePreview struct {
	Cohort    string    `json:"cohort"`
	Role      string    `json:"role"`
	ExpiresAt time.Time `json:"expires_at"`
	Usable    bool      `json:"usable"`
	Unusable  string    `json:"unusable"`
	Auth      bool      `json:"auth"`
}

// cohortRef names a cohort someone just joined.
type cohortRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// signUpView is a new account and the cohort it joined.
type signUpView struct {
	User   store.User `json:"user"`
	Cohort cohortRef  `json:"cohort"`
}

// joinedView is the cohort the user just joined.
type joinedView struct {
	Cohort cohortRef `json:"cohort"`
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

// refused answers a request the cohort rules turn down, or an internal
// error for any other error.
func (s *Server) refused(w http.ResponseWriter, err error, advice string) {
	ref, ok := errors.AsType[*cohort.Refusal](err)
	switch {
	case !ok:
		s.internal(w, err)
	case ref.Forbidden:
		writeError(w, http.StatusForbidden, ref.Reason, "")
	default:
		writeError(w, http.StatusBadRequest, ref.Reason, advice)
	}
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
	writeJSON(w, http.StatusOK, invitePreview{Cohort: v.Cohort, Role: v.Role, ExpiresAt: v.Expires,
		Usable: v.Usable, Unusable: v.Unusable, Auth: s.cfg.Auth})
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
	case utf8.RuneCountInString(name) > cohort.MaxNameLen || !utf8.ValidString(name):
		problem = fmt.Errorf("the name must be at most %d characters of text", cohort.MaxNameLen)
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
	hash, ok := s.hashPassword(w, body.Password)
	if !ok {
		return
	}
	acct, joined, err := s.cfg.Store.SignUp(r.Context(), code,
		store.Account{User: store.User{ID: ids.New(ids.User), Name: name}, Login: login, PasswordHash: hash})
	if err != nil {
		s.inviteError(w, err)
		return
	}
	if !s.startLogin(w, r, acct) {
		return
	}
	s.log.Info("sign-up", "user", acct.ID, "login", login, "role", acct.Role, "cohort", joined.ID)
	writeJSON(w, http.StatusCreated, signUpView{User: acct.User, Cohort: cohortRef{ID: joined.ID, Name: joined.Name}})
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
	writeJSON(w, http.StatusOK, joinedView{Cohort: cohortRef{ID: c.ID, Name: c.Name}})
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
	in, err := cohort.InviteRequest(body).Invite(c, u, auth.NewInviteCode(), time.Now())
	if err != nil {
		s.refused(w, err, "")
		return
	}
	if err := s.cfg.Store.CreateInvite(r.Context(), in); err != nil {
		s.internal(w, err)
		return
	}
	s.log.Info("invite created", "cohort", c.ID, "user", u.ID, "role", in.Role, "max_uses", in.MaxUses)
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
