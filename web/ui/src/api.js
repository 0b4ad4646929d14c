// The JSON API client: every call goes through request(), which adds the
// CSRF header to requests that change something and turns any failure into
// an ApiError with a message and advice a person can act on. A 401 (the
// server needs a login, or the login expired) also calls the handler set
// with onLoginRequired, which shows the login form.

/** ApiError is a failed request: message says what went wrong, advice what to do. */
export class ApiError extends Error {
  constructor(message, advice, status) {
    super(message);
    this.advice = advice || "";
    this.status = status || 0;
  }
}

let loginRequired = null;

/**
 * onLoginRequired(fn): fn(err) runs whenever a call other than POST
 * /api/login answers 401; err.loginRequired is then true, so callers and
 * showError can leave the message to the login form.
 */
export function onLoginRequired(fn) {
  loginRequired = fn;
}

function csrfToken() {
  const m = /(?:^|;\s*)backlab_csrf=([^;]*)/.exec(document.cookie);
  return m ? decodeURIComponent(m[1]) : "";
}

/**
 * request(method, path, body?, opts?) → parsed JSON (or null for an empty
 * body). opts.anonymousOk: a 401 is only thrown, not handed to the login
 * handler (public pages ask /api/me to learn whether someone is logged in).
 */
export async function request(method, path, body, opts = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET" && method !== "HEAD") {
    let token = csrfToken();
    if (!token) {
      // The server sets the cookie on any GET; make one if the page was cached.
      await fetch("/api/me", { credentials: "same-origin" }).catch(() => {});
      token = csrfToken();
    }
    headers["X-Backlab-CSRF"] = token;
  }
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(
      "The backlab server did not answer.",
      "Check that `backlab serve` is still running and that this machine can reach it, then retry.",
    );
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      if (res.ok) throw new ApiError(`The server sent something that is not JSON for ${method} ${path}.`, "Reload the page; if it persists, the server log has the details.", res.status);
    }
  }
  if (!res.ok) {
    const msg = (data && data.error) || `${method} ${path} failed with HTTP ${res.status} ${res.statusText}.`;
    const advice = (data && data.advice) || (res.status >= 500 ? "Try again; if it keeps failing, the server log has the details." : "");
    const err = new ApiError(msg, advice, res.status);
    if (res.status === 401 && path !== "/api/login" && !opts.anonymousOk) {
      err.loginRequired = true;
      if (loginRequired) loginRequired(err);
    }
    throw err;
  }
  return data;
}

const enc = encodeURIComponent;

export const api = {
  me: (opts) => request("GET", "/api/me", undefined, opts),
  login: (login, password) => request("POST", "/api/login", { login, password }),
  logout: () => request("POST", "/api/logout"),
  changePassword: (current, next) => request("POST", "/api/me/password", { current, new: next }),
  labs: () => request("GET", "/api/labs"),
  lab: (id) => request("GET", `/api/labs/${enc(id)}`),
  openSession: (lab) => request("POST", "/api/sessions", { lab }),
  session: (sid) => request("GET", `/api/sessions/${enc(sid)}`),
  reset: (sid) => request("POST", `/api/sessions/${enc(sid)}/reset`),
  stop: (sid) => request("POST", `/api/sessions/${enc(sid)}/stop`),
  keepalive: (sid) => request("POST", `/api/sessions/${enc(sid)}/keepalive`),
  hint: (sid, task) => request("POST", `/api/sessions/${enc(sid)}/tasks/${enc(task)}/hints`),
  newTerminal: (sid) => request("POST", `/api/sessions/${enc(sid)}/terminals`),
  terminals: (sid) => request("GET", `/api/sessions/${enc(sid)}/terminals`),
  files: (sid) => request("GET", `/api/sessions/${enc(sid)}/files`),
  readFile: (sid, path) => request("GET", `/api/sessions/${enc(sid)}/file?path=${enc(path)}`),
  writeFile: (sid, path, content) => request("PUT", `/api/sessions/${enc(sid)}/file?path=${enc(path)}`, { content }),
  startCheck: (sid) => request("POST", `/api/sessions/${enc(sid)}/checks`),
  checks: (sid) => request("GET", `/api/sessions/${enc(sid)}/checks`),

  // Invites and sign-up (public, except joining with an account).
  invite: (code) => request("GET", `/api/invites/${enc(code)}`),
  signup: (invite, login, name, password) => request("POST", "/api/signup", { invite, login, name, password }),
  joinCohort: (code) => request("POST", `/api/invites/${enc(code)}/join`),

  // Cohorts (instructors and admins).
  cohorts: () => request("GET", "/api/cohorts"),
  createCohort: (name, labs) => request("POST", "/api/cohorts", labs ? { name, labs } : { name }),
  cohort: (cid) => request("GET", `/api/cohorts/${enc(cid)}`),
  renameCohort: (cid, name) => request("PATCH", `/api/cohorts/${enc(cid)}`, { name }),
  setCohortLabs: (cid, labs) => request("PUT", `/api/cohorts/${enc(cid)}/labs`, { labs }),
  createInvite: (cid, body) => request("POST", `/api/cohorts/${enc(cid)}/invites`, body),
  revokeInvite: (cid, code) => request("DELETE", `/api/cohorts/${enc(cid)}/invites/${enc(code)}`),
  removeLearner: (cid, uid) => request("DELETE", `/api/cohorts/${enc(cid)}/learners/${enc(uid)}`),
  progress: (cid) => request("GET", `/api/cohorts/${enc(cid)}/progress`),
  learnerChecks: (cid, uid) => request("GET", `/api/cohorts/${enc(cid)}/learners/${enc(uid)}/checks`),
  learnerCheck: (cid, uid, run) => request("GET", `/api/cohorts/${enc(cid)}/learners/${enc(uid)}/checks/${enc(run)}`),
};

/** wsURL("/api/…") → ws(s)://host/api/… on this page's origin. */
export function wsURL(path) {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  return `${proto}//${location.host}${path}`;
}

export const paths = {
  progressCSV: (cid) => `/api/cohorts/${enc(cid)}/progress.csv`,
  events: (sid) => `/api/sessions/${enc(sid)}/events`,
  terminal: (sid, tid) => `/api/sessions/${enc(sid)}/terminals/${enc(tid)}/ws`,
};
