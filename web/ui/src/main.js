// Entry point: the page frame and client-side routing on location.pathname
// ("/" is the catalog, "/labs/{id}" a lab, "/join/{code}" the sign-up page
// of an invite, "/cohorts…" the instructors' pages). When the server needs
// a login (any API call answers 401), the login form takes the page's
// place until someone logs in; then the page at the same address comes
// back. The sign-up page is public: it shows no login form by itself.
import "@xterm/xterm/css/xterm.css";
import "./style.css";
import { h, setChildren, pageLink } from "./dom.js";
import { api, onLoginRequired } from "./api.js";
import { clearNotices, showError } from "./notify.js";
import { terms } from "./terminal.js";
import { catalogPage } from "./catalog.js";
import { labPage } from "./lab.js";
import { loginView } from "./login.js";
import { joinPage } from "./join.js";
import { cohortsPage } from "./cohorts.js";
import { dashboardPage } from "./dashboard.js";
import { learnerPage } from "./learner.js";
import { accountPage } from "./account.js";

// For end-to-end tests: read a terminal's buffer through backlab.terms.
window.backlab = { terms };

const slot = h("div.topbar-slot");
const navLabs = pageLink("/", navigate, { class: "nav-link", "data-testid": "nav-labs" }, "Labs");
const navCohorts = pageLink("/cohorts", navigate, { class: "nav-link", "data-testid": "nav-cohorts" }, "Cohorts");
const nav = h("nav.mainnav", { "aria-label": "Sections", hidden: true }, navLabs, navCohorts);
const userEl = pageLink("/account", navigate, { class: "user muted", "data-testid": "user" }, "");
const roleEl = h("span.role-chip", { "data-testid": "user-role", hidden: true });
const logoutBtn = h("button.btn.btn-small", { type: "button", "data-testid": "logout", hidden: true, onclick: logout }, "Log out");
const account = h("div.account", userEl, roleEl, logoutBtn);
const loginEl = h("div.page.login-page", { hidden: true });
const pageEl = h("div.page");
let cleanup = null;

let me = { user: null, auth: false }; // GET /api/me: whoever the browser acts as
let login = null; // while the login form is shown: what to do after it

const isStaff = (u) => !!u && (u.role === "instructor" || u.role === "admin");

// The pages, in the order they are tried. A public page renders for a
// visitor who is not logged in.
const pages = [
  { name: "lab", re: /^\/labs\/([^/]+)\/?$/, open: (m) => labPage(pageEl, slot, m[1], navigate) },
  { name: "join", re: /^\/join\/([^/]+)\/?$/, public: true,
    open: (m) => joinPage(pageEl, { code: m[1], me, navigate, askLogin, logout, signedIn }) },
  { name: "cohorts", re: /^\/cohorts\/?$/, open: () => cohortsPage(pageEl, { navigate, me }) },
  { name: "dashboard", re: /^\/cohorts\/([^/]+)\/?$/, open: (m) => dashboardPage(pageEl, { cid: m[1], navigate, me }) },
  { name: "learner", re: /^\/cohorts\/([^/]+)\/learners\/([^/]+)\/?$/, open: (m) => learnerPage(pageEl, { cid: m[1], uid: m[2], navigate, me }) },
  { name: "account", re: /^\/account\/?$/, open: () => accountPage(pageEl, { me }) },
  { name: "catalog", re: /^\/?$/, open: () => catalogPage(pageEl, navigate) },
];

function pageOf(path) {
  for (const p of pages) {
    const m = p.re.exec(path);
    if (m) return { page: p, args: m.map((v, i) => (i ? decodeURIComponent(v) : v)) };
  }
  return null;
}

function navigate(path) {
  if (path !== location.pathname + location.search) history.pushState(null, "", path);
  route();
}

function route() {
  if (login) return; // after the login, route() runs for the address then
  if (cleanup) cleanup();
  cleanup = null;
  clearNotices();
  setChildren(slot);
  const found = pageOf(location.pathname);
  document.body.dataset.page = found ? found.page.name : "notfound";
  const section = found && ["cohorts", "dashboard", "learner"].includes(found.page.name) ? navCohorts : found && found.page.name === "catalog" ? navLabs : null;
  for (const a of [navLabs, navCohorts]) {
    if (a === section) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (found) cleanup = found.page.open(found.args) || null;
  else {
    document.title = "Not found · backlab";
    setChildren(pageEl, h("main.catalog", { id: "main" }, h("h1", "Nothing here"),
      h("p", "This address is not a page of backlab. ", pageLink("/", navigate, "See the labs."))));
  }
}

/** setUser({user, auth}) shows who the browser acts as; auth false means no login UI. */
function setUser(m) {
  me = { user: (m && m.user) || null, auth: !!(m && m.auth) };
  const u = me.user;
  userEl.textContent = u ? u.name || u.id || "" : "";
  userEl.title = u && me.auth ? `Logged in as ${u.name || u.id}: your account` : "";
  roleEl.textContent = isStaff(u) ? u.role : "";
  roleEl.hidden = !isStaff(u) || !me.auth;
  logoutBtn.hidden = !(me.auth && u);
  nav.hidden = !isStaff(u);
}

/**
 * showLogin puts the login form in place of the page. A lab page is only
 * hidden, not closed, when a login expires: if the same person logs in
 * again, its terminals and unsaved editor text are still there. opts.note
 * replaces the line under the heading; opts.back adds a way back to the
 * page (a public one, where logging in is a choice).
 */
function showLogin(opts = {}) {
  if (login) return;
  const user = me.user;
  const keep = !opts.loggedOut && user && cleanup && document.body.dataset.page === "lab";
  login = {
    keep,
    prevUser: opts.loggedOut ? null : user,
    path: location.pathname,
    page: document.body.dataset.page,
    title: document.title,
  };
  if (!keep) {
    if (cleanup) cleanup();
    cleanup = null;
    setChildren(pageEl);
    setChildren(slot);
  }
  clearNotices();
  pageEl.hidden = true;
  slot.hidden = true;
  account.hidden = true;
  nav.hidden = true;
  document.body.dataset.page = "login";
  document.title = "Log in · backlab";
  const note = opts.note ? opts.note
    : opts.loggedOut ? "You are logged out."
    : login.prevUser ? "Your login has expired; log in again to carry on."
    : (opts.err && opts.err.advice) || "This backlab server needs a login.";
  const view = loginView({ note, onLogin: loggedIn });
  setChildren(loginEl, view,
    opts.back && h("p.login-alt", h("button.link", { type: "button", "data-testid": "login-back", onclick: () => leaveLogin() }, opts.back)));
  loginEl.hidden = false;
  view.focusFirst();
}

/** Hides the login form and shows the page again (rendered afresh unless kept). */
function leaveLogin(kept) {
  login = null;
  setChildren(loginEl);
  loginEl.hidden = true;
  account.hidden = false;
  slot.hidden = false;
  pageEl.hidden = false;
  nav.hidden = !isStaff(me.user);
  if (!kept) route();
}

function loggedIn(u) {
  const was = login;
  setUser({ user: u, auth: true });
  const keep = was.keep && was.prevUser && was.prevUser.id === u.id && location.pathname === was.path;
  if (keep) {
    document.body.dataset.page = was.page;
    document.title = was.title;
  }
  leaveLogin(keep);
}

/** For a public page: the login form, then the same page with the user. */
function askLogin(note) {
  showLogin({ note, back: "Back without logging in" });
}

/** For a public page: someone signed up or logged in there. */
function signedIn(u) {
  setUser({ user: u, auth: true });
}

async function logout() {
  logoutBtn.disabled = true;
  try {
    await api.logout();
    const found = pageOf(location.pathname);
    if (found && found.page.public) {
      setUser({ user: null, auth: true });
      route();
    } else {
      showLogin({ loggedOut: true });
    }
  } catch (e) {
    if (!e.loginRequired) showError(e); // else the login form is up already
  } finally {
    logoutBtn.disabled = false;
  }
}

async function boot() {
  const brand = pageLink("/", navigate, { class: "brand" },
    h("span.brand-mark", { "aria-hidden": "true" }, "▚"), "backlab");
  document.body.replaceChildren(
    h("a.skip", { href: "#main" }, "Skip to content"),
    h("header.topbar", brand, nav, slot, account),
    loginEl,
    pageEl);
  window.addEventListener("popstate", () => {
    if (login && !login.keep && pageOf(location.pathname)?.page.public) leaveLogin();
    else route();
  });
  onLoginRequired((err) => showLogin({ err }));
  const found = pageOf(location.pathname);
  try {
    setUser(await api.me({ anonymousOk: !!(found && found.page.public) }));
  } catch (e) {
    if (e.loginRequired) return; // the login form is shown
    // A visitor on a public page (401), or an error the pages show themselves.
    if (e.status === 401) setUser({ user: null, auth: true });
  }
  route();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
else boot();
