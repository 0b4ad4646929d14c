package web

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/backlab/backlab/internal/auth"
	"github.com/backlab/backlab/internal/lab"
	"github.com/backlab/backlab/internal/labrun"
	"github.com/backlab/backlab/internal/session"
	"github.com/backlab/backlab/internal/store"
	"github.com/backlab/backlab/internal/testenv"
)

// termText is a script returning every terminal's buffer as text.
const termText = `(() => { const out = []; for (const t of window.backlab.terms.values()) {
  const b = t.buffer.active; for (let i = 0; i < b.length; i++) { const l = b.getLine(i); if (l) out.push(l.translateToString(true)); } }
  return out.join("\n"); })()`

// stepWatch records every data-status each check step shows, so the test
// can tell that steps were streamed (running before passed) rather than
// painted at the end.
const stepWatch = `(() => { window.__seen = {};
  const note = el => { const id = el.dataset.testid; (window.__seen[id] ||= []).push(el.dataset.status); };
  new MutationObserver(ms => ms.forEach(m => { const el = m.target;
    if (el.dataset && el.dataset.testid && el.dataset.testid.startsWith("step-")) note(el);
    if (m.type === "childList") m.addedNodes.forEach(n => { if (!n.querySelectorAll) return;
      if (n.matches('[data-testid^="step-"]')) note(n);
      n.querySelectorAll('[data-testid^="step-"]').forEach(note); }); }))
    .observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ["data-status"] });
  return true; })()`

// TestBrowserEndToEnd drives Debian's Chromium through the add-index lab:
// catalog, start, a command in the terminal, an edit saved in the editor
// and seen from the terminal, the fix, and a check whose steps pass live.
// It saves a screenshot of the lab page in artifacts/.
func TestBrowserEndToEnd(t *testing.T) {
	chromium := testenv.NeedChromium(t)
	l, err := lab.Load(filepath.Join("..", "labs", "add-index"))
	if err != nil {
		t.Fatal(err)
	}
	ts := newDockerServerWith(t, l)

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("headless", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1280, 800), chromedp.UserDataDir(testenv.BrowserProfile(t)))
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	var jsErrors []string
	chromedp.ListenTarget(bctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			jsErrors = append(jsErrors, ev.ExceptionDetails.Error())
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.APITypeError {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, string(a.Value))
				}
				jsErrors = append(jsErrors, "console.error: "+strings.Join(parts, " "))
			}
		}
	})
	run := func(what string, actions ...chromedp.Action) {
		t.Helper()
		if err := chromedp.Run(bctx, actions...); err != nil {
			var shot []byte
			sctx, c := context.WithTimeout(bctx, 10*time.Second)
			chromedp.Run(sctx, chromedp.CaptureScreenshot(&shot))
			c()
			saveArtifact(t, "e2e-failure.png", shot)
			t.Fatalf("%s: %v (JS errors: %q; screenshot in artifacts/e2e-failure.png)", what, err, jsErrors)
		}
	}
	q := chromedp.ByQuery
	waitTerm := func(what, want string) {
		t.Helper()
		run(what, chromedp.Poll(termText+`.includes(`+jsString(want)+`)`, nil, chromedp.WithPollingTimeout(30*time.Second)))
	}
	typeInTerm := func(text string) chromedp.Action {
		return chromedp.Tasks{chromedp.Focus(`[data-testid="terminal-active"] textarea`, q), typeKeys(text)}
	}

	// The catalog lists the lab with its status; open it.
	var card string
	run("catalog", chromedp.Navigate(ts.URL+"/"),
		chromedp.WaitVisible(`[data-testid="lab-card-add-index"]`, q),
		chromedp.Text(`[data-testid="lab-card-add-index"]`, &card, q))
	if !strings.Contains(card, l.Title) || !strings.Contains(strings.ToLower(card), "not started") {
		t.Errorf("catalog card = %q, want the title and 'not started'", card)
	}
	start := time.Now()
	var state string
	run("start the lab", chromedp.Click(`[data-testid="lab-card-add-index"]`, q),
		chromedp.Poll(`(() => { if (document.querySelector('[data-testid="terminal-active"]')) return "ready";
			const s = document.querySelector('[data-testid="session-state"]');
			return s && ["failed", "error", "stopped", "expired"].includes(s.dataset.state) ? s.dataset.state + ": " + s.textContent : ""; })()`,
			&state, chromedp.WithPollingTimeout(6*time.Minute)))
	if state != "ready" {
		t.Fatalf("the lab did not start: %s", state)
	}
	run("terminal", chromedp.WaitVisible(`[data-testid="terminal-active"]`, q))
	t.Logf("lab page with a terminal %s after the click", time.Since(start).Round(time.Millisecond))

	// A command typed in the terminal shows its output.
	run("type a command", typeInTerm("echo e2e-$((6*7))\n"))
	waitTerm("command output", "e2e-42")

	// An edit saved in the editor is what the terminal sees.
	run("open main.go", chromedp.Click(`[data-testid="tab-editor"]`, q),
		chromedp.WaitVisible(`[data-testid="file-main.go"]`, q),
		chromedp.Click(`[data-testid="file-main.go"]`, q),
		chromedp.WaitVisible(`[data-testid="editor"] .cm-content .cm-line`, q),
		chromedp.Click(`[data-testid="editor"] .cm-content .cm-line`, q),
		chromedp.KeyEvent(kb.Home),
		typeKeys("// e2e-marker: edited in the browser\n"),
		chromedp.Click(`[data-testid="save-file"]`, q),
		chromedp.Poll(`document.querySelector('[data-testid="save-status"]').textContent.includes("Saved")`, nil, chromedp.WithPollingTimeout(20*time.Second)))
	var firstTab string
	run("back to the terminal", chromedp.AttributeValue(`[data-testid^="tab-terminal-"]`, "data-testid", &firstTab, nil, q))
	run("grep the edit", chromedp.Click(`[data-testid="`+firstTab+`"]`, q),
		chromedp.WaitVisible(`[data-testid="terminal-active"]`, q),
		typeInTerm("head -1 main.go | tr a-z A-Z\n"))
	waitTerm("edit seen from the terminal", "// E2E-MARKER: EDITED IN THE BROWSER")

	// The fix, as the lab expects it: a migration file.
	fix, err := os.ReadFile(filepath.Join(l.Path(l.Solution), "files", "migrations", "003_orders_customer_id_index.sql"))
	if err != nil {
		t.Fatal(err)
	}
	var stmt string
	for _, line := range strings.Split(string(fix), "\n") {
		if !strings.HasPrefix(line, "--") && strings.TrimSpace(line) != "" {
			stmt += line + " "
		}
	}
	run("apply the fix", typeInTerm("echo '"+strings.TrimSpace(stmt)+"' > migrations/003_index.sql && echo fix-wr''itten\n"))
	waitTerm("fix written", "fix-written")

	// Check: every step passes, streamed live.
	var ok bool
	run("check", chromedp.Evaluate(stepWatch, &ok),
		chromedp.Click(`[data-testid="run-check"]`, q),
		chromedp.WaitVisible(`[data-testid="check-outcome"][data-outcome="running"]`, q),
		chromedp.WaitVisible(`[data-testid="check-outcome"][data-outcome="passed"], [data-testid="check-outcome"][data-outcome="failed"], [data-testid="check-outcome"][data-outcome="error"]`, q))
	var outcome string
	run("outcome", chromedp.AttributeValue(`[data-testid="check-outcome"]`, "data-outcome", &outcome, nil, q))
	var seen map[string][]string
	run("seen statuses", chromedp.Evaluate(`window.__seen`, &seen))
	for _, st := range l.Checker.Steps {
		var status string
		run("step "+st.ID, chromedp.AttributeValue(`[data-testid="step-`+st.ID+`"]`, "data-status", &status, nil, q))
		if status != "passed" {
			var text string
			chromedp.Run(bctx, chromedp.Text(`[data-testid="step-`+st.ID+`"]`, &text, q))
			t.Errorf("step %s is %s after the check, want passed: %s", st.ID, status, text)
		}
		if !contains(seen["step-"+st.ID], "running") {
			t.Errorf("step %s was never shown running (statuses seen: %v): not streamed live", st.ID, seen["step-"+st.ID])
		}
	}
	if outcome != "passed" {
		t.Errorf("check outcome %s, want passed", outcome)
	}

	var shot []byte
	run("screenshot", chromedp.CaptureScreenshot(&shot))
	saveArtifact(t, "e2e-lab-page.png", shot)

	// A reload resumes the same session: the terminal comes back with its
	// scrollback, the check is in the history, the catalog says passed.
	run("reload", chromedp.Reload(), chromedp.WaitVisible(`[data-testid="terminal-active"]`, q))
	waitTerm("scrollback after reload", "fix-written")
	run("history after reload", chromedp.WaitVisible(`[data-testid="check-history"] [data-outcome="passed"]`, q))
	run("catalog after passing", chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible(`[data-testid="lab-card-add-index"]`, q),
		chromedp.Text(`[data-testid="lab-card-add-index"]`, &card, q))
	if !strings.Contains(strings.ToLower(card), "passed") {
		t.Errorf("catalog card after passing = %q, want passed", card)
	}
	if len(jsErrors) > 0 {
		t.Errorf("the page logged errors: %q", jsErrors)
	}
}

// typeKeys types text into the focused element one key at a time, as a
// person would: a keyDown carrying the character, then a keyUp. (chromedp's
// SendKeys adds a separate char event, which xterm.js reads as a second
// keystroke.)
func typeKeys(text string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		for _, r := range text {
			key, code, txt, vk := string(r), "", string(r), int64(0)
			if r == '\n' {
				key, code, txt, vk = "Enter", "Enter", "\r", 13
			}
			down := input.DispatchKeyEvent(input.KeyDown).WithKey(key).WithText(txt).WithUnmodifiedText(txt)
			if code != "" {
				down = down.WithCode(code).WithWindowsVirtualKeyCode(vk).WithNativeVirtualKeyCode(vk)
			}
			if err := down.Do(ctx); err != nil {
				return err
			}
			if err := input.DispatchKeyEvent(input.KeyUp).WithKey(key).Do(ctx); err != nil {
				return err
			}
		}
		return nil
	})
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func jsString(s string) string { return fmt.Sprintf("%q", s) }

// saveArtifact writes a file under the repository's artifacts/ folder.
func saveArtifact(t *testing.T, name string, data []byte) {
	if len(data) == 0 {
		return
	}
	dir := os.Getenv("BACKLAB_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Logf("artifacts: %v", err)
		return
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Logf("artifacts: %v", err)
		return
	}
	t.Logf("saved %s", p)
}

// TestBrowserLogin: on a server that requires logins the page shows the
// login form, a wrong password is refused in place, the right one shows
// the catalog, and logging out returns to the form.
func TestBrowserLogin(t *testing.T) {
	chromium := testenv.NeedChromium(t)
	var st *store.Store
	ts := newServerWith(t, labrun.Runner{}, nil, testenv.ScaffoldLab(t, "web-test"), func(_ *session.Config, c *Config) {
		c.Auth = true
		st = c.Store
	})
	hash, _ := auth.HashPassword("grace-password-1")
	if err := st.CreateAccount(t.Context(), store.Account{User: store.User{ID: "u-grace", Name: "Grace Hopper", Role: store.RoleLearner}, Login: "grace", PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("headless", true), chromedp.Flag("disable-background-networking", true),
		chromedp.WindowSize(1280, 800), chromedp.UserDataDir(testenv.BrowserProfile(t)))
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	q := chromedp.ByQuery
	var errText, user string
	err := chromedp.Run(bctx,
		chromedp.Navigate(ts.URL+"/labs/web-test"),
		chromedp.WaitVisible(`[data-testid="login-form"]`, q),
		chromedp.SendKeys(`[data-testid="login-name"]`, "grace", q),
		chromedp.SendKeys(`[data-testid="login-password"]`, "not-the-password", q),
		chromedp.Click(`[data-testid="login-submit"]`, q),
		chromedp.WaitVisible(`[data-testid="login-error"]`, q),
		chromedp.Text(`[data-testid="login-error"]`, &errText, q),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errText, "wrong login or password") {
		t.Errorf("error shown = %q", errText)
	}
	err = chromedp.Run(bctx,
		// The form cleared the password after the failure.
		chromedp.SendKeys(`[data-testid="login-password"]`, "grace-password-1\n", q),
		chromedp.WaitVisible(`[data-testid="logout"]`, q),
		chromedp.Text(`[data-testid="user"]`, &user, q),
		chromedp.Navigate(ts.URL+"/"),
		chromedp.WaitVisible(`[data-testid="lab-card-web-test"]`, q),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(user, "Grace Hopper") {
		t.Errorf("header user = %q", user)
	}

	// The name in the header opens the account page, where the password
	// changes only with the current one.
	var who, wrong, done string
	err = chromedp.Run(bctx,
		chromedp.Click(`[data-testid="user"]`, q),
		chromedp.WaitVisible(`[data-testid="pw-form"]`, q),
		chromedp.Text(`[data-testid="account-who"]`, &who, q),
		chromedp.SendKeys(`[data-testid="pw-current"]`, "not-the-password", q),
		chromedp.SendKeys(`[data-testid="pw-new"]`, "grace-password-2", q),
		chromedp.SendKeys(`[data-testid="pw-again"]`, "grace-password-2", q),
		chromedp.Click(`[data-testid="pw-submit"]`, q),
		chromedp.WaitVisible(`[data-testid="pw-message"].login-error`, q),
		chromedp.Text(`[data-testid="pw-message"]`, &wrong, q),
		chromedp.SendKeys(`[data-testid="pw-current"]`, "grace-password-1", q),
		chromedp.Click(`[data-testid="pw-submit"]`, q),
		chromedp.WaitVisible(`[data-testid="pw-message"].notice-ok`, q),
		chromedp.Text(`[data-testid="pw-message"]`, &done, q),
		chromedp.Click(`[data-testid="logout"]`, q),
		chromedp.WaitVisible(`[data-testid="login-form"]`, q),
		chromedp.SendKeys(`[data-testid="login-name"]`, "grace", q),
		chromedp.SendKeys(`[data-testid="login-password"]`, "grace-password-2\n", q),
		chromedp.WaitVisible(`[data-testid="logout"]`, q),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(who, "Grace Hopper") || !strings.Contains(wrong, "current password is wrong") || !strings.Contains(done, "password is changed") {
		t.Errorf("account page: who %q, wrong password %q, changed %q", who, wrong, done)
	}
}
