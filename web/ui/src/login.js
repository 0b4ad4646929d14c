// The login form, shown instead of the page whenever the server answers 401
// (see main.js). POST /api/login sets an HttpOnly cookie; the form only
// hands the user it returns to onLogin.
import { h, setChildren, richText } from "./dom.js";
import { api } from "./api.js";

/**
 * loginView({note, onLogin}) → the login page's <main>; note is the line
 * under the heading, onLogin(user) runs after a successful login.
 */
export function loginView({ note, onLogin }) {
  const name = h("input#login-name", {
    type: "text",
    name: "username",
    autocomplete: "username",
    autocapitalize: "none",
    spellcheck: "false",
    "data-testid": "login-name",
  });
  const password = h("input#login-password", {
    type: "password",
    name: "password",
    autocomplete: "current-password",
    "data-testid": "login-password",
  });
  const error = h("div.login-error", { role: "alert", "data-testid": "login-error", hidden: true });
  const submit = h("button.btn.btn-primary.login-submit", { type: "submit", "data-testid": "login-submit" }, "Log in");
  let busy = false;

  const showErr = (message, advice) => {
    setChildren(error, h("strong", richText(message)), advice && h("div.login-advice", richText(advice)));
    error.hidden = false;
    name.setAttribute("aria-invalid", "true");
    password.setAttribute("aria-invalid", "true");
  };

  const form = h("form.login-box", {
    "data-testid": "login-form",
    "aria-labelledby": "login-title",
    novalidate: true,
    onsubmit: async (e) => {
      e.preventDefault();
      if (busy) return;
      const login = name.value.trim();
      if (!login || !password.value) {
        showErr(login ? "Enter your password." : "Enter your login name.");
        (login ? password : name).focus();
        return;
      }
      busy = true;
      submit.disabled = true;
      submit.textContent = "Logging in…";
      try {
        const res = await api.login(login, password.value);
        password.value = "";
        onLogin(res && res.user ? res.user : { id: login, name: login });
      } catch (err) {
        showErr(err.message, err.advice);
        password.value = "";
        password.focus();
      } finally {
        busy = false;
        submit.disabled = false;
        submit.textContent = "Log in";
      }
    },
  },
  h("h1#login-title", "Log in"),
  note && h("p.login-note.muted", richText(note)),
  h("div.field", h("label", { for: "login-name" }, "Login name"), name),
  h("div.field", h("label", { for: "login-password" }, "Password"), password),
  error,
  submit);

  // Typing again clears the red marks, not the message.
  for (const input of [name, password]) input.addEventListener("input", () => input.removeAttribute("aria-invalid"));

  const main = h("main.login", { id: "main" }, form);
  main.focusFirst = () => (name.value ? password : name).focus();
  return main;
}
