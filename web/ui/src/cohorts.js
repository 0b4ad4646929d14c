// The instructors' list of cohorts, /cohorts: the cohorts they instruct
// (an admin: all) and a form to create one with the labs it sees.
import { h, setChildren, richText, pageLink, loadError, dateTime } from "./dom.js";
import { api } from "./api.js";

/** cohortsPage(root, {navigate, me}) renders the page; returns a cleanup function. */
export function cohortsPage(root, { navigate, me }) {
  document.title = "Cohorts · backlab";
  const list = h("div.panel-body", { "aria-busy": "true" }, h("p.muted", h("span.spinner"), " Loading cohorts…"));
  const labsBox = h("div.lab-choices", h("p.muted.small", h("span.spinner"), " Loading labs…"));
  const name = h("input#cohort-name", { type: "text", name: "name", maxlength: "80", autocomplete: "off", "data-testid": "cohort-name", placeholder: "e.g. Backend bootcamp, autumn" });
  const error = h("div.login-error", { role: "alert", "data-testid": "cohort-form-error", hidden: true });
  const submit = h("button.btn.btn-primary", { type: "submit", "data-testid": "cohort-create" }, "Create cohort");
  let labs = []; // the catalog, for the form and the list's lab counts
  let gone = false;

  const form = h("form.panel.stack", {
    "data-testid": "cohort-form",
    "aria-labelledby": "new-cohort-title",
    novalidate: true,
    onsubmit: async (e) => {
      e.preventDefault();
      const n = name.value.trim();
      error.hidden = true;
      if (!n) {
        setChildren(error, h("strong", "Give the cohort a name."));
        error.hidden = false;
        name.setAttribute("aria-invalid", "true");
        name.focus();
        return;
      }
      const chosen = [...labsBox.querySelectorAll("input[type=checkbox]")].filter((c) => c.checked).map((c) => c.value);
      submit.disabled = true;
      try {
        const c = await api.createCohort(n, chosen);
        if (!gone) navigate(`/cohorts/${encodeURIComponent(c.id)}`);
      } catch (err) {
        if (err.loginRequired) return;
        setChildren(error, h("strong", richText(err.message)), err.advice && h("div.login-advice", richText(err.advice)));
        error.hidden = false;
      } finally {
        submit.disabled = false;
      }
    },
  },
  h("h2.panel-title#new-cohort-title", "New cohort"),
  h("div.field", h("label", { for: "cohort-name" }, "Name"), name),
  h("fieldset.lab-fieldset",
    h("legend", "Labs its learners see"),
    labsBox),
  error,
  h("div", submit));
  name.addEventListener("input", () => name.removeAttribute("aria-invalid"));

  setChildren(root, h("main.catalog.wide", { id: "main" },
    h("div.catalog-head",
      h("h1", "Cohorts"),
      h("p.lead", "A cohort is a group of learners and the labs they see. Invite learners with a link, then follow their progress on the cohort's dashboard.",
        me.user && me.user.role === "admin" ? " As an admin you see every cohort." : "")),
    h("div.cohorts-layout",
      h("section.panel", { "aria-labelledby": "cohort-list-title" }, h("h2.panel-title#cohort-list-title", "Your cohorts"), list),
      form)));

  async function loadLabs() {
    try {
      labs = (await api.labs()) || [];
      if (gone) return;
      if (!labs.length) {
        setChildren(labsBox, h("p.muted.small", "No labs are installed on this server yet."));
        return;
      }
      setChildren(labsBox, labChoices(labs, new Set(labs.map((l) => l.id)), "cohort-lab"));
    } catch (e) {
      if (!gone) setChildren(labsBox, loadError(e, loadLabs));
    }
  }

  async function loadCohorts() {
    list.setAttribute("aria-busy", "true");
    try {
      const cs = (await api.cohorts()) || [];
      if (gone) return;
      list.removeAttribute("aria-busy");
      if (!cs.length) {
        setChildren(list, h("p.muted.empty", { "data-testid": "cohort-list" }, "No cohorts yet. Create the first one with the form."));
        return;
      }
      cs.sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at));
      setChildren(list, h("table.table", { "data-testid": "cohort-list" },
        h("thead", h("tr", h("th", { scope: "col" }, "Name"), h("th.num", { scope: "col" }, "Learners"), h("th.num", { scope: "col" }, "Labs"), h("th", { scope: "col" }, "Created"))),
        h("tbody", cs.map((c) => h("tr", { "data-testid": `cohort-${c.id}` },
          h("td", pageLink(`/cohorts/${encodeURIComponent(c.id)}`, navigate, { class: "strong-link", "data-testid": `cohort-link-${c.id}` }, c.name)),
          h("td.num", String(c.members)),
          h("td.num", labs.length ? `${c.labs.length} of ${labs.length}` : String(c.labs.length)),
          h("td.muted", dateTime(c.created_at)))))));
    } catch (e) {
      if (gone) return;
      list.removeAttribute("aria-busy");
      setChildren(list, loadError(e, loadCohorts));
    }
  }

  loadLabs().then(loadCohorts);
  return () => {
    gone = true;
  };
}

/**
 * labChoices(labs, checked, idPrefix) → a checkbox per lab (value = lab
 * id, data-testid = `${idPrefix}-${id}`) with All / None buttons.
 */
export function labChoices(labs, checked, idPrefix, onChange) {
  const boxes = labs.map((l) => h("input", {
    type: "checkbox",
    id: `${idPrefix}-${l.id}`,
    value: l.id,
    checked: checked.has(l.id),
    "data-testid": `${idPrefix}-${l.id}`,
    onchange: () => onChange && onChange(),
  }));
  const setAll = (on) => {
    for (const b of boxes) b.checked = on;
    if (onChange) onChange();
  };
  return h("div.lab-choice-list",
    h("div.choice-tools", h("button.link.small", { type: "button", onclick: () => setAll(true) }, "All"), h("span.muted", " · "),
      h("button.link.small", { type: "button", onclick: () => setAll(false) }, "None")),
    labs.map((l, i) => h("label.choice", { for: `${idPrefix}-${l.id}` }, boxes[i],
      h("span.choice-text", h("span.choice-title", l.title || l.id), h("code.choice-id", l.id)))));
}
