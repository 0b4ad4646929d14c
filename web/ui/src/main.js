// Entry point: the page frame and client-side routing on location.pathname
// ("/" is the catalog, "/labs/{id}" a lab).
import "@xterm/xterm/css/xterm.css";
import "./style.css";
import { h, setChildren } from "./dom.js";
import { api } from "./api.js";
import { clearNotices } from "./notify.js";
import { terms } from "./terminal.js";
import { catalogPage } from "./catalog.js";
import { labPage } from "./lab.js";

// For end-to-end tests: read a terminal's buffer through backlab.terms.
window.backlab = { terms };

const slot = h("div.topbar-slot");
const userEl = h("span.user.muted");
const pageEl = h("div.page");
let cleanup = null;

function navigate(path) {
  if (path !== location.pathname) history.pushState(null, "", path);
  route();
}

function route() {
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

function boot() {
  const brand = h("a.brand", { href: "/", onclick: (e) => (e.preventDefault(), navigate("/")) },
    h("span.brand-mark", { "aria-hidden": "true" }, "▚"), "backlab");
  document.body.replaceChildren(
    h("a.skip", { href: "#main" }, "Skip to content"),
    h("header.topbar", brand, slot, userEl),
    pageEl);
  window.addEventListener("popstate", route);
  route();
  api.me().then(
    (r) => { if (r && r.user) userEl.textContent = r.user.name || r.user.id || ""; },
    () => {}, // the pages show their own errors
  );
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
else boot();
