package store

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestCohorts(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) { testCohorts(t, reopeners(t, backend)) })
	}
}

func testCohorts(t *testing.T, reopen func(t *testing.T) *Store) {
	ctx := t.Context()
	s := reopen(t)
	for _, a := range []Account{
		{User: User{ID: "i-1", Name: "Grace", Role: RoleInstructor}, Login: "grace"},
		{User: User{ID: "i-2", Name: "Barbara", Role: RoleInstructor}, Login: "barbara"},
		{User: User{ID: "a-1", Name: "Root", Role: RoleAdmin}, Login: "root"},
	} {
		if err := s.CreateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if any, err := s.HasCohorts(ctx); any || err != nil {
		t.Errorf("HasCohorts before any cohort = %v, %v", any, err)
	}
	if err := s.CreateCohort(ctx, Cohort{ID: "c-1", Name: "Autumn", CreatedBy: "i-1", Labs: []string{"n-plus-one", "add-index", "add-index"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateCohort(ctx, Cohort{ID: "c-2", Name: "Winter", CreatedBy: "i-2"}); err != nil {
		t.Fatal(err)
	}

	// Each instructor sees their own cohorts; an empty id sees all.
	mine, err := s.Cohorts(ctx, "i-1")
	if err != nil || len(mine) != 1 || mine[0].ID != "c-1" || !reflect.DeepEqual(mine[0].Labs, []string{"add-index", "n-plus-one"}) {
		t.Fatalf("Cohorts(i-1) = %+v, %v", mine, err)
	}
	if all, _ := s.Cohorts(ctx, ""); len(all) != 2 {
		t.Errorf("Cohorts(all) = %+v", all)
	}
	if ok, _ := s.IsCohortStaff(ctx, "c-1", "i-2"); ok {
		t.Error("i-2 instructs c-1")
	}
	if ok, _ := s.IsCohortStaff(ctx, "c-1", "i-1"); !ok {
		t.Error("the creator does not instruct c-1")
	}

	week := time.Now().Add(7 * 24 * time.Hour)
	invites := []Invite{
		{Code: "good", CohortID: "c-1", Role: RoleLearner, CreatedBy: "i-1", Expires: week, MaxUses: 2},
		{Code: "old", CohortID: "c-1", Role: RoleLearner, CreatedBy: "i-1", Expires: time.Now().Add(-time.Minute), MaxUses: 5},
		{Code: "staff", CohortID: "c-1", Role: RoleInstructor, CreatedBy: "a-1", Expires: week, MaxUses: 1},
		{Code: "winter", CohortID: "c-2", Role: RoleLearner, CreatedBy: "i-2", Expires: week, MaxUses: 5},
	}
	for _, in := range invites {
		if err := s.CreateInvite(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	learner := func(id, login string) Account {
		return Account{User: User{ID: id, Name: strings.ToUpper(login), Role: RoleAdmin /* the invite decides */}, Login: login, PasswordHash: "h"}
	}
	a, c, err := s.SignUp(ctx, "good", learner("l-1", "ada"))
	if err != nil || a.Role != RoleLearner || c.ID != "c-1" || c.Members != 1 {
		t.Fatalf("SignUp(good) = %+v, %+v, %v", a, c, err)
	}
	// A taken login leaves the invite's uses alone.
	if _, _, err := s.SignUp(ctx, "good", learner("l-x", "ada")); !errors.Is(err, ErrExists) {
		t.Errorf("SignUp with a taken login: %v, want ErrExists", err)
	}
	if _, _, err := s.SignUp(ctx, "good", learner("l-2", "alan")); err != nil {
		t.Fatalf("second sign-up: %v (the failed one must not have used the invite)", err)
	}
	for code, want := range map[string]string{"good": "sign-ups are used", "old": "expired", "nope": "no invite has this code"} {
		_, _, err := s.SignUp(ctx, code, learner("l-9", "late-"+code))
		if !errors.Is(err, ErrInvite) || !strings.Contains(err.Error(), want) {
			t.Errorf("SignUp(%s) = %v, want ErrInvite saying %q", code, err, want)
		}
		if _, err := s.AccountByLogin(ctx, "late-"+code); !errors.Is(err, ErrNotFound) {
			t.Errorf("a refused sign-up (%s) created an account: %v", code, err)
		}
	}
	if err := s.RevokeInvite(ctx, "c-1", "winter"); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoking another cohort's invite: %v", err)
	}
	if err := s.RevokeInvite(ctx, "c-2", "winter"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.JoinCohort(ctx, "winter", User{ID: "l-1", Role: RoleLearner}); !errors.Is(err, ErrInvite) || !strings.Contains(err.Error(), "revoked") {
		t.Errorf("joining with a revoked invite: %v", err)
	}

	// An instructor's invite makes a new account an instructor of c-1.
	if _, err := s.JoinCohort(ctx, "staff", User{ID: "l-1", Role: RoleLearner}); !errors.Is(err, ErrInvite) {
		t.Errorf("a learner joined with an instructor's invite: %v", err)
	}
	if a, _, err := s.SignUp(ctx, "staff", learner("i-3", "ida")); err != nil || a.Role != RoleInstructor {
		t.Fatalf("SignUp(staff) = %+v, %v", a, err)
	}
	if ok, _ := s.IsCohortStaff(ctx, "c-1", "i-3"); !ok {
		t.Error("an instructor's invite did not make i-3 staff of c-1")
	}

	s = reopen(t) // everything below survives a restart
	members, err := s.CohortMembers(ctx, "c-1")
	if err != nil || len(members) != 2 || members[0].Login != "ada" || members[1].Login != "alan" {
		t.Fatalf("CohortMembers = %+v, %v", members, err)
	}
	labs, in, err := s.VisibleLabs(ctx, "l-1")
	if err != nil || !in || !reflect.DeepEqual(labs, []string{"add-index", "n-plus-one"}) {
		t.Errorf("VisibleLabs(l-1) = %v, %v, %v", labs, in, err)
	}
	if labs, in, _ := s.VisibleLabs(ctx, "a-1"); in || labs != nil {
		t.Errorf("VisibleLabs of someone in no cohort = %v, %v", labs, in)
	}
	if any, err := s.HasCohorts(ctx); !any || err != nil {
		t.Errorf("HasCohorts with two cohorts = %v, %v", any, err)
	}

	// Progress: l-1 fails once then passes add-index; l-2 only started.
	t0 := time.Now().Add(-time.Hour)
	s.CreateSession(ctx, Session{ID: "s-1", UserID: "l-1", LabID: "add-index", State: StateReady, Created: t0})
	s.CreateSession(ctx, Session{ID: "s-2", UserID: "l-2", LabID: "n-plus-one", State: StateReady, Created: t0})
	s.StartCheckRun(ctx, CheckRun{ID: "r-1", SessionID: "s-1", UserID: "l-1", LabID: "add-index", Started: t0.Add(time.Minute)})
	s.FinishCheckRun(ctx, "r-1", "failed", "", []byte(`{}`))
	s.StartCheckRun(ctx, CheckRun{ID: "r-2", SessionID: "s-1", UserID: "l-1", LabID: "add-index", Started: t0.Add(2 * time.Minute)})
	s.AddCheckEvent(ctx, "r-2", 1, []byte(`{"type":"step","id":"x"}`))
	s.FinishCheckRun(ctx, "r-2", "passed", "", []byte(`{}`))
	prog, err := s.CohortProgress(ctx, "c-1")
	if err != nil {
		t.Fatal(err)
	}
	p := prog["l-1"]["add-index"]
	if p.Attempts != 2 || p.Sessions != 1 || p.Passed.IsZero() || p.TimeToPass() < 59*time.Minute || p.TimeToPass() > 61*time.Minute {
		t.Errorf("l-1 on add-index = %+v (time to pass %s), want 2 attempts, passed about an hour after the start", p, p.TimeToPass())
	}
	if q := prog["l-2"]["n-plus-one"]; q.Sessions != 1 || q.Attempts != 0 || !q.Passed.IsZero() {
		t.Errorf("l-2 on n-plus-one = %+v", q)
	}
	if _, ok := prog["i-3"]; ok {
		t.Error("an instructor shows in the cohort's progress")
	}
	runs, err := s.UserCheckRuns(ctx, "l-1", "add-index")
	if err != nil || len(runs) != 2 || runs[0].ID != "r-2" {
		t.Errorf("UserCheckRuns = %+v, %v", runs, err)
	}
	if runs, _ := s.UserCheckRuns(ctx, "l-1", "n-plus-one"); len(runs) != 0 {
		t.Errorf("UserCheckRuns on another lab = %+v", runs)
	}
	if r, err := s.CheckRun(ctx, "r-2"); err != nil || r.Outcome != "passed" || r.UserID != "l-1" {
		t.Errorf("CheckRun = %+v, %v", r, err)
	}

	if err := s.RenameCohort(ctx, "c-1", "Autumn, renamed"); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.Cohort(ctx, "c-1"); c.Name != "Autumn, renamed" {
		t.Errorf("after RenameCohort the name = %q", c.Name)
	}
	if err := s.RenameCohort(ctx, "c-404", "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("renaming an unknown cohort: %v", err)
	}
	if err := s.SetCohortLabs(ctx, "c-1", []string{"cache-invalidation"}); err != nil {
		t.Fatal(err)
	}
	if labs, _, _ := s.VisibleLabs(ctx, "l-1"); !reflect.DeepEqual(labs, []string{"cache-invalidation"}) {
		t.Errorf("after SetCohortLabs, l-1 sees %v", labs)
	}
	if err := s.RemoveMember(ctx, "c-1", "l-2"); err != nil {
		t.Fatal(err)
	}
	if labs, in, _ := s.VisibleLabs(ctx, "l-2"); in || labs != nil {
		t.Errorf("a removed learner still has cohort labs: %v", labs)
	}
	if err := s.RemoveMember(ctx, "c-1", "l-2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("removing twice: %v", err)
	}
}
