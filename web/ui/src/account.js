// The account page, /account: who is logged in, and a form to change the
// password (the current one first). Changing it logs out every other
// browser of the account; this one stays logged in.
import { h, setChildren, richText } from "./dom.js";
import { api } from "./api.js";

const MIN_PASSWORD = 10; // auth.MinPasswordLen

/** accountPage(root, {me}) renders the page; returns a cleanup function. */
export function accountPage(root, { me }) {
  document.title = "Your account · backlab";
  const u = me.user || {};
  const field = (id, label, autocomplete) => {
    const input = h(`input#${id}`, { type: "password", autocomplete, "data-testid": id });
    input.addEventListener("input", () => input.removeAttribute("aria-invalid"));
    return [input, h("div.field", h("label", { for: id }, label), input)];
  };
  const [current, currentField] = field("pw-current", "Current password", "current-password");
  const [next, nextField] = field("pw-new", `New password (at least ${MIN_PASSWORD} characters)`, "new-password");
  const [again, againField] = field("pw-again", "New password again", "new-password");
  const message = h("div", { role: "status", "data-testid": "pw-message", hidden: true });
  const submit = h("button.btn.btn-primary", { type: "submit", "data-testid": "pw-submit" }, "Change password");
  let gone = false;

  const say = (ok, text, advice, bad) => {
    message.className = ok ? "notice-ok" : "login-error";
    setChildren(message, h("strong", richText(text)), advice && h("div.login-advice", richText(advice)));
    message.hidden = false;
    if (bad) {
      bad.setAttribute("aria-invalid", "true");
      bad.focus();
    }
  };

  const form = h("form.panel.stack.account-form", {
    "data-testid": "pw-form",
    "aria-labelledby": "pw-title",
    novalidate: true,
    onsubmit: async (e) => {
      e.preventDefault();
      message.hidden = true;
      if (!current.value) return say(false, "Enter your current password.", "", current);
      if ([...next.value].length < MIN_PASSWORD) return say(false, `The new password needs at least ${MIN_PASSWORD} characters.`, "", next);
      if (next.value !== again.value) return say(false, "The two new passwords differ.", "Type the same new password twice.", again);
      submit.disabled = true;
      try {
        await api.changePassword(current.value, next.value);
        if (gone) return;
        for (const i of [current, next, again]) i.value = "";
        say(true, "Your password is changed.", "Other browsers logged in as you are logged out; this one stays logged in.");
      } catch (err) {
        if (err.loginRequired || gone) return;
        if (err.status === 403) current.value = ""; // wrong: type it again
        say(false, err.message, err.advice, err.status === 403 ? current : err.status === 400 ? next : null);
      } finally {
        submit.disabled = false;
      }
    },
  },
  h("h2.panel-title#pw-title", "Change your password"),
  currentField, nextField, againField, message, h("div", submit));

  setChildren(root, h("main.catalog", { id: "main" },
    h("div.catalog-head",
      h("h1", "Your account"),
      h("p.lead", { "data-testid": "account-who" }, `${u.name || u.id || ""}`, u.role ? ` · ${u.role}` : "")),
    me.auth ? form : h("p.muted", "This server needs no login, so there is no password to change.")));
  return () => {
    gone = true;
  };
}
