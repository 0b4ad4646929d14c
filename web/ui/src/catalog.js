// The catalog page: a card for every lab.
import { h, setChildren, richText } from "./dom.js";
import { api } from "./api.js";

const STATUS = {
  not_started: "Not started",
  in_progress: "In progress",
  passed: "Passed",
};

/** Renders the catalog into root; navigate(path) changes page. */
export function catalogPage(root, navigate) {
  document.title = "Labs · backlab";
  const grid = h("div.cards", { "aria-busy": "true" }, h("p.muted", h("span.spinner"), " Loading labs…"));
  setChildren(root, h("main.catalog", { id: "main" },
    h("div.catalog-head",
      h("h1", "Labs"),
      h("p.lead", "Each lab is a small real service with one real problem. Open one, fix it in a live sandbox, and let the checker prove it.")),
    grid));

  async function load() {
    grid.setAttribute("aria-busy", "true");
    try {
      const labs = await api.labs();
      grid.removeAttribute("aria-busy");
      if (!labs || !labs.length) {
        setChildren(grid, h("p.muted", "No labs are installed on this server. Add one under labs/ (see docs/) and restart it."));
        return;
      }
      setChildren(grid, labs.map((l) => card(l, navigate)));
    } catch (e) {
      grid.removeAttribute("aria-busy");
      setChildren(grid, h("div.panel-error", { role: "alert" },
        h("strong", richText(e.message)), e.advice && h("p", richText(e.advice)),
        h("button.btn", { type: "button", onclick: load }, "Retry")));
    }
  }
  load();
  return () => {};
}

function card(l, navigate) {
  const href = `/labs/${encodeURIComponent(l.id)}`;
  const status = l.status || "not_started";
  return h("a.card", {
    href,
    "data-testid": `lab-card-${l.id}`,
    "data-status": status,
    onclick: (e) => {
      if (e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
      e.preventDefault();
      navigate(href);
    },
  },
  h("div.card-top",
    h("span", { class: `badge badge-${status}` }, status === "passed" ? "✓ " : "", STATUS[status] || status),
    l.difficulty && h("span", { class: `difficulty difficulty-${l.difficulty}` }, l.difficulty),
    l.estimated_minutes > 0 && h("span.minutes.muted", `≈ ${l.estimated_minutes} min`)),
  h("h2.card-title", l.title || l.id),
  h("p.card-summary", l.summary),
  h("ul.chips", { "aria-label": "Skills" }, (l.skills || []).map((s) => h("li.chip", s))),
  h("span.card-cta", l.session_id ? "Resume →" : status === "passed" ? "Open again →" : "Start →"));
}
