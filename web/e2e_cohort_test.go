package web

import (
	"context"
	"fmt"
	"log"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/backlab/backlab/internal/auth"
	"github.com/backlab/backlab/internal/lab"
	"github.com/backlab/backlab/internal/session"
	"github.com/backlab/backlab/internal/store"
	"github.com/backlab/backlab/internal/testenv"
)

// tab is one browser page driven by a test; every tab of a test shares
// one Chromium, but each has its own cookies (a browser context of its
// own), so two tabs are two people.
type tab struct {
	t    *testing.T
	name string
	ctx  context.Context
	mu   *sync.Mutex
	errs *[]string // JavaScript errors of every tab
}

// newTabs starts a headless Chromium and returns a function that opens a
// tab with cookies of its own.
func newTabs(t *testing.T, timeout time.Duration) func(name string) *tab {
	t.Helper()
	chromium := testenv.NeedChromium(t)
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	t.Cleanup(cancel)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("headless", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		// Tabs in the background keep their timers (the dashboard refreshes).
		chromedp.Flag("disable-background-timer-throttling", true), chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.WindowSize(1280, 860), chromedp.UserDataDir(testenv.BrowserProfile(t)))
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	// chromedp does not know the event a modal <dialog> sends; say nothing of it.
	quiet := chromedp.WithBrowserErrorf(func(format string, args ...any) {
		if !strings.HasPrefix(format, "unhandled node event") {
			log.Printf("chromedp: "+format, args...)
		}
	})
	bctx, bcancel := chromedp.NewContext(actx, chromedp.WithBrowserOption(quiet))
	t.Cleanup(bcancel)
	if err := chromedp.Run(bctx); err != nil { // starts the browser
		t.Fatal(err)
	}
	var mu sync.Mutex
	var errs []string
	return func(name string) *tab {
		// A browser context of its own (chromedp's WithNewBrowserContext
		// opens its tab without a window, which headless Chromium refuses).
		var tid target.ID
		err := chromedp.Run(bctx, chromedp.ActionFunc(func(ctx context.Context) error {
			ex := cdp.WithExecutor(ctx, chromedp.FromContext(ctx).Browser)
			bc, err := target.CreateBrowserContext().WithDisposeOnDetach(true).Do(ex)
			if err != nil {
				return err
			}
			tid, err = target.CreateTarget("about:blank").WithBrowserContextID(bc).WithNewWindow(true).Do(ex)
			return err
		}))
		if err != nil {
			t.Fatalf("open a tab for the %s: %v", name, err)
		}
		tctx, tcancel := chromedp.NewContext(bctx, chromedp.WithTargetID(tid))
		t.Cleanup(tcancel)
		chromedp.ListenTarget(tctx, func(ev any) {
			var msg string
			switch ev := ev.(type) {
			case *runtime.EventExceptionThrown:
				msg = ev.ExceptionDetails.Error()
			case *runtime.EventConsoleAPICalled:
				if ev.Type != runtime.APITypeError {
					return
				}
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, string(a.Value))
				}
				msg = "console.error: " + strings.Join(parts, " ")
			default:
				return
			}
			mu.Lock()
			errs = append(errs, name+": "+msg)
			mu.Unlock()
		})
		return &tab{t: t, name: name, ctx: tctx, mu: &mu, errs: &errs}
	}
}

// run runs actions, failing the test with a screenshot of the tab in
// artifacts/e2e-failure.png when one fails.
func (b *tab) run(what string, actions ...chromedp.Action) {
	b.t.Helper()
	if err := chromedp.Run(b.ctx, actions...); err != nil {
		var shot []byte
		sctx, c := context.WithTimeout(b.ctx, 10*time.Second)
		chromedp.Run(sctx, chromedp.CaptureScreenshot(&shot))
		c()
		saveArtifact(b.t, "e2e-failure.png", shot)
		b.t.Fatalf("%s: %s: %v (JS errors: %q; screenshot in artifacts/e2e-failure.png)", b.name, what, err, b.jsErrors())
	}
}

// wait polls a script until it returns something truthy (its value lands
// in out, when not nil).
func (b *tab) wait(what, script string, out any, timeout time.Duration) {
	b.t.Helper()
	b.run(what, chromedp.Poll(script, out, chromedp.WithPollingTimeout(timeout)))
}

// text is the text of the element the selector finds.
func (b *tab) text(sel string) string {
	b.t.Helper()
	var s string
	b.run("read "+sel, chromedp.Text(sel, &s, chromedp.ByQuery))
	return s
}

func (b *tab) jsErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), *b.errs...)
}

// sel is a CSS selector for a data-testid.
func sel(testid string) string { return `[data-testid="` + testid + `"]` }

// loginAs fills the login form (which must be on the page).
func (b *tab) loginAs(login, password string) {
	b.t.Helper()
	q := chromedp.ByQuery
	b.run("log in as "+login,
		chromedp.WaitVisible(sel("login-form"), q),
		chromedp.SendKeys(sel("login-name"), login, q),
		chromedp.SendKeys(sel("login-password"), password, q),
		chromedp.Click(sel("login-submit"), q),
		chromedp.WaitVisible(sel("logout"), q))
}

// newDockerAuthServer serves labs with sandboxes on the real engine, on a
// server that requires logins.
func newDockerAuthServer(t *testing.T, labs ...*lab.Lab) *testServer {
	t.Helper()
	return newDockerServerWith(t, labs[0], func(sc *session.Config, c *Config) {
		c.Auth = true
		sc.Labs = append(sc.Labs, labs[1:]...)
	})
}

// TestBrowserCohortEndToEnd follows a cohort through the browser with real
// sandboxes: an instructor logs in, creates a cohort with one of two labs
// and an invite; a learner in a browser of their own opens the invite's
// link, signs up, sees only the cohort's lab, fixes it and passes the
// check; the instructor's dashboard then shows the pass (attempts, time to
// pass) and the learner in session, and the drill-down shows the run with
// every event. It saves a screenshot of the dashboard in artifacts/.
func TestBrowserCohortEndToEnd(t *testing.T) {
	testenv.NeedChromium(t)
	l := testenv.ScaffoldLab(t, "web-test")
	other := testenv.ScaffoldLab(t, "web-other")
	ts := newDockerAuthServer(t, l, other)
	hash, _ := auth.HashPassword("grace-password-1")
	if err := ts.st.CreateAccount(t.Context(), store.Account{User: store.User{ID: "u-grace", Name: "Grace Hopper", Role: store.RoleInstructor}, Login: "grace", PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	open := newTabs(t, 10*time.Minute)
	q := chromedp.ByQuery
	begin := time.Now()

	// The instructor logs in on /cohorts and creates a cohort that sees
	// web-test only.
	grace := open("instructor")
	grace.run("cohorts page", chromedp.Navigate(ts.URL+"/cohorts"))
	grace.loginAs("grace", "grace-password-1")
	grace.run("create a cohort",
		chromedp.WaitVisible(sel("nav-cohorts"), q),
		chromedp.WaitVisible(sel("cohort-lab-web-other"), q),
		chromedp.SendKeys(sel("cohort-name"), "Autumn bootcamp", q),
		chromedp.Click(sel("cohort-lab-web-other"), q),
		chromedp.Click(sel("cohort-create"), q),
		chromedp.WaitVisible(sel("cohort-title"), q))
	if title := grace.text(sel("cohort-title")); title != "Autumn bootcamp" {
		t.Errorf("dashboard title = %q", title)
	}

	// An invite for 5 sign-ups, valid 7 days; its link is on the page.
	var link string
	grace.run("create an invite",
		chromedp.SetValue(sel("invite-max-uses"), "5", q),
		chromedp.SetValue(sel("invite-days"), "7", q),
		chromedp.Click(sel("create-invite"), q),
		chromedp.WaitVisible(`[data-testid="invite-list"] [data-usable="true"] `+sel("invite-link"), q),
		chromedp.Value(`[data-testid="invite-list"] [data-usable="true"] `+sel("invite-link"), &link, q))
	if !strings.HasPrefix(link, ts.URL+"/join/") {
		t.Fatalf("invite link = %q, want %s/join/…", link, ts.URL)
	}
	if uses := grace.text(`[data-testid="invite-list"] ` + sel("invite-uses")); uses != "0 of 5 sign-ups used" {
		t.Errorf("invite uses = %q", uses)
	}

	// A learner with a browser of their own: a wrong link says so, the
	// right one signs up and lands on the catalog of the cohort's lab.
	ada := open("learner")
	ada.run("a link that does not work", chromedp.Navigate(ts.URL+"/join/not-a-code"),
		chromedp.WaitVisible(sel("join-unusable"), q))
	ada.run("sign up",
		chromedp.Navigate(link),
		chromedp.WaitVisible(sel("join-form"), q),
		chromedp.SendKeys(sel("signup-login"), "ada", q),
		chromedp.SendKeys(sel("signup-name"), "Ada Lovelace", q),
		chromedp.SendKeys(sel("signup-password"), "ada-password-1", q),
		chromedp.SendKeys(sel("signup-password2"), "ada-password-2", q),
		chromedp.Click(sel("signup-submit"), q),
		chromedp.WaitVisible(sel("signup-error"), q))
	if msg := ada.text(sel("signup-error")); !strings.Contains(msg, "passwords differ") {
		t.Errorf("sign-up error for differing passwords = %q", msg)
	}
	if title := ada.text(sel("join-title")); !strings.Contains(title, "Autumn bootcamp") {
		t.Errorf("sign-up page title = %q, want the cohort's name", title)
	}
	ada.run("sign up, again",
		chromedp.SetValue(sel("signup-password2"), "ada-password-1", q),
		chromedp.Click(sel("signup-submit"), q),
		chromedp.WaitVisible(sel("lab-card-web-test"), q))
	var cards int
	ada.run("catalog", chromedp.Evaluate(`document.querySelectorAll('[data-testid^="lab-card-"]').length`, &cards))
	if cards != 1 {
		t.Errorf("the learner's catalog has %d labs, want only the cohort's web-test", cards)
	}
	if u := ada.text(sel("user")); u != "Ada Lovelace" {
		t.Errorf("header user after sign-up = %q", u)
	}
	var navShown bool
	ada.run("no cohorts link", chromedp.Evaluate(`!document.querySelector('[data-testid="nav-cohorts"]').closest("nav").hidden`, &navShown))
	if navShown {
		t.Error("a learner sees the Cohorts link")
	}
	t.Logf("instructor set up, learner signed up: %s", time.Since(begin).Round(time.Millisecond))

	// The learner opens the lab, fixes it in the terminal and passes.
	start := time.Now()
	var state string
	ada.run("start the lab", chromedp.Click(sel("lab-card-web-test"), q))
	ada.wait("lab ready", `(() => { if (document.querySelector('[data-testid="terminal-active"]')) return "ready";
		const s = document.querySelector('[data-testid="session-state"]');
		return s && ["failed", "error", "stopped", "expired"].includes(s.dataset.state) ? s.dataset.state + ": " + s.textContent : ""; })()`,
		&state, 6*time.Minute)
	if state != "ready" {
		t.Fatalf("the lab did not start: %s", state)
	}
	t.Logf("lab ready %s after the click", time.Since(start).Round(time.Millisecond))
	ada.run("fix", chromedp.Focus(`[data-testid="terminal-active"] textarea`, q),
		typeKeys("sed -i 's/^MAX_LIMIT=1000$/MAX_LIMIT=100/' app.conf && grep -c '^MAX_LIMIT=100$' app.conf && echo fix-wr''itten\n"))
	ada.wait("fix written", termText+`.includes("fix-written")`, nil, 30*time.Second)
	ada.run("check", chromedp.Click(sel("run-check"), q),
		chromedp.WaitVisible(`[data-testid="check-outcome"]:is([data-outcome="passed"], [data-outcome="failed"], [data-outcome="error"], [data-outcome="timeout"])`, q))
	if outcome := ada.text(sel("check-outcome")); outcome != "Passed" {
		t.Fatalf("check outcome = %q, want Passed (steps: %s)", outcome, ada.text(`ol.steps`))
	}
	t.Logf("check passed %s after the click on the lab", time.Since(start).Round(time.Millisecond))

	// The instructor's dashboard, still open, shows it on its next refresh:
	// passed, attempts, time to pass, in session now.
	var uid string
	grace.run("learner row",
		chromedp.WaitVisible(`[data-testid^="learner-row-"][data-login="ada"]`, q),
		chromedp.AttributeValue(`[data-testid^="learner-row-"][data-login="ada"]`, "data-testid", &uid, nil, q))
	uid = strings.TrimPrefix(uid, "learner-row-")
	cell := sel("cell-" + uid + "-web-test")
	grace.wait("the passed cell", `document.querySelector('`+cell+`[data-status="passed"]') !== null`, nil, 30*time.Second)
	var attempts string
	grace.run("attempts", chromedp.AttributeValue(cell, "data-attempts", &attempts, nil, q))
	if attempts == "" || attempts == "0" {
		t.Errorf("attempts on the dashboard = %q, want 1 or more", attempts)
	}
	if ttp := grace.text(cell + ` ` + sel("time-to-pass")); !regexp.MustCompile(`^(\d+s|\d+m \d+s) to pass$`).MatchString(ttp) {
		t.Errorf("time to pass = %q, want e.g. 42s to pass", ttp)
	}
	if live := grace.text(sel("live-" + uid)); !strings.Contains(live, "In session now") || !strings.Contains(live, l.Title) {
		t.Errorf("live label = %q, want 'In session now' and the lab", live)
	}
	if passed := grace.text(sel("passed-web-test")); passed != "1 / 1" {
		t.Errorf("passed total = %q, want 1 / 1", passed)
	}
	if uses := grace.text(`[data-testid="invite-list"] ` + sel("invite-uses")); uses != "1 of 5 sign-ups used" {
		t.Errorf("invite uses after the sign-up = %q", uses)
	}
	var shot []byte
	grace.run("screenshot", chromedp.CaptureScreenshot(&shot))
	saveArtifact(t, "e2e-dashboard.png", shot)

	// The drill-down: the passing run, and every event it streamed.
	grace.run("drill-down", chromedp.Click(sel("learner-link-"+uid), q),
		chromedp.WaitVisible(`[data-testid="check-runs"] [data-outcome="passed"]`, q),
		chromedp.WaitVisible(`[data-testid="run-detail"][data-outcome="passed"] `+sel("run-events"), q))
	var events []struct{ Type, Step, Status string }
	grace.run("events", chromedp.Evaluate(`[...document.querySelectorAll('[data-testid="run-events"] [data-testid="event"]')].map(e => ({
		type: e.dataset.type, step: (e.querySelector(".event-step") || {}).textContent || "", status: e.dataset.status || "" }))`, &events))
	passedSteps := map[string]bool{}
	finished := false
	for _, ev := range events {
		if ev.Type == "step.passed" {
			passedSteps[ev.Step] = true
		}
		if ev.Type == "check.finished" && ev.Status == "passed" {
			finished = true
		}
	}
	for _, st := range l.Checker.Steps {
		if !passedSteps[st.ID] {
			t.Errorf("the drill-down shows no step.passed event for %s (events: %+v)", st.ID, events)
		}
	}
	if !finished {
		t.Errorf("the drill-down shows no check.finished event with outcome passed (events: %+v)", events)
	}
	var loc string
	grace.run("address", chromedp.Location(&loc))
	if !strings.Contains(loc, "/cohorts/") || !strings.Contains(loc, "/learners/"+uid+"?run=") {
		t.Errorf("drill-down address = %s", loc)
	}
	if errs := grace.jsErrors(); len(errs) > 0 {
		t.Errorf("the pages logged errors: %q", errs)
	}
	t.Logf("whole test in the browser: %s", time.Since(begin).Round(time.Millisecond))
}

// TestBrowserCohortPages covers the cohort pages without sandboxes (the
// check runs are recorded directly): a revoked invite's page, the
// sign-up's own checks, joining with an existing account, the learner
// drill-down's events, choosing labs, revoking an invite and removing a
// learner.
func TestBrowserCohortPages(t *testing.T) {
	testenv.NeedChromium(t)
	ts := authServer(t)
	ctx := t.Context()
	ts.account(t, "u-grace", "grace", store.RoleInstructor)
	ts.account(t, "u-bob", "bob", store.RoleLearner)
	ts.st.CreateCohort(ctx, store.Cohort{ID: "c-a", Name: "Spring cohort", CreatedBy: "u-grace", Labs: []string{"web-test"}})
	week := time.Now().Add(7 * 24 * time.Hour)
	ts.st.CreateInvite(ctx, store.Invite{Code: "inv-ok", CohortID: "c-a", Role: store.RoleLearner, CreatedBy: "u-grace", Created: time.Now(), Expires: week, MaxUses: 10})
	ts.st.CreateInvite(ctx, store.Invite{Code: "inv-gone", CohortID: "c-a", Role: store.RoleLearner, CreatedBy: "u-grace", Created: time.Now(), Expires: week, MaxUses: 10})
	ts.st.RevokeInvite(ctx, "c-a", "inv-gone")
	open := newTabs(t, 3*time.Minute)
	q := chromedp.ByQuery

	// A revoked invite says why it cannot be used.
	anon := open("visitor")
	anon.run("revoked invite", chromedp.Navigate(ts.URL+"/join/inv-gone"), chromedp.WaitVisible(sel("join-unusable"), q))
	if msg := anon.text(sel("join-unusable")); !strings.Contains(msg, "Spring cohort") || !strings.Contains(msg, "revoked") {
		t.Errorf("revoked invite page = %q", msg)
	}
	// The form checks the login before asking the server, and shows the
	// server's refusal of a taken login.
	anon.run("bad login", chromedp.Navigate(ts.URL+"/join/inv-ok"), chromedp.WaitVisible(sel("join-form"), q),
		chromedp.SendKeys(sel("signup-login"), "Not valid!", q),
		chromedp.SendKeys(sel("signup-password"), "long-enough-1", q),
		chromedp.SendKeys(sel("signup-password2"), "long-enough-1", q),
		chromedp.Click(sel("signup-submit"), q),
		chromedp.WaitVisible(sel("signup-error"), q))
	if msg := anon.text(sel("signup-error")); !strings.Contains(msg, "not allowed") {
		t.Errorf("error for a bad login = %q", msg)
	}
	anon.run("taken login", chromedp.SetValue(sel("signup-login"), "grace", q),
		chromedp.Click(sel("signup-submit"), q),
		chromedp.Poll(`document.querySelector('[data-testid="signup-error"]').textContent.includes("taken")`, nil, chromedp.WithPollingTimeout(10*time.Second)))

	// Bob has an account: he logs in from the sign-up page and joins with it.
	anon.run("log in from the sign-up page", chromedp.Click(sel("join-login"), q))
	anon.loginAs("bob", "bob-password-1")
	// Logging out there shows the sign-up form again, not the login form.
	anon.run("log out on the sign-up page", chromedp.WaitVisible(sel("join-with-account"), q),
		chromedp.Click(sel("join-logout"), q),
		chromedp.WaitVisible(sel("join-form"), q),
		chromedp.Click(sel("join-login"), q))
	anon.loginAs("bob", "bob-password-1")
	anon.run("join with the account", chromedp.WaitVisible(sel("join-with-account"), q),
		chromedp.Click(sel("join-with-account"), q),
		chromedp.WaitVisible(sel("lab-card-web-test"), q))
	if n, err := ts.st.CohortMembers(ctx, "c-a"); err != nil || len(n) != 1 || n[0].ID != "u-bob" {
		t.Fatalf("after joining, the cohort's members are %+v (%v)", n, err)
	}
	sess, _, err := ts.m.Open(ctx, "u-bob", "web-test")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().Add(-90 * time.Second)
	ts.st.StartCheckRun(ctx, store.CheckRun{ID: "run-1", SessionID: sess.ID, UserID: "u-bob", LabID: "web-test", Started: t0})
	for i, ev := range []string{
		`{"type":"check.started","time":"%s"}`,
		`{"type":"step.started","step":"serves-items","title":"A page holds exactly the number of items asked for","time":"%s"}`,
		`{"type":"step.failed","step":"serves-items","message":"asked for 37 items, got 20","hint":"Read app.conf","time":"%s"}`,
		`{"type":"log","message":"GET /cgi-bin/items?limit=37 -> 20 lines","time":"%s"}`,
		`{"type":"metric","step":"serves-items","name":"p95_ms","value":12.5,"unit":"ms","time":"%s"}`,
		`{"type":"check.finished","outcome":"failed","time":"%s"}`,
	} {
		ts.st.AddCheckEvent(ctx, "run-1", i, []byte(fmt.Sprintf(ev, t0.Add(time.Duration(i)*300*time.Millisecond).UTC().Format(time.RFC3339Nano))))
	}
	ts.st.FinishCheckRun(ctx, "run-1", "failed", "", []byte(`{"steps":[{"id":"serves-items","status":"failed","message":"asked for 37 items, got 20"}],"duration_ms":1800}`))

	// The instructor's drill-down shows the run's events, readable.
	grace := open("instructor")
	grace.run("drill-down", chromedp.Navigate(ts.URL+"/cohorts/c-a/learners/u-bob"))
	grace.loginAs("grace", "grace-password-1")
	grace.run("events", chromedp.WaitVisible(`[data-testid="run-detail"][data-outcome="failed"] `+sel("run-events"), q))
	var types []string
	grace.run("event types", chromedp.Evaluate(`[...document.querySelectorAll('[data-testid="event"]')].map(e => e.dataset.type)`, &types))
	if strings.Join(types, " ") != "check.started step.started step.failed log metric check.finished" {
		t.Errorf("events shown = %v", types)
	}
	if txt := grace.text(`[data-testid="event"][data-type="step.failed"]`); !strings.Contains(txt, "asked for 37 items, got 20") || !strings.Contains(txt, "Read app.conf") {
		t.Errorf("the failed step's event = %q", txt)
	}
	var shot []byte
	grace.run("screenshot", chromedp.CaptureScreenshot(&shot))
	saveArtifact(t, "e2e-learner-checks.png", shot)

	// The dashboard: bob in progress; choose both labs; revoke the invite;
	// remove bob.
	grace.run("dashboard", chromedp.Navigate(ts.URL+"/cohorts/c-a"),
		chromedp.WaitVisible(`[data-testid="cell-u-bob-web-test"][data-status="in_progress"]`, q),
		chromedp.Click(sel("lab-toggle-web-two"), q),
		chromedp.Click(sel("save-labs"), q),
		chromedp.WaitVisible(sel("cell-u-bob-web-two"), q))
	if c, _ := ts.st.Cohort(ctx, "c-a"); len(c.Labs) != 2 {
		t.Errorf("after saving, the cohort's labs are %v", c.Labs)
	}
	grace.run("rename", chromedp.Click(sel("rename-cohort"), q),
		chromedp.WaitVisible(sel("cohort-rename-input"), q),
		chromedp.SetValue(sel("cohort-rename-input"), "Spring cohort 2027", q),
		chromedp.Click(sel("cohort-rename-save"), q),
		chromedp.Poll(`document.querySelector('[data-testid="cohort-title"]').textContent === "Spring cohort 2027"`, nil, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.WaitVisible(sel("cohort-title"), q))
	if c, _ := ts.st.Cohort(ctx, "c-a"); c.Name != "Spring cohort 2027" {
		t.Errorf("after renaming, the cohort's name is %q", c.Name)
	}
	grace.run("revoke", chromedp.Click(sel("invite-inv-ok")+` `+sel("revoke-invite"), q),
		chromedp.Click(sel("confirm-ok"), q),
		chromedp.WaitVisible(sel("invite-inv-ok")+`[data-usable="false"]`, q))
	grace.run("remove bob", chromedp.Click(sel("remove-learner-u-bob"), q),
		chromedp.Click(sel("confirm-ok"), q),
		chromedp.WaitNotPresent(sel("learner-row-u-bob"), q))
	if n, _ := ts.st.CohortMembers(ctx, "c-a"); len(n) != 0 {
		t.Errorf("after removing bob, the members are %+v", n)
	}
	if errs := grace.jsErrors(); len(errs) > 0 {
		t.Errorf("the pages logged errors: %q", errs)
	}
}
