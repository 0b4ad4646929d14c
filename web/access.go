package web

import (
	"errors"
	"net/http"

	"github.com/backlab/backlab/internal/cohort"
	"github.com/backlab/backlab/internal/session"
	"github.com/backlab/backlab/internal/store"
)

// Who may reach what: a session only its owner, a lab whoever
// cohort.VisibleLabs lets see it, a cohort the staff cohort.MayManage
// lets in. What is refused answers 404, as if it did not exist, so that
// its existence does not show; only cohorts as a whole answer 403 to
// learners.

// sessionHandler is a handler for one session its owner asked for.
type sessionHandler func(w http.ResponseWriter, r *http.Request, sess *session.Session)

// withSession finds the session named in the path and checks that the
// user owns it. Another user's session is answered as not found.
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

// visibleLabs returns the labs u may see and open.
func (s *Server) visibleLabs(r *http.Request, u store.User) (cohort.Labs, error) {
	return cohort.VisibleLabs(r.Context(), s.cfg.Store, u, s.cfg.Auth)
}

// canSeeLab reports whether u may see lab id; it answers the request
// itself when not (404, as for a lab that does not exist) or on error.
func (s *Server) canSeeLab(w http.ResponseWriter, r *http.Request, u store.User, id string) bool {
	labs, err := s.visibleLabs(r, u)
	if err != nil {
		s.internal(w, err)
		return false
	}
	if !labs.Has(id) {
		writeError(w, http.StatusNotFound, "no such lab: "+id, "your cohort's labs are listed on the catalog page")
		return false
	}
	return true
}

// staffOnly answers 403 unless the user is an instructor or admin.
func (s *Server) staffOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !cohort.IsStaff(s.user(r)) {
			writeError(w, http.StatusForbidden, "only instructors and admins can see cohorts", "")
			return
		}
		h(w, r)
	}
}

type cohortHandler func(w http.ResponseWriter, r *http.Request, c store.Cohort)

// withCohort resolves {cid} for staff: an admin reaches every cohort, an
// instructor only those they instruct (others answer 404).
func (s *Server) withCohort(h cohortHandler) http.HandlerFunc {
	return s.staffOnly(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("cid")
		ok, err := cohort.MayManage(r.Context(), s.cfg.Store, s.user(r), id)
		if err != nil {
			s.internal(w, err)
			return
		}
		var c store.Cohort
		if ok {
			c, err = s.cfg.Store.Cohort(r.Context(), id)
		}
		switch {
		case !ok || errors.Is(err, store.ErrNotFound):
			writeError(w, http.StatusNotFound, "no such cohort: "+id, "")
		case err != nil:
			s.internal(w, err)
		default:
			h(w, r, c)
		}
	})
}

type learnerHandler func(w http.ResponseWriter, r *http.Request, c store.Cohort, m store.Member)

// withLearner resolves {uid} to a learner of the cohort; anyone else is
// 404.
func (s *Server) withLearner(h learnerHandler) http.HandlerFunc {
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
