// A cohort's dashboard, /cohorts/{cid}: the learners × labs grid (status,
// attempts, time to pass, who is in a session now), refreshed every few
// seconds; the cohort's labs, its invites and its learners.
import { h, setChildren, richText, pageLink, loadError, span, dateTime, fromNow, clock, copyText } from "./dom.js";
import { api, paths } from "./api.js";
import { showError, toast, confirmDialog } from "./notify.js";
import { labChoices } from "./cohorts.js";

const REFRESH_MS = 5000;
const STATUS = { not_started: "Not started", in_progress: "In progress", passed: "Passed" };
const STATE = { starting: "starting", failed: "failed" };

/** dashboardPage(root, {cid, navigate, me}) renders the page; returns a cleanup function. */
export function dashboardPage(root, { cid, navigate, me }) {
  const d = new Dashboard(root, cid, navigate, me);
  d.start();
  return () => d.dispose();
}

class Dashboard {
  constructor(root, cid, navigate, me) {
    this.root = root;
    this.cid = cid;
    this.navigate = navigate;
    this.me = me;
    this.detail = null; // GET /api/cohorts/{cid}
    this.progress = null; // GET /api/cohorts/{cid}/progress
    this.catalog = null; // GET /api/labs, for the labs panel
    this.keys = {}; // what each part was last rendered from
    this.timer = 0;
    this.loading = null;
    this.labsDirty = false;
    this.newInvite = "";
    this.gone = false;
    this.onVisible = () => {
      if (!document.hidden) this.refresh();
    };
  }

  start() {
    document.title = "Cohort · backlab";
    this.content = h("div", { "aria-busy": "true" }, h("p.muted", h("span.spinner"), " Loading the cohort…"));
    this.main = h("main.catalog.wide.dashboard", { id: "main", "data-testid": "dashboard" },
      h("nav.breadcrumb", { "aria-label": "Breadcrumb" }, pageLink("/cohorts", this.navigate, "Cohorts"), h("span.crumb-sep", { "aria-hidden": "true" }, "›"),
        this.crumb = h("span", { "aria-current": "page" }, "…")),
      this.content);
    setChildren(this.root, this.main);
    document.addEventListener("visibilitychange", this.onVisible);
    this.firstLoad();
  }

  dispose() {
    this.gone = true;
    clearTimeout(this.timer);
    document.removeEventListener("visibilitychange", this.onVisible);
  }

  async firstLoad() {
    this.content.setAttribute("aria-busy", "true");
    try {
      const [detail, progress, catalog] = await Promise.all([api.cohort(this.cid), api.progress(this.cid), api.labs()]);
      if (this.gone) return;
      Object.assign(this, { detail, progress, catalog: catalog || [] });
      this.build();
      this.render();
      this.schedule();
    } catch (e) {
      if (this.gone || e.loginRequired) return;
      this.content.removeAttribute("aria-busy");
      document.title = "Cohort not found · backlab";
      this.crumb.textContent = "Not found";
      setChildren(this.content, loadError(e, () => this.firstLoad()));
    }
  }

  schedule() {
    clearTimeout(this.timer);
    if (!this.gone) this.timer = setTimeout(() => this.refresh(), REFRESH_MS);
  }

  /** Loads the grid and the cohort again (at most one load at a time). */
  refresh() {
    if (this.gone || !this.detail) return Promise.resolve();
    // A load under way may have started before a change: load again after it.
    if (this.loading) return this.loading.then(() => this.refresh());
    clearTimeout(this.timer);
    if (document.hidden) return Promise.resolve(); // visibilitychange resumes
    this.refreshBtn.disabled = true;
    this.loading = (async () => {
      try {
        const [detail, progress] = await Promise.all([api.cohort(this.cid), api.progress(this.cid)]);
        if (this.gone) return;
        this.detail = detail;
        this.progress = progress;
        this.refreshError = null;
        this.render();
      } catch (e) {
        if (this.gone) return;
        this.refreshError = e;
        this.renderStatus();
      } finally {
        this.loading = null;
        if (!this.gone) {
          this.refreshBtn.disabled = false;
          this.schedule();
        }
      }
    })();
    return this.loading;
  }

  // ---- layout -----------------------------------------------------------

  build() {
    this.content.removeAttribute("aria-busy");
    this.title = h("h1.dash-title", { "data-testid": "cohort-title" });
    this.titleRow = h("div.title-row", this.title,
      h("button.link.small", { type: "button", "data-testid": "rename-cohort", onclick: () => this.startRename() }, "Rename"));
    this.renameForm = this.buildRenameForm();
    this.stats = h("p.dash-stats.muted", { "data-testid": "cohort-stats" });
    this.status = h("span.dash-status.muted.small", { role: "status", "data-testid": "refresh-status" });
    this.refreshBtn = h("button.btn.btn-small", { type: "button", "data-testid": "refresh", onclick: () => this.refresh(), title: "Load the grid again now" }, "↻ Refresh");
    const csv = h("a.btn.btn-small", { href: paths.progressCSV(this.cid), download: "", "data-testid": "download-csv", title: "One row per learner and lab" }, "⤓ Download CSV");
    this.grid = h("div.grid-wrap", { "data-testid": "progress-grid" });
    this.invites = h("div.invite-list", { "data-testid": "invite-list" });
    this.learners = h("div", { "data-testid": "learner-list" });
    this.labsBox = h("div.lab-choices");
    this.labsStatus = h("span.small.muted", { role: "status", "data-testid": "labs-status" });

    setChildren(this.content,
      h("div.dash-head",
        h("div.dash-heading", this.titleRow, this.renameForm, this.stats),
        h("div.dash-tools", this.status, this.refreshBtn, csv)),
      h("section.panel", { "aria-labelledby": "grid-title" },
        h("div.panel-head", h("h2.panel-title#grid-title", "Progress"),
          h("span.legend.small.muted", h("span.live-dot", { "aria-hidden": "true" }), " in a session now · time to pass: from the first session to the first passing check")),
        this.grid),
      h("div.dash-panels",
        h("section.panel", { "aria-labelledby": "invites-title" },
          h("h2.panel-title#invites-title", "Invites"),
          h("p.small.muted.panel-lead", "Share an invite's link: whoever opens it signs up and joins this cohort."),
          this.inviteForm(),
          this.invites),
        h("div.dash-side",
          h("section.panel", { "aria-labelledby": "labs-title" },
            h("h2.panel-title#labs-title", "Labs"),
            h("p.small.muted.panel-lead", "The labs this cohort's learners see in their catalog."),
            this.labsForm()),
          h("section.panel", { "aria-labelledby": "learners-title" },
            h("h2.panel-title#learners-title", "Learners"),
            this.learners))));
  }

  // ---- renaming ---------------------------------------------------------

  buildRenameForm() {
    this.renameInput = h("input#cohort-rename", { type: "text", maxlength: "80", autocomplete: "off", "data-testid": "cohort-rename-input", "aria-label": "The cohort's new name" });
    this.renameError = h("div.login-error", { role: "alert", "data-testid": "rename-error", hidden: true });
    const save = h("button.btn.btn-primary.btn-small", { type: "submit", "data-testid": "cohort-rename-save" }, "Save");
    const form = h("form.rename-form", {
      hidden: true,
      "data-testid": "rename-form",
      novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        const name = this.renameInput.value.trim();
        if (!name) {
          setChildren(this.renameError, h("strong", "Give the cohort a name."));
          this.renameError.hidden = false;
          this.renameInput.focus();
          return;
        }
        save.disabled = true;
        try {
          const c = await api.renameCohort(this.cid, name);
          if (this.gone) return;
          this.detail.cohort.name = c.name;
          this.endRename();
          this.render();
          toast(`Renamed to “${c.name}”.`);
        } catch (err) {
          if (err.loginRequired || this.gone) return;
          setChildren(this.renameError, h("strong", richText(err.message)), err.advice && h("div.login-advice", richText(err.advice)));
          this.renameError.hidden = false;
        } finally {
          save.disabled = false;
        }
      },
    }, this.renameInput, save,
    h("button.btn.btn-small", { type: "button", "data-testid": "cohort-rename-cancel", onclick: () => this.endRename() }, "Cancel"),
    this.renameError);
    form.addEventListener("keydown", (e) => {
      if (e.key === "Escape") this.endRename();
    });
    return form;
  }

  startRename() {
    this.renameInput.value = this.detail.cohort.name;
    this.renameError.hidden = true;
    this.titleRow.hidden = true;
    this.renameForm.hidden = false;
    this.renameInput.focus();
    this.renameInput.select();
  }

  endRename() {
    this.renameForm.hidden = true;
    this.titleRow.hidden = false;
  }

  render() {
    const c = this.detail.cohort;
    document.title = `${c.name} · Cohorts · backlab`;
    this.crumb.textContent = c.name;
    this.title.textContent = c.name;
    const p = this.progress;
    const n = p.learners.length;
    setChildren(this.stats,
      `${n} ${n === 1 ? "learner" : "learners"} · ${p.labs.length} ${p.labs.length === 1 ? "lab" : "labs"}`,
      p.in_session > 0 && [" · ", h("span.live-count", h("span.live-dot", { "aria-hidden": "true" }), ` ${p.in_session} in a session now`)]);
    this.renderStatus();
    this.once("grid", p, () => this.renderGrid());
    this.once("invites", [this.detail.invites, this.newInvite], () => this.renderInvites());
    this.once("learners", this.detail.learners, () => this.renderLearners());
    if (!this.labsDirty) this.once("labs", [this.catalog.map((l) => l.id), c.labs], () => this.renderLabs());
  }

  /** Runs fn only when data differs from the last time (keeps focus and selection). */
  once(part, data, fn) {
    const key = JSON.stringify(data);
    if (this.keys[part] === key) return;
    this.keys[part] = key;
    fn();
  }

  renderStatus() {
    const e = this.refreshError;
    if (e) {
      this.status.className = "dash-status small status-error";
      setChildren(this.status, "Could not refresh: ", richText(e.message), " Retrying…");
    } else {
      this.status.className = "dash-status small muted";
      this.status.textContent = `Updated ${clock(new Date().toISOString())} · every ${REFRESH_MS / 1000} s`;
    }
  }

  // ---- the grid ---------------------------------------------------------

  renderGrid() {
    const p = this.progress;
    const focused = this.grid.contains(document.activeElement) && document.activeElement.dataset.testid;
    if (!p.labs.length) {
      setChildren(this.grid, h("p.muted.empty", "This cohort sees no labs yet: choose some under Labs."));
      return;
    }
    if (!p.learners.length) {
      setChildren(this.grid, h("p.muted.empty", "No learners yet. Create an invite below and share its link."));
      return;
    }
    const titles = new Map(p.labs.map((l) => [l.id, l.title || l.id]));
    const n = p.learners.length;
    const table = h("table.grid",
      h("caption.visually-hidden", "Each learner's status on each lab"),
      h("thead", h("tr",
        h("th.grid-learner", { scope: "col" }, "Learner"),
        p.labs.map((l) => h("th.grid-lab", { scope: "col", title: l.id }, l.title || l.id)))),
      h("tbody", p.learners.map((row) => {
        const live = row.live || [];
        return h("tr", { "data-testid": `learner-row-${row.id}`, "data-login": row.login, class: live.length ? "is-live" : null },
          h("th.grid-learner", { scope: "row" },
            pageLink(`/cohorts/${encodeURIComponent(this.cid)}/learners/${encodeURIComponent(row.id)}`, this.navigate,
              { class: "learner-name", "data-testid": `learner-link-${row.id}`, title: "Their check runs, every event" }, row.name || row.login),
            h("div.learner-login.muted", row.login),
            live.length > 0 && h("div.live", { "data-testid": `live-${row.id}` },
              h("span.live-dot", { "aria-hidden": "true" }),
              " In session now · ",
              live.map((s, i) => [i > 0 && ", ", h("span.live-lab", titles.get(s.lab) || s.lab),
                s.checking ? " (checking)" : STATE[s.state] ? ` (${STATE[s.state]})` : ""]))),
          p.labs.map((l) => this.cell(row, l.id, live.find((s) => s.lab === l.id))));
      })),
      h("tfoot", h("tr",
        h("th.grid-learner", { scope: "row" }, "Passed"),
        p.labs.map((l) => {
          const k = p.passed[l.id] || 0;
          return h("td.grid-total", { "data-testid": `passed-${l.id}`, "data-passed": k },
            h("span.total-num", `${k} / ${n}`),
            h("span.bar", { "aria-hidden": "true" }, h("span.bar-fill", { style: { width: `${n ? Math.round((100 * k) / n) : 0}%` } })));
        }))));
    setChildren(this.grid, table);
    if (focused) {
      const el = this.grid.querySelector(`[data-testid="${CSS.escape(focused)}"]`);
      if (el) el.focus();
    }
  }

  cell(row, lab, live) {
    const c = row.labs[lab] || { status: "not_started", attempts: 0 };
    const facts = [
      c.first_at && `First session ${dateTime(c.first_at)}`,
      c.passed_at && `passed ${dateTime(c.passed_at)}`,
      c.last_at && `last activity ${dateTime(c.last_at)}`,
      c.sessions && `${c.sessions} ${c.sessions === 1 ? "session" : "sessions"}`,
    ].filter(Boolean);
    return h("td", {
      class: `grid-cell cell-${c.status}`,
      "data-testid": `cell-${row.id}-${lab}`,
      "data-status": c.status,
      "data-attempts": c.attempts,
      title: facts.join(" · ") || null,
    },
    h("span", { class: `badge badge-${c.status}` }, c.status === "passed" ? "✓ " : "", STATUS[c.status] || c.status),
    live && h("span.cell-live", { title: live.checking ? "Checking now" : "In a session on this lab now" }, h("span.live-dot", { "aria-hidden": "true" }), h("span.visually-hidden", " in session now")),
    h("div.cell-meta",
      c.attempts > 0 ? h("span", { "data-testid": "attempts" }, `${c.attempts} ${c.attempts === 1 ? "attempt" : "attempts"}`) : c.status !== "not_started" && h("span.muted", "no check yet"),
      c.time_to_pass_seconds != null && h("span.ttp", { "data-testid": "time-to-pass", title: "Time to pass: from the first session to the first passing check" }, `${span(c.time_to_pass_seconds)} to pass`)));
  }

  // ---- invites ----------------------------------------------------------

  inviteForm() {
    const admin = this.me.user && this.me.user.role === "admin";
    const uses = h("input#invite-max-uses", { type: "number", min: "1", max: "1000", value: "50", inputmode: "numeric", "data-testid": "invite-max-uses" });
    const days = h("input#invite-days", { type: "number", min: "1", max: "90", value: "14", inputmode: "numeric", "data-testid": "invite-days" });
    const role = admin && h("select#invite-role", { "data-testid": "invite-role" },
      h("option", { value: "learner" }, "Learners"), h("option", { value: "instructor" }, "Instructors"));
    const error = h("div.login-error", { role: "alert", "data-testid": "invite-error", hidden: true });
    const submit = h("button.btn.btn-primary", { type: "submit", "data-testid": "create-invite" }, "Create invite link");
    const fail = (msg, advice, input) => {
      setChildren(error, h("strong", richText(msg)), advice && h("div.login-advice", richText(advice)));
      error.hidden = false;
      if (input) {
        input.setAttribute("aria-invalid", "true");
        input.focus();
      }
    };
    for (const i of [uses, days]) i.addEventListener("input", () => i.removeAttribute("aria-invalid"));
    return h("form.invite-form", {
      "data-testid": "invite-form",
      "aria-label": "New invite",
      novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        error.hidden = true;
        const u = Number(uses.value);
        const dd = Number(days.value);
        if (!Number.isInteger(u) || u < 1 || u > 1000) return fail("Sign-ups must be a whole number from 1 to 1000.", "", uses);
        if (!Number.isInteger(dd) || dd < 1 || dd > 90) return fail("Valid for must be a whole number of days from 1 to 90.", "", days);
        submit.disabled = true;
        try {
          const inv = await api.createInvite(this.cid, { max_uses: u, expires_in_hours: dd * 24, ...(role ? { role: role.value } : {}) });
          this.newInvite = inv.code;
          await this.refresh();
          const link = this.invites.querySelector(`[data-code="${CSS.escape(inv.code)}"] input`);
          if (link) {
            link.focus();
            link.select();
          }
          toast("Invite created: copy its link and share it.");
        } catch (err) {
          if (!err.loginRequired) fail(err.message, err.advice);
        } finally {
          submit.disabled = false;
        }
      },
    },
    h("div.field", h("label", { for: "invite-max-uses" }, "Sign-ups"), uses),
    h("div.field", h("label", { for: "invite-days" }, "Valid for (days)"), days),
    role && h("div.field", h("label", { for: "invite-role" }, "For"), role),
    h("div.field.field-submit", submit),
    error);
  }

  renderInvites() {
    const all = [...this.detail.invites].sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at));
    const usable = all.filter((i) => i.usable);
    const old = all.filter((i) => !i.usable);
    const focused = this.invites.contains(document.activeElement) && document.activeElement.dataset.testid;
    setChildren(this.invites,
      usable.length ? h("ul.invites", usable.map((i) => this.invite(i)))
        : h("p.muted.empty.small", all.length ? "No invite can be used now: create a new one." : "No invites yet."),
      old.length > 0 && h("details.old-invites",
        h("summary.small.muted", `${old.length} ${old.length === 1 ? "invite" : "invites"} no longer usable`),
        h("ul.invites", old.map((i) => this.invite(i)))));
    if (focused) {
      const el = this.invites.querySelector(`[data-testid="${CSS.escape(focused)}"]`);
      if (el) el.focus();
    }
  }

  invite(i) {
    const link = h("input.invite-link", { type: "text", readonly: true, value: i.url, "aria-label": `Invite link${i.role === "instructor" ? " for instructors" : ""}`, "data-testid": "invite-link", onfocus: (e) => e.target.select() });
    const revoke = async () => {
      const ok = await confirmDialog({ title: "Revoke this invite?", body: "Nobody can sign up or join with its link any more. Accounts made with it stay.", ok: "Revoke", danger: true });
      if (!ok) return;
      try {
        await api.revokeInvite(this.cid, i.code);
        toast("Invite revoked.");
        this.refresh();
      } catch (e) {
        showError(e);
      }
    };
    return h("li", {
      class: `invite${i.usable ? "" : " invite-unusable"}${i.code === this.newInvite ? " invite-new" : ""}`,
      "data-testid": `invite-${i.code}`,
      "data-code": i.code,
      "data-usable": String(i.usable),
    },
    h("div.invite-row", link,
      h("button.btn.btn-small", {
        type: "button",
        "data-testid": "copy-invite",
        onclick: async () => toast((await copyText(i.url)) ? "Link copied." : "Could not copy: select the link and copy it."),
      }, "Copy"),
      i.usable && h("button.btn.btn-small.btn-quiet-danger", { type: "button", "data-testid": "revoke-invite", onclick: revoke }, "Revoke")),
    h("div.invite-meta.small",
      i.role === "instructor" && h("span.badge.badge-role", "instructors"),
      h("span", { "data-testid": "invite-uses" }, `${i.uses} of ${i.max_uses} sign-ups used`),
      i.usable ? h("span.muted", { title: dateTime(i.expires_at) }, `expires ${fromNow(i.expires_at)} (${dateTime(i.expires_at)})`)
        : h("span.invite-why", richText(i.unusable || "not usable"))));
  }

  // ---- labs -------------------------------------------------------------

  labsForm() {
    this.saveLabsBtn = h("button.btn.btn-primary.btn-small", { type: "submit", "data-testid": "save-labs", disabled: true }, "Save labs");
    return h("form.stack", {
      "data-testid": "labs-form",
      "aria-labelledby": "labs-title",
      onsubmit: async (e) => {
        e.preventDefault();
        const labs = [...this.labsBox.querySelectorAll("input[type=checkbox]")].filter((c) => c.checked).map((c) => c.value);
        this.saveLabsBtn.disabled = true;
        this.labsStatus.textContent = "Saving…";
        try {
          await api.setCohortLabs(this.cid, labs);
          this.labsDirty = false;
          this.labsStatus.textContent = "Saved.";
          delete this.keys.labs;
          await this.refresh();
        } catch (err) {
          this.labsStatus.textContent = "";
          this.saveLabsBtn.disabled = false;
          showError(err);
        }
      },
    }, this.labsBox, h("div.row", this.saveLabsBtn, this.labsStatus));
  }

  renderLabs() {
    if (!this.catalog.length) {
      setChildren(this.labsBox, h("p.muted.small", "No labs are installed on this server."));
      return;
    }
    setChildren(this.labsBox, labChoices(this.catalog, new Set(this.detail.cohort.labs), "lab-toggle", () => {
      this.labsDirty = true;
      this.saveLabsBtn.disabled = false;
      this.labsStatus.textContent = "Unsaved changes";
    }));
    this.saveLabsBtn.disabled = true;
  }

  // ---- learners ---------------------------------------------------------

  renderLearners() {
    const ls = [...this.detail.learners].sort((a, b) => (a.name || a.login).localeCompare(b.name || b.login));
    if (!ls.length) {
      setChildren(this.learners, h("p.muted.empty.small", "Nobody has joined yet."));
      return;
    }
    setChildren(this.learners, h("ul.people", ls.map((l) => h("li.person", { "data-testid": `learner-${l.id}` },
      h("div.person-main",
        pageLink(`/cohorts/${encodeURIComponent(this.cid)}/learners/${encodeURIComponent(l.id)}`, this.navigate, { class: "learner-name" }, l.name || l.login),
        h("div.small.muted", l.login, " · joined ", h("span", { title: dateTime(l.joined_at) }, fromNow(l.joined_at)))),
      h("button.btn.btn-small.btn-quiet-danger", {
        type: "button",
        "data-testid": `remove-learner-${l.id}`,
        "aria-label": `Remove ${l.name || l.login} from the cohort`,
        onclick: () => this.removeLearner(l),
      }, "Remove")))));
  }

  async removeLearner(l) {
    const who = l.name || l.login;
    const ok = await confirmDialog({
      title: `Remove ${who}?`,
      body: `${who} leaves ${this.detail.cohort.name}: they stop appearing on this dashboard and lose its labs (unless another of their cohorts has them), and their sandboxes of those labs stop. Their account and records stay.`,
      ok: "Remove from cohort",
      danger: true,
    });
    if (!ok) return;
    try {
      await api.removeLearner(this.cid, l.id);
      toast(`${who} was removed from the cohort.`);
      this.refresh();
    } catch (e) {
      showError(e);
    }
  }
}
