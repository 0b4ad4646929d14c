// Visible errors: every failed request ends up here (never a silent
// spinner). Messages stack at the top of the page until dismissed.
import { h, richText } from "./dom.js";

let region;

function ensureRegion() {
  if (!region) {
    region = h("div.notices", { role: "region", "aria-label": "Messages", "data-testid": "notices" });
    document.body.append(region);
  }
  return region;
}

/**
 * showError(err, {retry}) shows err.message and err.advice; retry, if
 * given, adds a Retry button. Identical messages are not repeated; "log in
 * first" (err.loginRequired) is not shown, as the login form replaces the page.
 */
export function showError(err, opts = {}) {
  if (err && err.loginRequired) return () => {}; // the login form says it
  const r = ensureRegion();
  const msg = err && err.message ? err.message : String(err);
  const advice = (err && err.advice) || "";
  for (const n of r.children) if (n.dataset.msg === msg) n.remove();
  const close = () => node.remove();
  const node = h(
    "div.notice.notice-error",
    { role: "alert", "data-msg": msg, "data-testid": "error" },
    h("div.notice-body", h("strong", richText(msg)), advice && h("div.notice-advice", richText(advice))),
    opts.retry &&
      h("button.btn.btn-small", { type: "button", onclick: () => (close(), opts.retry()) }, "Retry"),
    h("button.notice-close", { type: "button", "aria-label": "Dismiss", onclick: close }, "×"),
  );
  r.append(node);
  return close;
}

/** A short-lived confirmation ("Copied"). */
export function toast(text) {
  const r = ensureRegion();
  const node = h("div.notice.notice-info", { role: "status" }, text);
  r.append(node);
  setTimeout(() => node.remove(), 2500);
}

/** Removes every message (on page change). */
export function clearNotices() {
  if (region) region.replaceChildren();
}

/**
 * confirmDialog({title, body, ok}) → Promise<boolean>, a modal <dialog>
 * (keyboard usable, and easy for a test to click, unlike window.confirm).
 */
export function confirmDialog({ title, body, ok = "OK", danger = false }) {
  return new Promise((resolve) => {
    const dlg = h(
      "dialog.dialog",
      { "aria-labelledby": "dialog-title", "data-testid": "confirm-dialog" },
      h("form", { method: "dialog" },
        h("h2#dialog-title", title),
        h("p", richText(body)),
        h("div.dialog-buttons",
          h("button.btn", { value: "cancel", "data-testid": "confirm-cancel" }, "Cancel"),
          h(danger ? "button.btn.btn-danger" : "button.btn.btn-primary", { value: "ok", "data-testid": "confirm-ok", autofocus: true }, ok),
        ),
      ),
    );
    dlg.addEventListener("close", () => {
      resolve(dlg.returnValue === "ok");
      dlg.remove();
    });
    document.body.append(dlg);
    dlg.showModal();
  });
}
