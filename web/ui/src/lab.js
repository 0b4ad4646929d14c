// The lab page: instructions and tasks on the left; terminals, the editor
// and the Check panel on the right; the sandbox's state in the header.
//
// Opening the page POSTs /api/sessions, which resumes the learner's live
// session for this lab or starts one, then follows the session's event
// stream: provisioning progress, state changes, check steps, idle warnings.
import { h, setChildren, richText, copyText, duration } from "./dom.js";
import { api } from "./api.js";
import { showError, toast, confirmDialog } from "./notify.js";
import { EventStream } from "./events.js";
import { TerminalTab } from "./terminal.js";
import { EditorPanel } from "./editor.js";
import { CheckPanel } from "./checks.js";

const STATE_TEXT = {
  connecting: "Connecting…",
  starting: "Starting",
  ready: "Running",
  failed: "Failed",
  stopped: "Stopped",
  expired: "Expired",
  error: "Unavailable",
};

/** Renders lab `id` into root; topSlot is the header's page area. Returns a cleanup function. */
export function labPage(root, topSlot, id, navigate) {
  const page = new LabPage(root, topSlot, id, navigate);
  page.start();
  return () => page.dispose();
}

class LabPage {
  constructor(root, topSlot, id, navigate) {
    this.root = root;
    this.topSlot = topSlot;
    this.labId = id;
    this.navigate = navigate;
    this.lab = null;
    this.session = null;
    this.sid = null;
    this.events = null;
    this.tabs = []; // TerminalTab
    this.editor = null;
    this.active = null; // "editor" or a TerminalTab
    this.hints = {}; // task id → revealed hint HTML
    this.services = new Map(); // name → state, while starting
    this.imageLines = [];
    this.expiresAt = null;
    this.disposed = false;
    this.build();
  }

  // ---- layout -----------------------------------------------------------

  build() {
    document.title = "Lab · backlab";
    this.titleEl = h("h1.lab-title", "…");
    this.pill = h("span.pill", { "data-testid": "session-pill", "data-state": "connecting" }, STATE_TEXT.connecting);
    this.resetBtn = h("button.btn.btn-small", { type: "button", "data-testid": "reset", disabled: true, onclick: () => this.reset(), title: "Throw the sandbox away and start again from the lab's starting point" }, "Reset");
    this.stopBtn = h("button.btn.btn-small", { type: "button", "data-testid": "stop", disabled: true, onclick: () => this.stop(), title: "Stop the sandbox (your check history is kept)" }, "Stop");
    setChildren(this.topSlot, this.titleEl, this.pill, h("span.spacer"), this.resetBtn, this.stopBtn);

    this.banner = h("div.expiring", { hidden: true, role: "alert", "data-testid": "expiring" });
    this.lifeBanner = h("div.expiring", { hidden: true, role: "alert", "data-testid": "lifetime" });
    this.instructions = h("div.instructions-body", h("p.muted", h("span.spinner"), " Loading the lab…"));
    this.stateView = h("div.state-view", { "data-testid": "session-state", "data-state": "connecting", "aria-live": "polite" });
    this.tablist = h("div.tablist", { role: "tablist", "aria-label": "Workspace" });
    this.newTermBtn = h("button.tab.tab-add", { type: "button", "data-testid": "new-terminal", title: "New terminal", "aria-label": "New terminal", onclick: () => this.addNewTerminal() }, "+");
    this.editorTab = h("button.tab", { type: "button", role: "tab", "data-testid": "tab-editor", "aria-selected": "false", onclick: () => this.activate("editor") }, "Editor");
    this.panels = h("div.tab-panels");
    this.workspace = h("div.workspace", { hidden: true },
      h("div.tabbar", this.tablist, this.newTermBtn, h("span.spacer"), this.editorTab),
      this.panels);
    this.check = new CheckPanel({ steps: [], sid: () => this.sid, onProgress: (p) => this.showProgress(p) });

    this.left = h("aside.instructions", { "aria-label": "Instructions" }, this.instructions);
    this.splitter = h("div.splitter", { role: "separator", "aria-orientation": "vertical", "aria-label": "Resize the instructions", tabindex: "0" });
    this.hsplit = h("div.hsplit", { role: "separator", "aria-orientation": "horizontal", "aria-label": "Resize the check panel", tabindex: "0" });
    this.work = h("section.work", { "aria-label": "Sandbox" }, this.stateView, this.workspace, this.hsplit, this.check.el);
    this.body = h("div.lab-body", this.left, this.splitter, this.work);
    setChildren(this.root, h("main.lab", { id: "main" }, this.lifeBanner, this.banner, this.body));
    this.setupSplitter();

    this.onKey = (e) => {
      if (!e.defaultPrevented && (e.ctrlKey || e.metaKey) && !e.shiftKey && !e.altKey && e.key.toLowerCase() === "s" && this.active === "editor" && this.editor) {
        e.preventDefault();
        this.editor.save();
      }
    };
    window.addEventListener("keydown", this.onKey);
    this.onBeforeUnload = (e) => {
      if (this.editor && this.editor.hasUnsaved()) {
        e.preventDefault();
        e.returnValue = "";
      }
    };
    window.addEventListener("beforeunload", this.onBeforeUnload);
  }

  setupSplitter() {
    const set = (px) => {
      const w = Math.max(260, Math.min(px, this.body.clientWidth - 420));
      this.body.style.gridTemplateColumns = `${w}px 6px 1fr`;
      try { localStorage.setItem("backlab.split", String(w)); } catch {}
    };
    try {
      const saved = Number(localStorage.getItem("backlab.split"));
      if (saved > 0) requestAnimationFrame(() => set(saved));
    } catch {}
    this.splitter.addEventListener("pointerdown", (e) => {
      e.preventDefault();
      this.splitter.setPointerCapture(e.pointerId);
      const move = (ev) => set(ev.clientX - this.body.getBoundingClientRect().left);
      const up = () => {
        this.splitter.removeEventListener("pointermove", move);
        this.splitter.removeEventListener("pointerup", up);
      };
      this.splitter.addEventListener("pointermove", move);
      this.splitter.addEventListener("pointerup", up);
    });
    this.splitter.addEventListener("keydown", (e) => {
      const cur = this.left.getBoundingClientRect().width;
      if (e.key === "ArrowLeft") set(cur - 40);
      else if (e.key === "ArrowRight") set(cur + 40);
    });

    // The check panel's height, between the terminals and the panel.
    const setH = (px) => {
      const hgt = Math.max(90, Math.min(px, this.work.clientHeight - 160));
      this.check.el.style.height = `${hgt}px`;
      try { localStorage.setItem("backlab.checkHeight", String(hgt)); } catch {}
    };
    try {
      const saved = Number(localStorage.getItem("backlab.checkHeight"));
      if (saved > 0) requestAnimationFrame(() => setH(saved));
    } catch {}
    this.hsplit.addEventListener("pointerdown", (e) => {
      e.preventDefault();
      this.hsplit.setPointerCapture(e.pointerId);
      const move = (ev) => setH(this.work.getBoundingClientRect().bottom - ev.clientY);
      const up = () => {
        this.hsplit.removeEventListener("pointermove", move);
        this.hsplit.removeEventListener("pointerup", up);
      };
      this.hsplit.addEventListener("pointermove", move);
      this.hsplit.addEventListener("pointerup", up);
    });
    this.hsplit.addEventListener("keydown", (e) => {
      const cur = this.check.el.getBoundingClientRect().height;
      if (e.key === "ArrowUp") setH(cur + 40);
      else if (e.key === "ArrowDown") setH(cur - 40);
    });
  }

  // ---- start ------------------------------------------------------------

  async start() {
    this.renderState();
    const labP = api.lab(this.labId).then(
      (lab) => this.showLab(lab),
      (e) => this.labFailed(e),
    );
    await Promise.all([labP, this.open()]);
  }

  labFailed(e) {
    if (this.disposed) return;
    this.lab = null;
    setChildren(this.instructions, h("div.panel-error", { role: "alert" },
      h("strong", richText(e.message)), e.advice && h("p", richText(e.advice)),
      e.status === 404 ? h("a.btn", { href: "/", onclick: (ev) => (ev.preventDefault(), this.navigate("/")) }, "Back to the labs")
        : h("button.btn", { type: "button", onclick: () => api.lab(this.labId).then((l) => this.showLab(l), (err) => this.labFailed(err)) }, "Retry")));
  }

  /** POST /api/sessions: resumes the live session or starts one. */
  async open() {
    this.openError = null;
    this.opening = true;
    this.renderState();
    try {
      let s = await api.openSession(this.labId);
      if (this.disposed) return;
      // A failed session handed back as it is: start it again.
      if (s.state === "failed" && this.session && this.session.id === s.id) s = await api.reset(s.id);
      this.applySession(s);
    } catch (e) {
      if (this.disposed) return;
      this.openError = e;
      if (e.status === 404) this.openError.notFound = true;
    } finally {
      this.opening = false;
      this.renderState();
    }
  }

  showLab(lab) {
    if (this.disposed) return;
    this.lab = lab;
    document.title = `${lab.title} · backlab`;
    this.titleEl.textContent = lab.title;
    this.check.declared = lab.steps || [];
    this.check.render();

    const tasks = (lab.tasks || []).map((t, i) => {
      const stepsEl = h("ul.task-steps", { "aria-label": "Checks for this task" });
      const hintsEl = h("div.hints");
      const hintBtn = h("button.btn.btn-small.btn-hint", { type: "button", "data-testid": `hint-${t.id}`, onclick: () => this.revealHint(t) });
      const statusEl = h("span.task-status", { "aria-hidden": "true" });
      const el = h("li.task", { id: `task-${t.id}`, "data-task": t.id },
        h("h2.task-title", h("span.task-num", String(i + 1)), h("span", t.title), statusEl),
        h("div.task-body.prose", { html: t.instructions_html || "" }),
        (t.steps || []).length > 0 && h("div.task-checks", h("h3", "Checked by"), stepsEl),
        hintsEl,
        t.hints_total > 0 && hintBtn);
      return { task: t, el, stepsEl, hintsEl, hintBtn, statusEl };
    });
    this.taskViews = tasks;
    setChildren(this.instructions,
      h("div.lab-meta",
        lab.difficulty && h("span", { class: `difficulty difficulty-${lab.difficulty}` }, lab.difficulty),
        lab.estimated_minutes > 0 && h("span.muted", `≈ ${lab.estimated_minutes} min`),
        h("ul.chips", (lab.skills || []).map((s) => h("li.chip", s)))),
      h("div.prose.lab-intro", { html: lab.instructions_html || "" }),
      tasks.length > 0 && h("ol.tasks", tasks.map((t) => t.el)));
    this.enhanceCode(this.instructions);
    this.renderHints();
    this.showProgress(this.check.progress());
  }

  /** Adds Copy (and "Paste in terminal" for shell and SQL) to code blocks. */
  enhanceCode(container) {
    for (const pre of container.querySelectorAll("pre")) {
      const code = pre.querySelector("code") || pre;
      const lang = (/language-(\S+)/.exec(code.className) || [])[1] || "";
      const text = () => code.textContent.replace(/\n$/, "");
      const bar = h("div.code-tools",
        /^(sh|bash|shell|console|sql|psql|zsh)$/.test(lang) && h("button.code-btn", {
          type: "button",
          title: "Paste into the active terminal (you press Enter)",
          onclick: () => {
            const t = this.active instanceof TerminalTab ? this.active : this.tabs[0];
            if (!t) return toast("No terminal is open yet.");
            this.activate(t);
            t.paste(text());
          },
        }, "Paste in terminal"),
        h("button.code-btn", {
          type: "button",
          onclick: async (e) => {
            const b = e.currentTarget;
            b.textContent = (await copyText(text())) ? "Copied" : "Copy failed";
            setTimeout(() => (b.textContent = "Copy"), 1500);
          },
        }, "Copy"));
      const wrap = h("div.code-block");
      pre.replaceWith(wrap);
      wrap.append(bar, pre);
    }
  }

  // ---- session ------------------------------------------------------------

  /** Takes a Session from the API or the event stream. */
  applySession(s) {
    if (this.disposed || !s) return;
    const prev = this.session;
    const newSession = !prev || prev.id !== s.id;
    if (newSession) {
      this.teardownWorkspace();
      this.check.reset();
      if (this.events) this.events.close();
      this.sid = s.id;
      this.events = new EventStream(s.id, (ev) => this.onEvent(ev), (st) => this.onStreamStatus(st));
    }
    this.session = s;
    this.openError = null;
    this.hints = s.hints || {};
    this.renderHints();
    if (newSession) this.check.load(s.last_check);

    if (s.state === "starting" && (!prev || prev.state !== "starting" || newSession)) {
      this.services = new Map();
      this.imageLines = [];
      this.startingSince = Date.now();
    }
    for (const sv of s.services || []) this.services.set(sv.name, sv.state);

    // Idle warning: a later expiry means the learner was active.
    if (s.state !== "ready" || (this.expiresAt && s.expires_at && Date.parse(s.expires_at) > this.expiresAt + 1000)) this.hideBanner();
    // Lifetime warning: only a new sandbox (after a stop or reset) ends it.
    if (s.state !== "ready") this.hideLifeBanner();

    if (s.state === "ready") {
      this.workspace.hidden = false;
      this.ensureTerminals(s);
    } else {
      this.teardownWorkspace();
      this.workspace.hidden = true;
    }
    this.check.setEnabled(s.state === "ready");
    this.resetBtn.disabled = !["ready", "failed", "starting"].includes(s.state);
    this.stopBtn.disabled = !["ready", "starting"].includes(s.state);
    this.renderState();
  }

  onEvent(ev) {
    switch (ev.type) {
      case "session":
        this.applySession(ev.session);
        break;
      case "service.starting":
      case "service.ready":
        this.services.set(ev.service, ev.type === "service.ready" ? "ready" : "starting");
        this.renderState();
        break;
      case "image.progress":
        this.imageLines.push(ev.message || "");
        if (this.imageLines.length > 300) this.imageLines.splice(0, this.imageLines.length - 300);
        this.renderState();
        break;
      case "session.expiring":
        this.showBanner(ev.expires_at);
        break;
      case "session.lifetime":
        this.showLifeBanner(ev.expires_at);
        break;
      default:
        if (ev.type && (ev.type.startsWith("check.") || ev.type.startsWith("step.") || ev.type === "metric" || ev.type === "log")) this.check.event(ev);
    }
  }

  onStreamStatus(st) {
    // Back after a drop: check events may have been missed meanwhile.
    if (st.connected && this.streamDown) this.check.loadHistory();
    this.streamDown = !st.connected;
    if (st.final) showError({ message: `Live updates stopped: ${st.reason}`, advice: "Reload the page to reconnect." });
    this.renderState();
  }

  async ensureTerminals(s) {
    if (this.tabs.length || this.ensuring) return;
    this.ensuring = true;
    const sid = s.id;
    try {
      let list = s.terminals || [];
      if (!list.length) list = [await api.newTerminal(sid)];
      if (this.disposed || this.sid !== sid || !this.session || this.session.state !== "ready" || this.tabs.length) return;
      for (const t of list) this.addTab(t);
      this.activate(this.tabs[0]);
    } catch (e) {
      showError(e, { retry: () => this.session && this.session.state === "ready" && this.ensureTerminals(this.session) });
    } finally {
      this.ensuring = false;
    }
  }

  addTab(info) {
    const tab = new TerminalTab({
      sid: this.sid,
      info,
      onRetitle: (t) => this.renderTabs(),
      onNotRunning: () => this.refreshSession(),
      onInput: () => this.hideBanner(),
    });
    this.tabs.push(tab);
    this.panels.append(tab.el);
    tab.el.hidden = true;
    this.renderTabs();
    return tab;
  }

  async addNewTerminal() {
    if (!this.sid) return;
    this.newTermBtn.disabled = true;
    try {
      const info = await api.newTerminal(this.sid);
      this.activate(this.addTab(info));
    } catch (e) {
      showError(e);
    } finally {
      this.newTermBtn.disabled = false;
    }
  }

  activate(target) {
    this.active = target;
    for (const t of this.tabs) {
      const on = t === target;
      t.el.hidden = !on;
      if (on) t.screen.dataset.testid = "terminal-active";
      else delete t.screen.dataset.testid;
    }
    if (target === "editor") {
      if (!this.editor && this.sid) {
        this.editor = new EditorPanel({ sid: this.sid });
        this.panels.append(this.editor.el);
      }
      if (this.editor) {
        this.editor.el.hidden = false;
        this.editor.shown();
      }
    } else if (this.editor) {
      this.editor.el.hidden = true;
    }
    this.renderTabs();
    if (target instanceof TerminalTab) requestAnimationFrame(() => (target.refit(), target.focus()));
  }

  renderTabs() {
    setChildren(this.tablist, this.tabs.map((t) =>
      h("button.tab", {
        type: "button",
        role: "tab",
        class: "tab" + (t === this.active ? " active" : ""),
        "aria-selected": String(t === this.active),
        "data-testid": `tab-terminal-${t.tid}`,
        onclick: () => this.activate(t),
      }, h("span.tab-icon", { "aria-hidden": "true" }, "›_"), t.title)));
    this.editorTab.classList.toggle("active", this.active === "editor");
    this.editorTab.setAttribute("aria-selected", String(this.active === "editor"));
  }

  teardownWorkspace() {
    for (const t of this.tabs) t.dispose();
    this.tabs = [];
    if (this.editor) {
      this.editor.dispose();
      this.editor = null;
    }
    if (this.active !== "editor") this.active = null;
    this.renderTabs();
  }

  async refreshSession() {
    if (!this.sid) return;
    try {
      this.applySession(await api.session(this.sid));
    } catch (e) {
      showError(e);
    }
  }

  // ---- state view ------------------------------------------------------------

  renderState() {
    if (this.disposed) return;
    const s = this.session;
    let state = s ? s.state : this.openError ? "error" : "connecting";
    if (this.opening && (!s || s.state !== "ready")) state = s ? s.state : "connecting";
    this.stateView.dataset.state = state;
    this.pill.dataset.state = state;
    this.pill.className = `pill pill-${state}`;
    setChildren(this.pill, (state === "starting" || state === "connecting") && h("span.spinner", { "aria-hidden": "true" }),
      STATE_TEXT[state] || state, this.streamDown && s ? " · reconnecting…" : "");
    this.stateView.hidden = state === "ready";
    clearInterval(this.stateTimer);

    const retry = (label) => h("button.btn.btn-primary", { type: "button", "data-testid": "start-again", disabled: this.opening, onclick: () => this.open() }, label);
    switch (state) {
      case "connecting":
        setChildren(this.stateView, h("div.state-box", h("h2", h("span.spinner"), " Opening your sandbox…")));
        break;
      case "error": {
        const e = this.openError;
        setChildren(this.stateView, h("div.state-box.state-failed", { role: "alert" },
          h("h2", "The sandbox could not be opened"),
          h("p.state-error", richText(e.message)),
          e.advice && h("p", h("strong", "What to do: "), richText(e.advice)),
          e.notFound ? h("a.btn", { href: "/", onclick: (ev) => (ev.preventDefault(), this.navigate("/")) }, "Back to the labs") : retry("Retry")));
        break;
      }
      case "starting": {
        const since = this.startingSince || Date.now();
        const elapsed = h("span.muted");
        const tickFn = () => (elapsed.textContent = ` ${duration(Date.now() - since)}`);
        tickFn();
        this.stateTimer = setInterval(tickFn, 1000);
        const services = [...this.services.entries()];
        setChildren(this.stateView, h("div.state-box",
          h("h2", h("span.spinner"), " Starting your sandbox", elapsed),
          services.length > 0 && h("ul.services", services.map(([name, st]) =>
            h("li", { class: `service service-${st}`, "data-service": name, "data-state": st },
              h("span.service-icon", { "aria-hidden": "true" }, st === "ready" ? "✓" : st === "starting" ? h("span.spinner") : "○"),
              h("span.service-name", name), h("span.service-state.muted", st)))),
          this.imageLines.length > 0 && h("div.image-progress",
            h("h3", "Building images (only the first time)"),
            h("pre.image-log", { "aria-live": "off" }, this.imageLines.slice(-60).join("\n"))),
          h("p.muted.small", "You can read the instructions on the left meanwhile.")));
        const log = this.stateView.querySelector(".image-log");
        if (log) log.scrollTop = log.scrollHeight;
        break;
      }
      case "failed":
        setChildren(this.stateView, h("div.state-box.state-failed", { role: "alert" },
          h("h2", "The sandbox failed to start"),
          h("p.state-error", richText(s.error || "It stopped before it was ready.")),
          s.advice && h("p", h("strong", "What to do: "), richText(s.advice)),
          retry("Retry")));
        break;
      case "stopped":
      case "expired":
        setChildren(this.stateView, h("div.state-box",
          h("h2", state === "expired" ? "This sandbox stopped for lack of activity" : "This sandbox is stopped"),
          h("p", s.error ? richText(sentence(s.error)) : null, s.error ? " " : "",
            "Your check history is kept; a new sandbox starts from the lab's starting files."),
          retry("Start again")));
        break;
      case "ready":
        setChildren(this.stateView);
        break;
      default:
        setChildren(this.stateView, h("div.state-box", h("h2", `The sandbox is ${state}`), retry("Start again")));
    }
  }

  // ---- idle expiry ------------------------------------------------------------

  showBanner(expiresAt) {
    const at = Date.parse(expiresAt);
    if (isNaN(at)) return;
    this.expiresAt = at;
    const text = h("span");
    const btn = h("button.btn.btn-small.btn-primary", { type: "button", "data-testid": "keepalive", onclick: () => this.keepalive(btn) }, "Keep working");
    const tickFn = () => {
      const left = Math.max(0, Math.round((at - Date.now()) / 1000));
      text.textContent = left > 0 ? `This sandbox stops in ${left} s for lack of activity — ` : "This sandbox is stopping for lack of activity… ";
    };
    tickFn();
    clearInterval(this.bannerTimer);
    this.bannerTimer = setInterval(tickFn, 1000);
    setChildren(this.banner, text, btn);
    this.banner.hidden = false;
  }

  // The sandbox's maximum lifetime: activity cannot put this stop off.
  showLifeBanner(endsAt) {
    const at = Date.parse(endsAt);
    if (isNaN(at)) return;
    const text = h("span");
    const tickFn = () => {
      const left = Math.max(0, Math.round((at - Date.now()) / 1000));
      const mins = Math.floor(left / 60), secs = left % 60;
      text.textContent = left > 0
        ? `This sandbox reaches its maximum lifetime and stops in ${mins ? `${mins} min ` : ""}${secs} s, however active it is. Save what you need; then open the lab again for a fresh sandbox.`
        : "This sandbox reached its maximum lifetime and is stopping…";
    };
    tickFn();
    clearInterval(this.lifeTimer);
    this.lifeTimer = setInterval(tickFn, 1000);
    setChildren(this.lifeBanner, text);
    this.lifeBanner.hidden = false;
  }

  hideLifeBanner() {
    if (this.lifeBanner.hidden) return;
    clearInterval(this.lifeTimer);
    this.lifeBanner.hidden = true;
  }

  hideBanner() {
    if (this.banner.hidden) return;
    clearInterval(this.bannerTimer);
    this.banner.hidden = true;
    this.expiresAt = null;
  }

  async keepalive(btn) {
    btn.disabled = true;
    try {
      await api.keepalive(this.sid);
      this.hideBanner();
    } catch (e) {
      btn.disabled = false;
      showError(e);
    }
  }

  // ---- header actions ------------------------------------------------------------

  async reset() {
    const unsaved = this.editor && this.editor.hasUnsaved();
    const ok = await confirmDialog({
      title: "Reset the sandbox?",
      body: "Everything in it goes back to the lab's starting point: your file changes, the database and open terminals are thrown away." +
        (unsaved ? " Unsaved editor changes are lost too." : "") + " Your check history is kept.",
      ok: "Reset",
      danger: true,
    });
    if (!ok || !this.sid) return;
    this.resetBtn.disabled = true;
    try {
      const s = await api.reset(this.sid);
      this.teardownWorkspace();
      this.applySession(s);
    } catch (e) {
      showError(e);
      this.resetBtn.disabled = false;
    }
  }

  async stop() {
    if (!this.sid) return;
    this.stopBtn.disabled = true;
    try {
      this.applySession(await api.stop(this.sid));
    } catch (e) {
      showError(e);
      this.stopBtn.disabled = false;
    }
  }

  // ---- tasks, hints, progress --------------------------------------------------

  renderHints() {
    for (const v of this.taskViews || []) {
      const shown = this.hints[v.task.id] || [];
      const total = v.task.hints_total || 0;
      setChildren(v.hintsEl, shown.map((html, i) =>
        h("div.hint", { "data-hint": String(i) }, h("div.hint-label", `Hint ${i + 1} of ${total}`), h("div.prose", { html }))));
      this.enhanceCode(v.hintsEl);
      if (shown.length >= total) {
        v.hintBtn.disabled = true;
        v.hintBtn.textContent = total === 1 ? "The hint is shown" : `All ${total} hints shown`;
      } else {
        v.hintBtn.disabled = !this.sid || this.hintBusy;
        v.hintBtn.textContent = `Show hint (${shown.length + 1} of ${total})`;
      }
    }
  }

  async revealHint(t) {
    if (!this.sid) return;
    this.hintBusy = true;
    this.renderHints();
    try {
      const res = await api.hint(this.sid, t.id);
      const list = (this.hints[t.id] || []).slice();
      list[res.index] = res.html;
      this.hints[t.id] = list.filter((x) => x != null);
      const v = (this.taskViews || []).find((x) => x.task.id === t.id);
      if (v) v.task.hints_total = res.total;
    } catch (e) {
      if (e.status === 409) this.refreshSession();
      else showError(e);
    } finally {
      this.hintBusy = false;
      this.renderHints();
    }
  }

  /** Shows each task's steps with their latest status. */
  showProgress(status) {
    if (!this.lab || !this.taskViews) return;
    const titles = new Map((this.lab.steps || []).map((s) => [s.id, s.title]));
    const mark = { passed: "✓", failed: "✗", running: "", pending: "○" };
    for (const v of this.taskViews) {
      const steps = v.task.steps || [];
      setChildren(v.stepsEl, steps.map((id) => {
        const st = status.get(id) || "pending";
        return h("li", { class: `task-step status-${st}`, "data-step": id, "data-status": st },
          h("span.step-icon", { "aria-hidden": "true" }, st === "running" ? h("span.spinner") : mark[st]),
          h("span", titles.get(id) || id), h("span.visually-hidden", ` — ${st}`));
      }));
      const all = steps.length > 0 && steps.every((id) => status.get(id) === "passed");
      v.el.classList.toggle("task-done", all);
      v.statusEl.textContent = all ? "✓" : "";
      v.el.dataset.done = String(all);
    }
  }

  dispose() {
    this.disposed = true;
    if (this.events) this.events.close();
    this.teardownWorkspace();
    clearInterval(this.stateTimer);
    clearInterval(this.bannerTimer);
    clearInterval(this.lifeTimer);
    clearInterval(this.check.tick);
    window.removeEventListener("keydown", this.onKey);
    window.removeEventListener("beforeunload", this.onBeforeUnload);
    setChildren(this.topSlot);
  }
}

/** "stopped by you" → "Stopped by you." */
function sentence(text) {
  const t = String(text).trim();
  if (!t) return t;
  return t[0].toUpperCase() + t.slice(1) + (/[.!?]$/.test(t) ? "" : ".");
}
