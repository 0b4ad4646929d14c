package cohort

import (
	"context"
	"errors"
	"testing"

	"github.com/backlab/backlab/internal/store"
)

// memberships answers as a store would: the labs of the cohorts each
// user is in, and who instructs which cohort.
type memberships struct {
	labs    map[string][]string // user id → labs of their cohorts; absent: in no cohort
	staff   map[string]string   // cohort id → its instructor
	cohorts bool                // the server has cohorts (with or without learners)
	err     error
}

func (m memberships) HasCohorts(context.Context) (bool, error) {
	return m.cohorts || len(m.labs) > 0 || len(m.staff) > 0, m.err
}

func (m memberships) VisibleLabs(_ context.Context, userID string) ([]string, bool, error) {
	labs, ok := m.labs[userID]
	return labs, ok, m.err
}

func (m memberships) IsCohortStaff(_ context.Context, cohortID, userID string) (bool, error) {
	return m.staff[cohortID] == userID, m.err
}

func TestVisibleLabs(t *testing.T) {
	st := memberships{labs: map[string][]string{"u-ada": {"redis"}, "u-empty": {}}}
	noCohorts := memberships{}
	emptyCohort := memberships{cohorts: true} // a cohort whose learners all left
	learner := func(id string) store.User { return store.User{ID: id, Role: store.RoleLearner} }
	for _, tc := range []struct {
		name          string
		st            memberships
		u             store.User
		loginRequired bool
		sees, hidden  []string
	}{
		{"without logins everyone sees every lab", st, learner("u-ada"), false, []string{"redis", "sql"}, nil},
		{"the local learner sees every lab", noCohorts, learner("local"), false, []string{"redis", "sql"}, nil},
		{"a learner sees their cohorts' labs", st, learner("u-ada"), true, []string{"redis"}, []string{"sql"}},
		{"a learner in a cohort without labs sees none", st, learner("u-empty"), true, nil, []string{"redis", "sql"}},
		{"a learner in no cohort, on a server with cohorts, sees none", st, learner("u-solo"), true, nil, []string{"redis", "sql"}},
		{"a learner removed from the only cohort sees none", emptyCohort, learner("u-ada"), true, nil, []string{"redis", "sql"}},
		{"a learner on a server without cohorts sees every lab", noCohorts, learner("u-solo"), true, []string{"redis", "sql"}, nil},
		{"an instructor sees every lab", st, store.User{ID: "u-ada", Role: store.RoleInstructor}, true, []string{"redis", "sql"}, nil},
		{"an admin sees every lab", st, store.User{ID: "u-ada", Role: store.RoleAdmin}, true, []string{"redis", "sql"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			labs, err := VisibleLabs(t.Context(), tc.st, tc.u, tc.loginRequired)
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range tc.sees {
				if !labs.Has(id) {
					t.Errorf("does not see %s", id)
				}
			}
			for _, id := range tc.hidden {
				if labs.Has(id) {
					t.Errorf("sees %s", id)
				}
			}
		})
	}
	boom := errors.New("database gone")
	if _, err := VisibleLabs(t.Context(), memberships{err: boom}, learner("u-ada"), true); !errors.Is(err, boom) {
		t.Errorf("VisibleLabs with a failing store = %v", err)
	}
}

func TestMayManage(t *testing.T) {
	st := memberships{staff: map[string]string{"c-1": "u-grace"}}
	for _, tc := range []struct {
		u      store.User
		cohort string
		want   bool
	}{
		{store.User{ID: "u-root", Role: store.RoleAdmin}, "c-1", true},
		{store.User{ID: "u-root", Role: store.RoleAdmin}, "c-nobody-instructs", true},
		{store.User{ID: "u-grace", Role: store.RoleInstructor}, "c-1", true},
		{store.User{ID: "u-ivan", Role: store.RoleInstructor}, "c-1", false},
		{store.User{ID: "u-grace", Role: store.RoleLearner}, "c-1", false}, // not staff, whatever the store says
	} {
		if got, err := MayManage(t.Context(), st, tc.u, tc.cohort); got != tc.want || err != nil {
			t.Errorf("MayManage(%s %s, %s) = %v, %v; want %v", tc.u.Role, tc.u.ID, tc.cohort, got, err, tc.want)
		}
	}
}

func TestShowsRun(t *testing.T) {
	c := store.Cohort{Labs: []string{"redis"}}
	for _, tc := range []struct {
		run  store.CheckRun
		want bool
	}{
		{store.CheckRun{UserID: "u-ada", LabID: "redis"}, true},
		{store.CheckRun{UserID: "u-bob", LabID: "redis"}, false},
		{store.CheckRun{UserID: "u-ada", LabID: "sql"}, false},
	} {
		if got := ShowsRun(c, "u-ada", tc.run); got != tc.want {
			t.Errorf("ShowsRun(%+v) = %v", tc.run, got)
		}
	}
}
