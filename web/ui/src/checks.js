// The Check panel: a Check button, each declared step live (pending →
// running → passed/failed with its message and hint), the run's metrics,
// and the history of runs (click one to see its steps).
import { h, setChildren, richText, duration, clock, num } from "./dom.js";
import { api } from "./api.js";
import { showError } from "./notify.js";

const ICON = { pending: "○", running: "", passed: "✓", failed: "✗" };
const OUTCOME_TEXT = { running: "Checking…", passed: "Passed", failed: "Failed", error: "Checker error", timeout: "Timed out" };

export class CheckPanel {
  /**
   * @param {object} o
   * @param {{id:string,title:string}[]} o.steps the lab's declared steps, in order
   * @param {() => string|null} o.sid the current session id (null while none runs)
   * @param {(status: Map<string,string>) => void} o.onProgress latest status of each step
   */
  constructor({ steps, sid, onProgress }) {
    this.declared = steps || [];
    this.sid = sid;
    this.onProgress = onProgress || (() => {});
    this.live = null; // the newest run, updated by events
    this.history = []; // runs from the server, newest first
    this.viewing = null; // id of an older run being shown, or null for the newest
    this.enabled = false;
    this.tick = 0;

    this.button = h("button.btn.btn-check", { type: "button", "data-testid": "run-check", disabled: true, onclick: () => this.run() }, h("span.btn-check-icon", { "aria-hidden": "true" }, "▶"), " Check");
    this.outcomeEl = h("span.outcome", { "data-testid": "check-outcome", "aria-live": "polite" });
    this.summaryEl = h("span.check-summary.muted");
    this.viewingEl = h("div.viewing", { hidden: true });
    this.stepsEl = h("ol.steps", { "aria-label": "Check steps" });
    this.extraEl = h("div.check-extra");
    this.historyEl = h("ol.history-list", { "data-testid": "check-history", "aria-label": "Earlier check runs" });
    this.el = h("section.check-panel", { "aria-label": "Check" },
      h("div.check-head", this.button, this.outcomeEl, this.summaryEl),
      h("div.check-body",
        h("div.check-run", this.viewingEl, this.stepsEl, this.extraEl),
        h("aside.check-history", h("h3", "History"), this.historyEl)),
    );
    this.render();
  }

  /** Enables the Check button while the sandbox is ready. */
  setEnabled(on) {
    this.enabled = on;
    this.updateButton();
  }

  updateButton() {
    const running = this.live && this.live.outcome === "running";
    this.button.disabled = !this.enabled || running || this.starting;
    this.button.title = !this.enabled ? "The sandbox must be running to check" : running ? "A check is running" : "Rebuild the app from your saved files and run the checker";
  }

  /** Seeds the panel from a session's last_check and loads the history. */
  load(lastCheck) {
    if (lastCheck && (!this.live || this.live.id === lastCheck.id || lastCheck.outcome === "running")) this.live = normalize(lastCheck, this.declared);
    this.render();
    this.loadHistory();
  }

  async loadHistory() {
    const sid = this.sid();
    if (!sid) return;
    try {
      const runs = await api.checks(sid);
      this.history = (runs || []).map((r) => normalize(r, this.declared));
      const newest = this.history[0];
      if (newest) {
        if (!this.live || this.live.id !== newest.id) {
          // Keep a live run the server has not listed yet; else show the newest.
          if (!this.live || this.live.outcome !== "running") this.live = newest;
        } else if (newest.outcome !== "running") {
          // The server's record of a finished run is complete (duration, all
          // metrics); keep the log lines the stream brought.
          this.live = { ...newest, logs: newest.logs.length ? newest.logs : this.live.logs || [] };
        }
      }
      this.render();
    } catch (e) {
      showError(e, { retry: () => this.loadHistory() });
    }
  }

  /** Clears everything (a new session). */
  reset() {
    this.live = null;
    this.history = [];
    this.viewing = null;
    this.render();
  }

  async run() {
    const sid = this.sid();
    if (!sid) return;
    this.starting = true;
    this.updateButton();
    this.viewing = null;
    try {
      const res = await api.startCheck(sid);
      if (!this.live || this.live.id !== res.run) this.startRun(res.run);
    } catch (e) {
      showError(e);
    } finally {
      this.starting = false;
      this.render();
    }
  }

  startRun(id) {
    this.live = {
      id,
      outcome: "running",
      started_at: new Date().toISOString(),
      steps: this.declared.map((s) => ({ id: s.id, title: s.title, status: "pending" })),
      metrics: [],
      logs: [],
    };
    this.viewing = null;
  }

  /** Handles one event from the session's event stream. */
  event(ev) {
    if (!ev.run) return;
    if (ev.type === "check.started") {
      this.startRun(ev.run);
      this.render();
      return;
    }
    if (!this.live || this.live.id !== ev.run) {
      if (this.history.some((r) => r.id === ev.run)) return; // an old run's echo
      this.startRun(ev.run); // joined mid-run
    }
    const run = this.live;
    switch (ev.type) {
      case "step.started":
      case "step.passed":
      case "step.failed": {
        const st = stepOf(run, ev.step, ev.title);
        st.status = ev.type.slice(5) === "started" ? "running" : ev.type.slice(5);
        st.message = ev.message || (ev.type === "step.started" ? "" : st.message);
        st.hint = ev.hint || "";
        break;
      }
      case "metric":
        run.metrics.push({ step: ev.step, name: ev.name, value: ev.value, unit: ev.unit, data: ev.data });
        break;
      case "log":
        run.logs.push(ev.message || "");
        break;
      case "check.finished":
        run.outcome = ev.outcome || "error";
        run.error = ev.message || run.error;
        run.finished_at = new Date().toISOString();
        run.duration_ms = Date.parse(run.finished_at) - Date.parse(run.started_at);
        for (const s of run.steps) if (s.status === "running") s.status = "failed";
        this.loadHistory();
        break;
      default:
        return;
    }
    this.render();
  }

  shownRun() {
    if (this.viewing) return this.history.find((r) => r.id === this.viewing) || this.live;
    return this.live;
  }

  /** Latest non-pending status of each step across runs (newest first). */
  progress() {
    const out = new Map();
    const runs = [this.live, ...this.history].filter(Boolean);
    for (const s of this.declared) {
      for (const r of runs) {
        const st = r.steps.find((x) => x.id === s.id);
        if (st && st.status !== "pending") {
          out.set(s.id, st.status);
          break;
        }
      }
      if (!out.has(s.id)) out.set(s.id, "pending");
    }
    return out;
  }

  render() {
    this.updateButton();
    const run = this.shownRun();
    clearInterval(this.tick);
    this.tick = 0;

    // Outcome and summary.
    const outcome = run ? run.outcome : "";
    this.outcomeEl.dataset.outcome = outcome || "none";
    this.outcomeEl.className = `outcome outcome-${outcome || "none"}`;
    setChildren(this.outcomeEl, run ? [outcome === "running" && h("span.spinner", { "aria-hidden": "true" }), OUTCOME_TEXT[outcome] || outcome] : "Not checked yet");
    const summary = () => {
      if (!run) return "Press Check when your fix is saved: it rebuilds the app from your files and runs the checker.";
      const passed = run.steps.filter((s) => s.status === "passed").length;
      const ms = run.outcome === "running" ? Date.now() - Date.parse(run.started_at) : run.duration_ms;
      return `${passed} of ${run.steps.length} steps passed${ms != null && !isNaN(ms) ? " · " + duration(ms) : ""}`;
    };
    this.summaryEl.textContent = summary();
    if (run && run.outcome === "running") this.tick = setInterval(() => (this.summaryEl.textContent = summary()), 1000);

    // Which run is shown.
    this.viewingEl.hidden = !this.viewing;
    if (this.viewing && run) {
      setChildren(this.viewingEl, `Run of ${clock(run.started_at)}. `,
        h("button.link", { type: "button", onclick: () => ((this.viewing = null), this.render()) }, "Back to the latest run"));
    }

    // Steps, each with its metrics.
    const steps = run ? run.steps : this.declared.map((s) => ({ id: s.id, title: s.title, status: "pending" }));
    const before = run ? this.previousMetrics(run) : new Map();
    setChildren(this.stepsEl, steps.map((s) => {
      const metrics = run ? run.metrics.filter((m) => m.step === s.id) : [];
      return h("li.step", { class: `step step-${s.status}`, "data-testid": `step-${s.id}`, "data-status": s.status },
        h("span.step-icon", { "aria-hidden": "true" }, s.status === "running" ? h("span.spinner") : ICON[s.status] || "○"),
        h("div.step-main",
          h("div.step-title", s.title || s.id, h("span.visually-hidden", ` — ${s.status}`)),
          s.message && stepMessage(s.message),
          s.status === "failed" && s.hint && h("div.step-hint", h("strong", "Hint: "), richText(s.hint)),
          metrics.length > 0 && metricList(metrics, before)));
    }));

    // Run-wide metrics, checker error, logs.
    const loose = run ? run.metrics.filter((m) => !m.step || !steps.some((s) => s.id === m.step)) : [];
    setChildren(this.extraEl,
      run && run.error && run.outcome !== "passed" && h("div.run-error", { role: "alert" }, richText(run.error)),
      loose.length > 0 && h("div", h("h4", "Metrics"), metricList(loose, before)),
      run && run.logs && run.logs.length > 0 && h("details.logs", h("summary", `Checker output (${run.logs.length} lines)`), h("pre", run.logs.join("\n"))),
    );

    // History.
    const items = this.history.map((r) => {
      const active = run && r.id === run.id;
      return h("li", h("button.history-item", {
        type: "button",
        class: "history-item" + (active ? " active" : ""),
        "aria-current": active ? "true" : null,
        "data-run": r.id,
        "data-outcome": r.outcome,
        onclick: () => ((this.viewing = r.id === (this.live && this.live.id) ? null : r.id), this.render()),
      },
      h("span", { class: `dot dot-${r.outcome}`, "aria-hidden": "true" }),
      h("span.history-time", clock(r.started_at)),
      h("span.history-outcome", OUTCOME_TEXT[r.outcome] || r.outcome),
      h("span.history-dur.muted", r.outcome === "running" ? "" : duration(r.duration_ms))));
    });
    setChildren(this.historyEl, items.length ? items : h("li.muted.history-empty", "No runs yet."));

    this.onProgress(this.progress());
  }

  /** Metrics of the run before this one, keyed "step/name", for before/after. */
  previousMetrics(run) {
    const i = this.history.findIndex((r) => r.id === run.id);
    const prev = i >= 0 ? this.history.slice(i + 1) : this.history.filter((r) => r.id !== run.id);
    const out = new Map();
    for (const r of prev) {
      if (r.outcome === "running") continue;
      for (const m of r.metrics) {
        const k = `${m.step || ""}/${m.name}`;
        if (!out.has(k) && typeof m.value === "number") out.set(k, m);
      }
    }
    return out;
  }
}

/** A step's message: the first line as text, any further lines (a query
 * plan, a diff) as preformatted detail. */
function stepMessage(msg) {
  const i = msg.indexOf("\n");
  if (i < 0) return h("div.step-message", richText(msg));
  return h("div.step-message", richText(msg.slice(0, i)), h("pre.step-detail", msg.slice(i + 1).replace(/\n+$/, "")));
}

function stepOf(run, id, title) {
  let st = run.steps.find((s) => s.id === id);
  if (!st) {
    st = { id, title: title || id, status: "pending" };
    run.steps.push(st);
  }
  return st;
}

/** A run from the API, with every declared step present and in order. */
function normalize(r, declared) {
  const steps = declared.map((d) => {
    const s = (r.steps || []).find((x) => x.id === d.id);
    return s ? { ...s, title: s.title || d.title } : { id: d.id, title: d.title, status: "pending" };
  });
  for (const s of r.steps || []) if (!declared.some((d) => d.id === s.id)) steps.push({ ...s });
  const logs = (r.events || []).filter((e) => e.type === "log").map((e) => e.message || "");
  return { ...r, steps, metrics: r.metrics || [], logs };
}

function metricList(metrics, before) {
  return h("dl.metrics", metrics.map((m) => {
    const prev = before.get(`${m.step || ""}/${m.name}`);
    const hasValue = typeof m.value === "number" && !(m.value === 0 && m.data != null);
    return [
      h("dt", m.name),
      h("dd",
        hasValue && h("span.metric-value", num(m.value ?? 0), m.unit ? ` ${m.unit}` : ""),
        hasValue && prev && prev.value !== m.value && h("span.metric-before.muted", ` (before: ${num(prev.value)}${prev.unit ? " " + prev.unit : ""})`),
        m.data != null && h("details.metric-data", h("summary", hasValue ? "details" : "show"),
          h("pre", typeof m.data === "string" ? m.data : JSON.stringify(m.data, null, 2)))),
    ];
  }));
}
