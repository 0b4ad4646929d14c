package cohort

import (
	"context"
	"fmt"
	"slices"

	"github.com/backlab/backlab/internal/store"
)

// IsStaff reports whether u may see cohorts at all: instructors and
// admins.
func IsStaff(u store.User) bool { return u.Role == store.RoleInstructor || u.Role == store.RoleAdmin }

// Memberships is what the access rules read from the store.
type Memberships interface {
	// VisibleLabs returns the labs of the user's cohorts, and whether the
	// user is in any cohort.
	VisibleLabs(ctx context.Context, userID string) (labs []string, inCohort bool, err error)
	// IsCohortStaff reports whether the user instructs the cohort.
	IsCohortStaff(ctx context.Context, cohortID, userID string) (bool, error)
	// HasCohorts reports whether the server has any cohort.
	HasCohorts(ctx context.Context) (bool, error)
}

// Labs is the set of labs a user may see and open.
type Labs struct {
	all bool
	ids map[string]bool
}

// Has reports whether the set holds lab id.
func (l Labs) Has(id string) bool { return l.all || l.ids[id] }

// VisibleLabs returns the labs u may see and open:
//
//   - on a server without logins (the local learner), every lab;
//   - instructors and admins, every lab;
//   - a learner in cohorts, the labs of their cohorts;
//   - a learner in no cohort, every lab while the server has no cohort at
//     all (a server that does not use cohorts), and none once it has one
//     (e.g. a learner removed from their only cohort).
func VisibleLabs(ctx context.Context, st Memberships, u store.User, loginRequired bool) (Labs, error) {
	if !loginRequired || IsStaff(u) {
		return Labs{all: true}, nil
	}
	ids, inCohort, err := st.VisibleLabs(ctx, u.ID)
	if err != nil {
		return Labs{}, fmt.Errorf("cohort: labs visible to %s: %w", u.ID, err)
	}
	if !inCohort {
		any, err := st.HasCohorts(ctx)
		if err != nil {
			return Labs{}, fmt.Errorf("cohort: labs visible to %s: %w", u.ID, err)
		}
		return Labs{all: !any}, nil
	}
	l := Labs{ids: map[string]bool{}}
	for _, id := range ids {
		l.ids[id] = true
	}
	return l, nil
}

// MayManage reports whether u may see and change cohort cohortID: an admin
// reaches every cohort, an instructor only those they instruct, nobody
// else any.
func MayManage(ctx context.Context, st Memberships, u store.User, cohortID string) (bool, error) {
	switch {
	case u.Role == store.RoleAdmin:
		return true, nil
	case !IsStaff(u):
		return false, nil
	}
	ok, err := st.IsCohortStaff(ctx, cohortID, u.ID)
	if err != nil {
		return false, fmt.Errorf("cohort: may %s manage %s: %w", u.ID, cohortID, err)
	}
	return ok, nil
}

// ShowsRun reports whether a check run is one the cohort's staff may read:
// the learner's own, on one of the cohort's labs.
func ShowsRun(c store.Cohort, learnerID string, run store.CheckRun) bool {
	return run.UserID == learnerID && slices.Contains(c.Labs, run.LabID)
}
