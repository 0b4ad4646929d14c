package web

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/backlab/backlab/internal/auth"
	"github.com/backlab/backlab/internal/lab"
	"github.com/backlab/backlab/internal/labrun"
	"github.com/backlab/backlab/internal/session"
	"github.com/backlab/backlab/internal/store"
	"github.com/backlab/backlab/internal/testenv"
	"github.com/backlab/backlab/runner"
)

// authServer starts a server that requires logins, serving the labs
// web-test and web-two, whose sandboxes never become ready.
func authServer(t *testing.T) *testServer {
	t.Helper()
	stuck := func(ctx context.Context, _ *lab.Lab, _ io.Writer) (runner.ImageSet, error) {
		<-ctx.Done()
		return runner.ImageSet{}, ctx.Err()
	}
	two := testenv.ScaffoldLab(t, "web-two")
	return newServerWith(t, labrun.Runner{}, stuck, testenv.ScaffoldLab(t, "web-test"), func(sc *session.Config, c *Config) {
		c.Auth = true
		sc.Labs = append(sc.Labs, two)
	})
}

// account creates an account whose password is its login + "-password-1".
func (ts *testServer) account(t *testing.T, id, login, role string) {
	t.Helper()
	hash, _ := auth.HashPassword(login + "-password-1")
	if err := ts.st.CreateAccount(t.Context(), store.Account{User: store.User{ID: id, Name: strings.ToUpper(login[:1]) + login[1:], Role: role}, Login: login, PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
}

// actor is a logged-in browser (or an anonymous one when login is "").
type actor struct {
	cl   *http.Client
	csrf string
}

func (ts *testServer) loggedIn(t *testing.T, login string) actor {
	t.Helper()
	cl, csrf := ts.browser(t)
	if login != "" {
		if status, raw := ts.as(t, cl, csrf, "POST", "/api/login", `{"login":"`+login+`","password":"`+login+`-password-1"}`); status != 200 {
			t.Fatalf("login %s = %d %s", login, status, raw)
		}
	}
	return actor{cl, csrf}
}

func (ts *testServer) call(t *testing.T, a actor, method, path, body string) (int, string) {
	t.Helper()
	return ts.as(t, a.cl, a.csrf, method, path, body)
}

func jsonField(t *testing.T, raw, path string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		t.Fatalf("not JSON: %s", raw)
	}
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%s: no %s in %s", path, k, raw)
		}
		v = m[k]
	}
	return v
}

func jsonString(t *testing.T, raw, path string) string {
	s, _ := jsonField(t, raw, path).(string)
	return s
}

// TestCohortInvitesAndDashboard follows a cohort from its creation to
// the dashboard: an instructor makes a cohort with one of two labs and an
// invite, a learner signs up with it and sees only that lab, and the
// dashboard, its CSV and the drill-down show what the learner did.
func TestCohortInvitesAndDashboard(t *testing.T) {
	t.Parallel()
	ts := authServer(t)
	ctx := t.Context()
	ts.account(t, "u-grace", "grace", store.RoleInstructor)
	ts.account(t, "u-root", "root", store.RoleAdmin)
	grace := ts.loggedIn(t, "grace")

	status, raw := ts.call(t, grace, "POST", "/api/cohorts", `{"name":"Autumn bootcamp","labs":["web-test"]}`)
	if status != 201 {
		t.Fatalf("create cohort = %d %s", status, raw)
	}
	cid := jsonString(t, raw, "id")
	for _, tt := range []struct{ body, want string }{
		{`{"name":""}`, "name"},
		{`{"name":"x","labs":["web-test","nope"]}`, "no such lab: nope"},
		{`{"name":"x","owner":"u-root"}`, "unknown field"},
	} {
		if status, raw := ts.call(t, grace, "POST", "/api/cohorts", tt.body); status != 400 || !strings.Contains(raw, tt.want) {
			t.Errorf("create cohort %s = %d %s, want 400 saying %q", tt.body, status, raw, tt.want)
		}
	}
	status, raw = ts.call(t, grace, "POST", "/api/cohorts/"+cid+"/invites", `{"max_uses":2,"expires_in_hours":24}`)
	if status != 201 || jsonString(t, raw, "role") != "learner" || !strings.HasSuffix(jsonString(t, raw, "url"), "/join/"+jsonString(t, raw, "code")) {
		t.Fatalf("create invite = %d %s", status, raw)
	}
	code := jsonString(t, raw, "code")
	for _, body := range []string{`{"role":"instructor"}`, `{"max_uses":0}`, `{"expires_in_hours":100000}`, `{"role":"admin"}`} {
		if status, raw := ts.call(t, grace, "POST", "/api/cohorts/"+cid+"/invites", body); status/100 != 4 {
			t.Errorf("create invite %s = %d %s, want a 4xx", body, status, raw)
		}
	}

	// The invite page tells an anonymous visitor which cohort it joins.
	anon := ts.loggedIn(t, "")
	if status, raw := ts.call(t, anon, "GET", "/api/invites/"+code, ""); status != 200 || jsonString(t, raw, "cohort") != "Autumn bootcamp" || jsonField(t, raw, "usable") != true {
		t.Errorf("GET invite = %d %s", status, raw)
	}
	if status, _ := ts.call(t, anon, "GET", "/join/"+code, ""); status != 200 {
		t.Errorf("the invite link's page = %d", status)
	}
	for _, tt := range []struct {
		body   string
		status int
	}{
		{`{"invite":"` + code + `","login":"Bad Login","password":"long-enough-1"}`, 400},
		{`{"invite":"` + code + `","login":"ada","password":"short"}`, 400},
		{`{"invite":"nope","login":"ada","password":"long-enough-1"}`, 410},
		{`{"invite":"` + code + `","login":"grace","password":"long-enough-1"}`, 409},
		{`{"invite":"` + code + `","login":"ada","password":"long-enough-1","role":"admin"}`, 400},
	} {
		if status, raw := ts.call(t, anon, "POST", "/api/signup", tt.body); status != tt.status {
			t.Errorf("sign-up %s = %d %s, want %d", tt.body, status, raw, tt.status)
		}
	}
	ada := ts.loggedIn(t, "")
	status, raw = ts.call(t, ada, "POST", "/api/signup", `{"invite":"`+code+`","login":"Ada","name":"Ada L","password":"ada-password-1"}`)
	if status != 201 || jsonString(t, raw, "user.role") != "learner" || jsonString(t, raw, "cohort.name") != "Autumn bootcamp" {
		t.Fatalf("ada's sign-up = %d %s", status, raw)
	}
	adaID := jsonString(t, raw, "user.id")
	if _, raw := ts.call(t, ada, "GET", "/api/me", ""); jsonString(t, raw, "user.name") != "Ada L" {
		t.Errorf("after sign-up ada is not logged in: %s", raw)
	}
	// Ada sees the cohort's lab only, and cannot open the other.
	_, raw = ts.call(t, ada, "GET", "/api/labs", "")
	if !strings.Contains(raw, `"web-test"`) || strings.Contains(raw, `"web-two"`) {
		t.Errorf("ada's catalog = %s, want web-test only", raw)
	}
	if status, _ := ts.call(t, ada, "POST", "/api/sessions", `{"lab":"web-two"}`); status != 404 {
		t.Errorf("ada opens a lab outside her cohort = %d, want 404", status)
	}
	if status, _ := ts.call(t, ada, "GET", "/api/cohorts", ""); status != 403 {
		t.Errorf("a learner lists cohorts = %d, want 403", status)
	}
	status, raw = ts.call(t, ada, "POST", "/api/sessions", `{"lab":"web-test"}`)
	if status != 201 {
		t.Fatalf("ada opens web-test = %d %s", status, raw)
	}
	sid := jsonString(t, raw, "id")

	// A second learner uses the invite's last sign-up; a third is refused
	// and nothing of theirs is kept.
	alan := ts.loggedIn(t, "")
	if status, raw := ts.call(t, alan, "POST", "/api/signup", `{"invite":"`+code+`","login":"alan","password":"alan-password-1"}`); status != 201 {
		t.Fatalf("alan's sign-up = %d %s", status, raw)
	}
	if status, raw := ts.call(t, anon, "POST", "/api/signup", `{"invite":"`+code+`","login":"eve","password":"eve-password-1"}`); status != 410 || !strings.Contains(raw, "sign-ups are used") {
		t.Errorf("a third sign-up on a 2-use invite = %d %s, want 410", status, raw)
	}
	if _, err := ts.st.AccountByLogin(ctx, "eve"); err == nil {
		t.Error("a refused sign-up left an account")
	}

	// Ada's record: one failed, then one passed check (recorded directly:
	// these sandboxes never start).
	t0 := time.Now()
	ts.st.StartCheckRun(ctx, store.CheckRun{ID: "run-1", SessionID: sid, UserID: adaID, LabID: "web-test", Started: t0})
	ts.st.AddCheckEvent(ctx, "run-1", 0, []byte(`{"type":"step","step":"s1","status":"failed","message":"=cmd|evil"}`))
	ts.st.FinishCheckRun(ctx, "run-1", "failed", "", []byte(`{"steps":[{"id":"s1","status":"failed"}]}`))
	ts.st.StartCheckRun(ctx, store.CheckRun{ID: "run-2", SessionID: sid, UserID: adaID, LabID: "web-test", Started: t0.Add(time.Second)})
	ts.st.AddCheckEvent(ctx, "run-2", 0, []byte(`{"type":"step","step":"s1","status":"running"}`))
	ts.st.AddCheckEvent(ctx, "run-2", 1, []byte(`{"type":"step","step":"s1","status":"passed"}`))
	ts.st.FinishCheckRun(ctx, "run-2", "passed", "", []byte(`{"steps":[{"id":"s1","status":"passed"}]}`))

	status, raw = ts.call(t, grace, "GET", "/api/cohorts/"+cid+"/progress", "")
	if status != 200 {
		t.Fatalf("dashboard = %d %s", status, raw)
	}
	var d dashboard
	if err := json.Unmarshal([]byte(raw), &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Labs) != 1 || d.Labs[0].ID != "web-test" || len(d.Learners) != 2 || d.Passed["web-test"] != 1 || d.InLab != 1 {
		t.Fatalf("dashboard = %s", raw)
	}
	for _, l := range d.Learners {
		cell := l.Labs["web-test"]
		switch l.Login {
		case "ada":
			if cell.Status != "passed" || cell.Attempts != 2 || cell.TimeToPassSeconds == nil || len(l.Live) != 1 || l.Live[0].SessionID != sid {
				t.Errorf("ada's row = %+v %+v", l, cell)
			}
		case "alan":
			if cell.Status != "not_started" || cell.Attempts != 0 || len(l.Live) != 0 {
				t.Errorf("alan's row = %+v %+v", l, cell)
			}
		}
	}
	status, raw = ts.call(t, grace, "GET", "/api/cohorts/"+cid+"/progress.csv", "")
	rows, err := csv.NewReader(strings.NewReader(raw)).ReadAll()
	if status != 200 || err != nil || len(rows) != 3 || rows[0][0] != "login" {
		t.Fatalf("CSV = %d %v %q", status, err, raw)
	}
	for _, row := range rows[1:] {
		if row[0] == "ada" && (row[1] != "Ada L" || row[3] != "passed" || row[4] != "2" || row[10] != "yes") {
			t.Errorf("ada's CSV row = %q", row)
		}
	}

	// The drill-down lists ada's runs and replays every event of one.
	status, raw = ts.call(t, grace, "GET", "/api/cohorts/"+cid+"/learners/"+adaID+"/checks", "")
	if status != 200 || strings.Index(raw, "run-2") > strings.Index(raw, "run-1") || !strings.Contains(raw, `"lab":"web-test"`) {
		t.Errorf("ada's checks = %d %s", status, raw)
	}
	status, raw = ts.call(t, grace, "GET", "/api/cohorts/"+cid+"/learners/"+adaID+"/checks/run-2", "")
	if evs, _ := jsonField(t, raw, "events").([]any); status != 200 || len(evs) != 2 || jsonString(t, raw, "outcome") != "passed" {
		t.Errorf("run-2 with events = %d %s", status, raw)
	}
	alanID := ""
	for _, l := range d.Learners {
		if l.Login == "alan" {
			alanID = l.ID
		}
	}
	if status, _ := ts.call(t, grace, "GET", "/api/cohorts/"+cid+"/learners/"+alanID+"/checks/run-2", ""); status != 404 {
		t.Errorf("ada's run under alan's id = %d, want 404", status)
	}

	// Renaming: a name is required; the new one shows everywhere.
	if status, _ := ts.call(t, grace, "PATCH", "/api/cohorts/"+cid, `{"name":"  "}`); status != 400 {
		t.Errorf("rename to blank = %d, want 400", status)
	}
	if status, raw := ts.call(t, grace, "PATCH", "/api/cohorts/"+cid, `{"name":"Autumn bootcamp 2026"}`); status != 200 || jsonString(t, raw, "name") != "Autumn bootcamp 2026" {
		t.Errorf("rename = %d %s", status, raw)
	}
	if _, raw := ts.call(t, anon, "GET", "/api/invites/"+code, ""); jsonString(t, raw, "cohort") != "Autumn bootcamp 2026" {
		t.Errorf("after the rename the invite page names %s", raw)
	}

	// Choosing labs changes what learners see; revoking ends an invite.
	if status, raw := ts.call(t, grace, "PUT", "/api/cohorts/"+cid+"/labs", `{"labs":["web-two"]}`); status != 200 || !strings.Contains(raw, "web-two") {
		t.Errorf("set labs = %d %s", status, raw)
	}
	if _, raw := ts.call(t, ada, "GET", "/api/labs", ""); strings.Contains(raw, `"web-test"`) || !strings.Contains(raw, `"web-two"`) {
		t.Errorf("after the change ada's catalog = %s", raw)
	}
	_, raw = ts.call(t, grace, "POST", "/api/cohorts/"+cid+"/invites", `{}`)
	code2 := jsonString(t, raw, "code")
	if status, _ := ts.call(t, grace, "DELETE", "/api/cohorts/"+cid+"/invites/"+code2, ""); status != 204 {
		t.Errorf("revoke = %d", status)
	}
	if status, raw := ts.call(t, anon, "GET", "/api/invites/"+code2, ""); status != 200 || jsonField(t, raw, "usable") != false || !strings.Contains(raw, "revoked") {
		t.Errorf("a revoked invite = %d %s", status, raw)
	}
	if status, _ := ts.call(t, grace, "DELETE", "/api/cohorts/"+cid+"/learners/"+alanID, ""); status != 204 {
		t.Errorf("remove alan = %d", status)
	}
	if _, raw := ts.call(t, grace, "GET", "/api/cohorts/"+cid, ""); strings.Contains(raw, `"alan"`) || !strings.Contains(raw, `"ada"`) {
		t.Errorf("after removing alan the cohort = %s", raw)
	}

	// An admin sees every cohort and may invite instructors; whoever signs
	// up with that invite instructs the cohort.
	root := ts.loggedIn(t, "root")
	if _, raw := ts.call(t, root, "GET", "/api/cohorts", ""); !strings.Contains(raw, cid) {
		t.Errorf("admin's cohorts = %s", raw)
	}
	status, raw = ts.call(t, root, "POST", "/api/cohorts/"+cid+"/invites", `{"role":"instructor","max_uses":1}`)
	if status != 201 {
		t.Fatalf("admin's instructor invite = %d %s", status, raw)
	}
	ida := ts.loggedIn(t, "")
	if status, raw := ts.call(t, ida, "POST", "/api/signup", `{"invite":"`+jsonString(t, raw, "code")+`","login":"ida","password":"ida-password-1"}`); status != 201 || jsonString(t, raw, "user.role") != "instructor" {
		t.Fatalf("ida's sign-up = %d %s", status, raw)
	}
	if status, _ := ts.call(t, ida, "GET", "/api/cohorts/"+cid+"/progress", ""); status != 200 {
		t.Errorf("ida reads the cohort she was invited to instruct = %d", status)
	}
}

// routeKey names a route as routeTable does.
func routeKey(method, pattern string) string { return method + " " + pattern }

// TestEveryRouteAuthorization sends every route of the API as an
// anonymous browser, as a learner who owns nothing involved, and as an
// instructor of another cohort; each must get what the table says. A route
// added to routeTable without a row here fails the test.
func TestEveryRouteAuthorization(t *testing.T) {
	t.Parallel()
	ts := authServer(t)
	ctx := t.Context()
	ts.account(t, "u-grace", "grace", store.RoleInstructor) // instructs cohort A
	ts.account(t, "u-ivan", "ivan", store.RoleInstructor)   // instructs cohort B
	ts.account(t, "u-bob", "bob", store.RoleLearner)        // in A
	ts.account(t, "u-ada", "ada", store.RoleLearner)        // in B, which sees no lab
	ts.st.CreateCohort(ctx, store.Cohort{ID: "c-a", Name: "A", CreatedBy: "u-grace", Labs: []string{"web-test"}})
	ts.st.CreateCohort(ctx, store.Cohort{ID: "c-b", Name: "B", CreatedBy: "u-ivan", Labs: []string{}})
	week := time.Now().Add(7 * 24 * time.Hour)
	ts.st.CreateInvite(ctx, store.Invite{Code: "inv-a", CohortID: "c-a", Role: store.RoleLearner, CreatedBy: "u-grace", Expires: week, MaxUses: 10})
	ts.st.CreateInvite(ctx, store.Invite{Code: "inv-b", CohortID: "c-b", Role: store.RoleLearner, CreatedBy: "u-ivan", Expires: week, MaxUses: 10})
	ts.st.CreateInvite(ctx, store.Invite{Code: "inv-gone", CohortID: "c-a", Role: store.RoleLearner, CreatedBy: "u-grace", Expires: week, MaxUses: 10})
	ts.st.RevokeInvite(ctx, "c-a", "inv-gone")
	if _, err := ts.st.JoinCohort(ctx, "inv-a", store.User{ID: "u-bob", Role: store.RoleLearner}); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.st.JoinCohort(ctx, "inv-b", store.User{ID: "u-ada", Role: store.RoleLearner}); err != nil {
		t.Fatal(err)
	}
	bob := ts.loggedIn(t, "bob")
	status, raw := ts.call(t, bob, "POST", "/api/sessions", `{"lab":"web-test"}`)
	if status != 201 {
		t.Fatalf("bob opens web-test = %d %s", status, raw)
	}
	sid := jsonString(t, raw, "id")
	ts.st.StartCheckRun(ctx, store.CheckRun{ID: "run-bob", SessionID: sid, UserID: "u-bob", LabID: "web-test", Started: time.Now()})
	ts.st.FinishCheckRun(ctx, "run-bob", "failed", "", []byte(`{}`))

	params := strings.NewReplacer("{sid}", sid, "{tid}", "t1", "{lab}", "web-test", "{task}", ts.lab.Tasks[0].ID,
		"{run}", "run-bob", "{cid}", "c-a", "{uid}", "u-bob", "{code}", "inv-a")
	// Expected status for [anonymous, ada (a learner of another cohort),
	// ivan (an instructor of another cohort)].
	type want [3]int
	table := map[string]struct {
		body string
		want want
	}{
		"GET /api/openapi.json": {"", want{200, 200, 200}},
		"GET /api/me":           {"", want{401, 200, 200}},
		"POST /api/login":       {`{"login":"bob","password":"wrong-password"}`, want{401, 401, 401}},
		"POST /api/logout":      {"", want{401, 204, 204}},
		"POST /api/me/password": {`{"current":"wrong-password","new":"a-new-password"}`, want{401, 403, 403}},
		"GET /api/labs":         {"", want{401, 200, 200}},
		"GET /api/labs/{lab}":   {"", want{401, 404, 200}},
		"POST /api/sessions":    {`{"lab":"web-test"}`, want{401, 404, 201}},

		"GET /api/sessions/{sid}":                            {"", want{401, 404, 404}},
		"POST /api/sessions/{sid}/reset":                     {"", want{401, 404, 404}},
		"POST /api/sessions/{sid}/stop":                      {"", want{401, 404, 404}},
		"POST /api/sessions/{sid}/keepalive":                 {"", want{401, 404, 404}},
		"POST /api/sessions/{sid}/tasks/{task}/hints":        {"", want{401, 404, 404}},
		"GET /api/sessions/{sid}/events":                     {"", want{401, 404, 404}},
		"GET /api/sessions/{sid}/terminals":                  {"", want{401, 404, 404}},
		"POST /api/sessions/{sid}/terminals":                 {"", want{401, 404, 404}},
		"GET /api/sessions/{sid}/terminals/{tid}/ws":         {"", want{401, 404, 404}},
		"GET /api/sessions/{sid}/files":                      {"", want{401, 404, 404}},
		"GET /api/sessions/{sid}/file":                       {"", want{401, 404, 404}},
		"PUT /api/sessions/{sid}/file":                       {`{"content":"x"}`, want{401, 404, 404}},
		"GET /api/sessions/{sid}/checks":                     {"", want{401, 404, 404}},
		"POST /api/sessions/{sid}/checks":                    {"", want{401, 404, 404}},
		"GET /api/sessions/{sid}/checks/{run}":               {"", want{401, 404, 404}},
		"GET /api/invites/{code}":                            {"", want{200, 200, 200}},
		"POST /api/signup":                                   {`{"invite":"inv-gone","login":"mallory","password":"mallory-password"}`, want{410, 410, 410}},
		"POST /api/invites/{code}/join":                      {"", want{401, 200, 410}},
		"GET /api/cohorts":                                   {"", want{401, 403, 200}},
		"POST /api/cohorts":                                  {`{"name":"mine"}`, want{401, 403, 201}},
		"GET /api/cohorts/{cid}":                             {"", want{401, 403, 404}},
		"PATCH /api/cohorts/{cid}":                           {`{"name":"taken over"}`, want{401, 403, 404}},
		"PUT /api/cohorts/{cid}/labs":                        {`{"labs":[]}`, want{401, 403, 404}},
		"POST /api/cohorts/{cid}/invites":                    {`{}`, want{401, 403, 404}},
		"DELETE /api/cohorts/{cid}/invites/{code}":           {"", want{401, 403, 404}},
		"DELETE /api/cohorts/{cid}/learners/{uid}":           {"", want{401, 403, 404}},
		"GET /api/cohorts/{cid}/progress":                    {"", want{401, 403, 404}},
		"GET /api/cohorts/{cid}/progress.csv":                {"", want{401, 403, 404}},
		"GET /api/cohorts/{cid}/learners/{uid}/checks":       {"", want{401, 403, 404}},
		"GET /api/cohorts/{cid}/learners/{uid}/checks/{run}": {"", want{401, 403, 404}},
	}
	srv := &Server{} // the route table only; ts serves through validateAPI
	seen := map[string]bool{}
	actors := map[string]actor{}
	for _, rt := range srv.routeTable() {
		key := routeKey(rt.Method, rt.Pattern)
		seen[key] = true
		tt, ok := table[key]
		if !ok {
			t.Errorf("%s has no row in TestEveryRouteAuthorization: say who may call it", key)
			continue
		}
		path := params.Replace(rt.Pattern)
		for i, login := range []string{"", "ada", "ivan"} {
			a, ok := actors[login]
			if !ok {
				a = ts.loggedIn(t, login)
				actors[login] = a
			}
			if rt.Pattern == "/api/logout" {
				delete(actors, login) // log in afresh after this
			}
			if status, raw := ts.call(t, a, rt.Method, path, tt.body); status != tt.want[i] {
				who := login
				if who == "" {
					who = "anonymous"
				}
				t.Errorf("%s %s as %s = %d %s, want %d", rt.Method, path, who, status, strings.TrimSpace(raw), tt.want[i])
			}
		}
	}
	for key := range table {
		if !seen[key] {
			t.Errorf("TestEveryRouteAuthorization has a row for %s, which is not served", key)
		}
	}

	// What the refusals above protect is intact: bob's session lives, and
	// cohort A is unchanged.
	if s, ok := ts.m.Get(sid); !ok || s.View().State == store.StateStopped {
		t.Error("bob's session was stopped by someone else")
	}
	if c, _ := ts.st.Cohort(ctx, "c-a"); len(c.Labs) != 1 || c.Members < 1 {
		t.Errorf("cohort A changed: %+v", c)
	}
	// Ada joined A with its invite (the one route above that lets her in):
	// that makes her a learner of A, not staff.
	if ok, _ := ts.st.IsCohortStaff(ctx, "c-a", "u-ada"); ok {
		t.Error("joining with a learner's invite made ada staff")
	}
}

// TestRemovedLearnerLosesTheCohortsLabs removes learners from a cohort:
// one from their only cohort then sees no lab at all and their sessions
// of its labs stop; one still in another cohort keeps that cohort's lab
// and its session, and loses only the other. Neither can reopen or reset
// a lab they no longer see.
func TestRemovedLearnerLosesTheCohortsLabs(t *testing.T) {
	t.Parallel()
	ts := authServer(t)
	ts.account(t, "u-grace", "grace", store.RoleInstructor)
	grace := ts.loggedIn(t, "grace")
	cohort := func(name, labs string) (id, code string) {
		status, raw := ts.call(t, grace, "POST", "/api/cohorts", `{"name":"`+name+`","labs":`+labs+`}`)
		if status != 201 {
			t.Fatalf("create cohort %s = %d %s", name, status, raw)
		}
		id = jsonString(t, raw, "id")
		status, raw = ts.call(t, grace, "POST", "/api/cohorts/"+id+"/invites", `{}`)
		if status != 201 {
			t.Fatalf("invite to %s = %d %s", name, status, raw)
		}
		return id, jsonString(t, raw, "code")
	}
	autumn, autumnCode := cohort("Autumn", `["web-test","web-two"]`)
	_, winterCode := cohort("Winter", `["web-two"]`)
	signUp := func(login string, codes ...string) (actor, string) {
		a := ts.loggedIn(t, "")
		status, raw := ts.call(t, a, "POST", "/api/signup", `{"invite":"`+codes[0]+`","login":"`+login+`","password":"`+login+`-password-1"}`)
		if status != 201 {
			t.Fatalf("%s's sign-up = %d %s", login, status, raw)
		}
		for _, c := range codes[1:] {
			if status, raw := ts.call(t, a, "POST", "/api/invites/"+c+"/join", ""); status/100 != 2 {
				t.Fatalf("%s joins with %s = %d %s", login, c, status, raw)
			}
		}
		return a, jsonString(t, raw, "user.id")
	}
	open := func(a actor, lab string) string {
		status, raw := ts.call(t, a, "POST", "/api/sessions", `{"lab":"`+lab+`"}`)
		if status != 201 {
			t.Fatalf("open %s = %d %s", lab, status, raw)
		}
		return jsonString(t, raw, "id")
	}
	catalog := func(a actor) string {
		status, raw := ts.call(t, a, "GET", "/api/labs", "")
		if status != 200 {
			t.Fatalf("GET /api/labs = %d %s", status, raw)
		}
		var ids []string
		for _, l := range jsonList(t, raw) {
			ids = append(ids, l["id"].(string))
		}
		return strings.Join(ids, ",")
	}
	state := func(a actor, sid string) string {
		_, raw := ts.call(t, a, "GET", "/api/sessions/"+sid, "")
		return jsonString(t, raw, "state")
	}

	ada, adaID := signUp("ada", autumnCode)
	bob, bobID := signUp("bob", autumnCode, winterCode)
	adaTest, adaTwo := open(ada, "web-test"), open(ada, "web-two")
	bobTest, bobTwo := open(bob, "web-test"), open(bob, "web-two")

	for _, id := range []string{adaID, bobID} {
		if status, raw := ts.call(t, grace, "DELETE", "/api/cohorts/"+autumn+"/learners/"+id, ""); status != 204 {
			t.Fatalf("remove %s = %d %s", id, status, raw)
		}
	}
	if got := catalog(ada); got != "" {
		t.Errorf("ada, removed from her only cohort, sees %q; want no lab", got)
	}
	if got := catalog(bob); got != "web-two" {
		t.Errorf("bob, still in Winter, sees %q; want web-two", got)
	}
	for _, tc := range []struct {
		who  string
		a    actor
		sid  string
		want string
	}{
		{"ada's web-test", ada, adaTest, "stopped"},
		{"ada's web-two", ada, adaTwo, "stopped"},
		{"bob's web-test", bob, bobTest, "stopped"},
		{"bob's web-two", bob, bobTwo, "starting"},
	} {
		if got := state(tc.a, tc.sid); got != tc.want {
			t.Errorf("%s after the removal is %s, want %s", tc.who, got, tc.want)
		}
	}
	for _, tc := range []struct {
		who          string
		a            actor
		method, path string
		body         string
	}{
		{"ada reopens web-test", ada, "POST", "/api/sessions", `{"lab":"web-test"}`},
		{"ada resets web-test", ada, "POST", "/api/sessions/" + adaTest + "/reset", ""},
		{"ada resets web-two", ada, "POST", "/api/sessions/" + adaTwo + "/reset", ""},
		{"bob resets web-test", bob, "POST", "/api/sessions/" + bobTest + "/reset", ""},
	} {
		if status, raw := ts.call(t, tc.a, tc.method, tc.path, tc.body); status != 404 {
			t.Errorf("%s = %d %s, want 404", tc.who, status, raw)
		}
	}
	if got := state(ada, adaTest); got != "stopped" {
		t.Errorf("ada's web-test after a refused reset is %s", got)
	}
}

func jsonList(t *testing.T, raw string) []map[string]any {
	t.Helper()
	var v []map[string]any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		t.Fatalf("not a JSON list: %s", raw)
	}
	return v
}
