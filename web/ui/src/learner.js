// One learner of a cohort, /cohorts/{cid}/learners/{uid}: where they
// stand on each lab, their check runs on the cohort's labs (newest first)
// and, for the selected run, every event its checker streamed, in order:
// what the learner saw while it ran.
import { h, setChildren, richText, pageLink, loadError, span, dateTime, duration, num } from "./dom.js";
import { api } from "./api.js";

const STATUS = { not_started: "Not started", in_progress: "In progress", passed: "Passed" };
const OUTCOME = { running: "Running", passed: "Passed", failed: "Failed", error: "Checker error", timeout: "Timed out" };
const ICON = { passed: "✓", failed: "✗", running: "…" };

/** learnerPage(root, {cid, uid, navigate}) renders the page; returns a cleanup function. */
export function learnerPage(root, { cid, uid, navigate }) {
  document.title = "Learner · backlab";
  const base = `/cohorts/${encodeURIComponent(cid)}`;
  const crumbCohort = pageLink(base, navigate, "…");
  const crumbLearner = h("span", { "aria-current": "page" }, "…");
  const content = h("div", { "aria-busy": "true" }, h("p.muted", h("span.spinner"), " Loading the learner's checks…"));
  setChildren(root, h("main.catalog.wide.learner-page", { id: "main", "data-testid": "learner-page" },
    h("nav.breadcrumb", { "aria-label": "Breadcrumb" },
      pageLink("/cohorts", navigate, "Cohorts"), h("span.crumb-sep", { "aria-hidden": "true" }, "›"),
      crumbCohort, h("span.crumb-sep", { "aria-hidden": "true" }, "›"), crumbLearner),
    content));

  let gone = false;
  let runs = [];
  let titles = new Map();
  let selected = new URLSearchParams(location.search).get("run") || "";
  let listEl, detailEl;
  let detailReq = 0;

  async function load() {
    content.setAttribute("aria-busy", "true");
    try {
      const [prog, checks] = await Promise.all([api.progress(cid), api.learnerChecks(cid, uid)]);
      if (gone) return;
      content.removeAttribute("aria-busy");
      titles = new Map(prog.labs.map((l) => [l.id, l.title || l.id]));
      const learner = checks.learner;
      const row = prog.learners.find((l) => l.id === uid);
      const who = learner.name || learner.login;
      document.title = `${who} · ${prog.cohort.name} · backlab`;
      crumbCohort.textContent = prog.cohort.name;
      crumbLearner.textContent = who;
      runs = (checks.checks || []).slice().sort((a, b) => Date.parse(b.started_at) - Date.parse(a.started_at));
      if (!runs.some((r) => r.id === selected)) selected = runs.length ? runs[0].id : "";
      listEl = h("ol.run-list", { "data-testid": "check-runs", "aria-label": "Check runs, newest first" });
      detailEl = h("section.panel.run-detail", { "data-testid": "run-detail", "aria-live": "polite", "aria-label": "The selected check run" });
      const live = (row && row.live) || [];
      setChildren(content,
        h("div.dash-head",
          h("div.dash-heading",
            h("h1.dash-title", { "data-testid": "learner-title" }, who),
            h("p.dash-stats.muted", learner.login, " · joined ", dateTime(learner.joined_at),
              live.length > 0 && [" · ", h("span.live-count", { "data-testid": "learner-live" }, h("span.live-dot", { "aria-hidden": "true" }),
                " in session now on ", live.map((s) => titles.get(s.lab) || s.lab).join(", "))])),
          h("div.dash-tools", h("button.btn.btn-small", { type: "button", "data-testid": "refresh", onclick: load }, "↻ Refresh"))),
        row && h("ul.lab-summary", { "aria-label": "Where they stand on each lab" }, prog.labs.map((l) => {
          const c = row.labs[l.id] || { status: "not_started", attempts: 0 };
          return h("li.lab-sum", { "data-testid": `summary-${l.id}`, "data-status": c.status },
            h("div.lab-sum-title", l.title || l.id),
            h("span", { class: `badge badge-${c.status}` }, c.status === "passed" ? "✓ " : "", STATUS[c.status] || c.status),
            h("span.small.muted", ` ${c.attempts} ${c.attempts === 1 ? "attempt" : "attempts"}`,
              c.time_to_pass_seconds != null ? ` · ${span(c.time_to_pass_seconds)} to pass` : ""));
        })),
        h("div.runs-layout",
          h("section.panel.runs-panel", { "aria-labelledby": "runs-title" },
            h("h2.panel-title#runs-title", `Check runs (${runs.length})`),
            runs.length ? listEl : h("p.muted.empty.small", "No check runs yet on this cohort's labs.")),
          detailEl));
      renderList();
      showRun(selected);
    } catch (e) {
      if (gone || e.loginRequired) return;
      content.removeAttribute("aria-busy");
      crumbLearner.textContent = "Not found";
      setChildren(content, loadError(e, load));
    }
  }

  function renderList() {
    setChildren(listEl, runs.map((r) => {
      const steps = r.steps || [];
      const passed = steps.filter((s) => s.status === "passed").length;
      const active = r.id === selected;
      return h("li", h("button.run-item", {
        type: "button",
        class: "run-item" + (active ? " active" : ""),
        "aria-current": active ? "true" : null,
        "data-testid": `run-${r.id}`,
        "data-run": r.id,
        "data-outcome": r.outcome,
        onclick: () => showRun(r.id),
      },
      h("span", { class: `dot dot-${r.outcome}`, "aria-hidden": "true" }),
      h("span.run-lab", titles.get(r.lab) || r.lab),
      h("span", { class: `run-outcome outcome-${r.outcome}` }, OUTCOME[r.outcome] || r.outcome),
      h("span.run-when.muted", dateTime(r.started_at)),
      h("span.run-facts.muted", [r.outcome !== "running" && r.duration_ms ? duration(r.duration_ms) : "",
        steps.length ? `${passed} of ${steps.length} steps passed` : ""].filter(Boolean).join(" · "))));
    }));
  }

  async function showRun(id) {
    selected = id;
    if (!detailEl) return;
    const q = id ? `?run=${encodeURIComponent(id)}` : "";
    if (location.search !== q) history.replaceState(null, "", location.pathname + q);
    if (listEl) renderList();
    if (!id) {
      setChildren(detailEl, h("p.muted.empty", "When this learner runs a check, it shows here with every event it streamed."));
      return;
    }
    const n = ++detailReq;
    detailEl.dataset.run = "";
    setChildren(detailEl, h("p.muted", h("span.spinner"), " Loading the run…"));
    try {
      const run = await api.learnerCheck(cid, uid, id);
      if (gone || n !== detailReq) return;
      renderRun(run);
    } catch (e) {
      if (gone || n !== detailReq || e.loginRequired) return;
      setChildren(detailEl, loadError(e, () => showRun(id)));
    }
  }

  function renderRun(run) {
    const events = run.events || [];
    const steps = run.steps || [];
    const t0 = events.length ? Date.parse(events[0].time) : NaN;
    const stepTitles = new Map(events.filter((e) => e.step && e.title).map((e) => [e.step, e.title]));
    detailEl.dataset.run = run.id;
    detailEl.dataset.outcome = run.outcome;
    setChildren(detailEl,
      h("div.run-head",
        h("h2.panel-title", titles.get(run.lab) || run.lab),
        h("span", { class: `outcome outcome-${run.outcome}`, "data-testid": "run-outcome" }, ICON[run.outcome] ? ICON[run.outcome] + " " : "", OUTCOME[run.outcome] || run.outcome),
        h("span.muted.small", `${dateTime(run.started_at)}${run.duration_ms ? " · " + duration(run.duration_ms) : ""}`)),
      run.error && run.outcome !== "passed" && h("div.run-error", { role: "alert" }, richText(run.error)),
      steps.length > 0 && h("div",
        h("h3.sub-title", "Steps"),
        h("ol.steps", steps.map((s) => h("li", { class: `step step-${s.status}` },
          h("span.step-icon", { "aria-hidden": "true" }, ICON[s.status] || "○"),
          h("div.step-main",
            h("div.step-title", s.title || stepTitles.get(s.id) || "", " ", h("code.event-step", s.id), h("span.visually-hidden", ` — ${s.status}`)),
            s.message && h("div.step-message", s.message)))))),
      h("h3.sub-title", `Events (${events.length}), in the order the checker streamed them`),
      events.length ? h("ol.events", { "data-testid": "run-events" }, events.map((ev, i) => eventItem(ev, i, t0)))
        : h("p.muted.small", "This run recorded no events."),
      events.length > 0 && h("details.raw-all", h("summary.small", "All events as JSON"), h("pre.raw", JSON.stringify(events, null, 2))));
  }

  load();
  return () => {
    gone = true;
  };
}

/** One streamed event, readable: when, what, which step, its message; the raw JSON folded. */
function eventItem(ev, i, t0) {
  const t = Date.parse(ev.time);
  const at = !isNaN(t) && !isNaN(t0) ? `+${((t - t0) / 1000).toFixed(1)} s` : "";
  const type = ev.type || "?";
  let status = "";
  let what = type;
  switch (type) {
    case "check.started": what = "Check started"; break;
    case "check.finished": what = "Check finished"; status = ev.outcome || ""; break;
    case "step.started": what = "Step"; status = "running"; break;
    case "step.passed": what = "Step"; status = "passed"; break;
    case "step.failed": what = "Step"; status = "failed"; break;
    case "log": what = "Log"; break;
    case "metric": what = "Metric"; break;
  }
  return h("li", { class: `event event-${type.replace(/[^a-z0-9]+/gi, "-")}`, "data-testid": "event", "data-type": type, "data-status": status || null },
    h("div.event-line",
      h("span.event-seq.muted", String(i + 1)),
      h("span.event-at.muted", at),
      h("span.event-type", what),
      ev.step && h("code.event-step", ev.step),
      status && h("span", { class: `event-status status-${status}` }, status),
      type === "metric" && h("span.event-metric", h("code", ev.name || ""), " = ", h("strong", num(ev.value ?? 0)), ev.unit ? ` ${ev.unit}` : "")),
    ev.title && type === "step.started" && h("div.event-title", ev.title),
    ev.message && h(type === "log" ? "pre.event-log" : "div.event-message", type === "log" ? ev.message : richText(ev.message)),
    ev.hint && h("div.step-hint", h("strong", "Hint: "), richText(ev.hint)),
    h("details.event-raw", h("summary", "JSON"), h("pre.raw", JSON.stringify(ev, null, 2))));
}
