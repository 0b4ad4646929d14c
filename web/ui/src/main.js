// Entry point: the page frame and client-side routing on location.pathname
// ("/" is the catalog, "/labs/{id}" a lab). When the server needs a login
// (any API call answers 401), the login form takes the page's place until
// someone logs in; then the page at the same address comes back.
import "@xterm/xterm/css/xterm.css";
import "./style.css";
import { h, setChildren } from "./dom.js";
import { api, onLoginRequired } from "./api.js";
import { clearNotices, showError } from "./notify.js";
import { terms } from "./terminal.js";
import { catalogPage } from "./catalog.js";
import { labPage } from "./lab.js";
import { loginView } from "./login.js";

// For end-to-end tests: read a terminal's buffer through backlab.terms.
window.backlab = { terms };

const slot = h("div.topbar-slot");
const userEl = h("span.user.muted", { "data-testid": "user" });
const logoutBtn = h("button.btn.btn-small", { type: "button", "data-testid": "logout", hidden: true, onclick: logout }, "Log out");
const account = h("div.account", userEl, logoutBtn);
const loginEl = h("div.page.login-page", { hidden: true });
const pageEl = h("div.page");
let cleanup = null;

let user = null; // {id, name, role} of whoever the browser acts as
let login = null; // while the login form is shown: what to do after it

function navigate(path) {
  if (path !== location.pathname) history.pushState(null, "", path);
  route();
}

function route() {
  if (login) return; // after the login, route() runs for the address then
  if (cleanup) cleanup();
  cleanup = null;
  clearNotices();
  setChildren(slot);
  const path = location.pathname;
  const m = /^\/labs\/([^/]+)\/?$/.exec(path);
  document.body.dataset.page = m ? "lab" : "catalog";
  if (m) cleanup = labPage(pageEl, slot, decodeURIComponent(m[1]), navigate);
  else if (path === "/" || path === "") cleanup = catalogPage(pageEl, navigate);
  else {
    document.title = "Not found · backlab";
    setChildren(pageEl, h("main.catalog", { id: "main" }, h("h1", "Nothing here"),
      h("p", "This address is not a page of backlab. ", h("a", { href: "/", onclick: (e) => (e.preventDefault(), navigate("/")) }, "See the labs."))));
  }
}

/** setUser({user, auth}) shows who the browser acts as; auth false means no login UI. */
function setUser(me) {
  user = (me && me.user) || null;
  userEl.textContent = user ? user.name || user.id || "" : "";
  logoutBtn.hidden = !(me && me.auth);
}

/**
 * showLogin puts the login form in place of the page. A lab page is only
 * hidden, not closed, when a login expires: if the same person logs in
 * again, its terminals and unsaved editor text are still there.
 */
function showLogin(opts = {}) {
  if (login) return;
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
  document.body.dataset.page = "login";
  document.title = "Log in · backlab";
  const note = opts.loggedOut ? "You are logged out."
    : login.prevUser ? "Your login has expired; log in again to carry on."
    : (opts.err && opts.err.advice) || "This backlab server needs a login.";
  const view = loginView({ note, onLogin: loggedIn });
  setChildren(loginEl, view);
  loginEl.hidden = false;
  view.focusFirst();
}

function loggedIn(u) {
  const was = login;
  login = null;
  setChildren(loginEl);
  loginEl.hidden = true;
  setUser({ user: u, auth: true });
  account.hidden = false;
  slot.hidden = false;
  pageEl.hidden = false;
  if (was.keep && was.prevUser && was.prevUser.id === u.id && location.pathname === was.path) {
    document.body.dataset.page = was.page;
    document.title = was.title;
  } else {
    route();
  }
}

async function logout() {
  logoutBtn.disabled = true;
  try {
    await api.logout();
    showLogin({ loggedOut: true });
  } catch (e) {
    if (!e.loginRequired) showError(e); // else the login form is up already
  } finally {
    logoutBtn.disabled = false;
  }
}

async function boot() {
  const brand = h("a.brand", { href: "/", onclick: (e) => (e.preventDefault(), navigate("/")) },
    h("span.brand-mark", { "aria-hidden": "true" }, "▚"), "backlab");
  document.body.replaceChildren(
    h("a.skip", { href: "#main" }, "Skip to content"),
    h("header.topbar", brand, slot, account),
    loginEl,
    pageEl);
  window.addEventListener("popstate", route);
  onLoginRequired((err) => showLogin({ err }));
  try {
    setUser(await api.me());
  } catch (e) {
    if (e.loginRequired) return; // the login form is shown
    // Otherwise the pages show their own errors.
  }
  route();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
else boot();
