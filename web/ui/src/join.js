// The sign-up page of an invite link, /join/{code}: it says which cohort
// the invite joins and takes a new account (POST /api/signup logs it in),
// or, for someone logged in already, joins the cohort with their account.
// It is public: a visitor who is not logged in sees it, not the login form.
import { h, setChildren, richText, dateTime, fromNow } from "./dom.js";
import { api } from "./api.js";
import { toast } from "./notify.js";

const LOGIN_RE = /^[a-z0-9][a-z0-9._-]{1,62}$/;
const MIN_PASSWORD = 10;

/**
 * joinPage(root, {code, me, navigate, askLogin, logout, signedIn}): me is
 * GET /api/me's answer ({user: null} for a visitor); askLogin(note) shows
 * the login form, logout() logs out, signedIn(user) updates the header.
 */
export function joinPage(root, ctx) {
  document.title = "Join · backlab";
  const box = h("div.login-box.join-box", { "data-testid": "join-page", "aria-busy": "true" },
    h("p.muted", h("span.spinner"), " Opening the invite…"));
  setChildren(root, h("main.login", { id: "main" }, box));
  let gone = false;

  async function load() {
    box.setAttribute("aria-busy", "true");
    try {
      const inv = await api.invite(ctx.code);
      if (gone) return;
      box.removeAttribute("aria-busy");
      render(inv);
    } catch (e) {
      if (gone) return;
      box.removeAttribute("aria-busy");
      const missing = e.status === 404;
      document.title = "Invite not found · backlab";
      setChildren(box,
        h("h1#join-title", { "data-testid": "join-title" }, missing ? "This invite link does not work" : "The invite could not be opened"),
        h("div.login-error", { role: "alert", "data-testid": "join-unusable" },
          h("strong", richText(e.message)),
          h("div.login-advice", richText(e.advice || (missing ? "Check that the whole link was copied, or ask your instructor for a new one." : "")))),
        missing ? elsewhere() : h("button.btn", { type: "button", onclick: load }, "Retry"));
    }
  }

  /** Where to go instead: the labs when logged in, else the login form. */
  function elsewhere() {
    if (ctx.me.user) return h("p", h("a", { href: "/", onclick: (e) => (e.preventDefault(), ctx.navigate("/")) }, "Go to your labs"));
    return h("p.small.muted", "Have an account? ",
      h("button.link", { type: "button", onclick: () => ctx.askLogin("Log in to backlab.") }, "Log in"));
  }

  function render(inv) {
    const cohort = inv.cohort || "a cohort";
    document.title = `Join ${cohort} · backlab`;
    const title = h("h1#join-title", { "data-testid": "join-title" }, "Join ", h("span.join-cohort", cohort));
    const about = h("p.login-note.muted",
      inv.role === "instructor" ? "This invite makes you an instructor of the cohort. " : "",
      inv.usable && inv.expires_at ? `The invite expires ${fromNow(inv.expires_at)} (${dateTime(inv.expires_at)}).` : "");
    if (!inv.auth) {
      setChildren(box, title,
        h("p", "This backlab server needs no login: everyone on it works as the same local user, so there is nothing to sign up for."),
        h("a.btn.btn-primary.login-submit", { href: "/", onclick: (e) => (e.preventDefault(), ctx.navigate("/")) }, "Open the labs"));
      return;
    }
    if (!inv.usable) {
      document.title = "Invite unusable · backlab";
      setChildren(box,
        h("h1#join-title", { "data-testid": "join-title" }, "This invite cannot be used"),
        h("div.login-error", { role: "alert", "data-testid": "join-unusable" },
          h("strong", `The invite to ${cohort} cannot be used: `, richText(inv.unusable || "it is no longer valid"), "."),
          h("div.login-advice", "Ask your instructor for a new link.")),
        elsewhere());
      return;
    }
    if (ctx.me.user) setChildren(box, title, about, joinWithAccount(inv));
    else setChildren(box, title, about, signUpForm(inv));
  }

  function joinWithAccount(inv) {
    const u = ctx.me.user;
    const error = h("div.login-error", { role: "alert", "data-testid": "signup-error", hidden: true });
    const btn = h("button.btn.btn-primary.login-submit", {
      type: "button",
      "data-testid": "join-with-account",
      onclick: async () => {
        btn.disabled = true;
        error.hidden = true;
        try {
          const res = await api.joinCohort(ctx.code);
          const me = await api.me().catch(() => null);
          if (me && me.user) ctx.signedIn(me.user);
          toast(`You joined ${res.cohort.name}.`);
          const staff = me && me.user && (me.user.role === "instructor" || me.user.role === "admin");
          ctx.navigate(inv.role === "instructor" && staff ? `/cohorts/${encodeURIComponent(res.cohort.id)}` : "/");
        } catch (e) {
          if (e.loginRequired) return;
          setChildren(error, h("strong", richText(e.message)), e.advice && h("div.login-advice", richText(e.advice)));
          error.hidden = false;
          btn.disabled = false;
        }
      },
    }, "Join this cohort with your account");
    return [
      h("p", "You are logged in as ", h("strong", u.name || u.id), "."),
      error,
      btn,
      h("p.small.muted.login-alt-inline", "Not you, or want a separate account? ",
        h("button.link", { type: "button", "data-testid": "join-logout", onclick: () => ctx.logout() }, "Log out"),
        " and sign up."),
    ];
  }

  function signUpForm(inv) {
    const field = (id, label, attrs, hint) => {
      const input = h(`input#${id}`, { name: id, "data-testid": id, "aria-describedby": hint ? `${id}-hint` : null, ...attrs });
      input.addEventListener("input", () => input.removeAttribute("aria-invalid"));
      return { input, el: h("div.field", h("label", { for: id }, label), input, hint && h("div.field-hint.muted", { id: `${id}-hint` }, hint)) };
    };
    const login = field("signup-login", "Login name", { type: "text", autocomplete: "username", autocapitalize: "none", spellcheck: "false", required: true },
      "2 to 63 lowercase letters, digits, dots, dashes or underscores, e.g. ada");
    const name = field("signup-name", "Your name", { type: "text", autocomplete: "name", maxlength: "80" },
      "Shown to your instructor; your login name if left empty");
    const pw = field("signup-password", "Password", { type: "password", autocomplete: "new-password", required: true },
      `At least ${MIN_PASSWORD} characters`);
    const pw2 = field("signup-password2", "Repeat the password", { type: "password", autocomplete: "new-password", required: true });
    const error = h("div.login-error", { role: "alert", "data-testid": "signup-error", hidden: true });
    const submit = h("button.btn.btn-primary.login-submit", { type: "submit", "data-testid": "signup-submit" }, "Create account and join");
    let busy = false;

    const fail = (message, advice, input) => {
      setChildren(error, h("strong", richText(message)), advice && h("div.login-advice", richText(advice)));
      error.hidden = false;
      if (input) {
        input.setAttribute("aria-invalid", "true");
        input.focus();
      }
    };

    const form = h("form.join-form", {
      "data-testid": "join-form",
      "aria-labelledby": "join-title",
      novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        if (busy) return;
        const l = login.input.value.trim().toLowerCase();
        const p = pw.input.value;
        if (!l) return fail("Choose a login name.", "", login.input);
        if (!LOGIN_RE.test(l)) return fail(`The login name "${l}" is not allowed.`, "Use 2 to 63 lowercase letters, digits, dots, dashes or underscores, starting with a letter or digit (e.g. ada).", login.input);
        if ([...p].length < MIN_PASSWORD) return fail(`The password needs at least ${MIN_PASSWORD} characters.`, "", pw.input);
        if (p !== pw2.input.value) return fail("The two passwords differ.", "Type the same password in both fields.", pw2.input);
        busy = true;
        submit.disabled = true;
        submit.textContent = "Creating your account…";
        error.hidden = true;
        try {
          const res = await api.signup(ctx.code, l, name.input.value.trim(), p);
          pw.input.value = pw2.input.value = "";
          ctx.signedIn(res.user);
          toast(`Welcome${res.user && res.user.name ? ", " + res.user.name : ""}: you joined ${res.cohort.name}.`);
          const staff = res.user && (res.user.role === "instructor" || res.user.role === "admin");
          ctx.navigate(staff && inv.role === "instructor" ? `/cohorts/${encodeURIComponent(res.cohort.id)}` : "/");
        } catch (err) {
          const msg = String(err.message || "");
          const target = err.status === 409 || /\blogin\b/i.test(msg) ? login.input
            : /password/i.test(msg) ? pw.input
            : /\bname\b/i.test(msg) ? name.input : null;
          fail(msg, err.advice, target);
        } finally {
          busy = false;
          submit.disabled = false;
          submit.textContent = "Create account and join";
        }
      },
    }, login.el, name.el, pw.el, pw2.el, error, submit,
    h("p.small.muted.login-alt-inline", "Already have an account? ",
      h("button.link", { type: "button", "data-testid": "join-login", onclick: () => ctx.askLogin(`Log in, then join ${inv.cohort} with your account.`) }, "Log in"),
      " to join with it."));
    requestAnimationFrame(() => login.input.focus());
    return form;
  }

  load();
  return () => {
    gone = true;
  };
}
