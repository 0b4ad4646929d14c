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

/** request(method, path, body?) → parsed JSON (or null for an empty body). */
export async function request(method, path, body) {
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
    if (res.status === 401 && path !== "/api/login") {
      err.loginRequired = true;
      if (loginRequired) loginRequired(err);
    }
    throw err;
  }
  return data;
}

const enc = encodeURIComponent;

export const api = {
  me: () => request("GET", "/api/me"),
  login: (login, password) => request("POST", "/api/login", { login, password }),
  logout: () => request("POST", "/api/logout"),
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
};

/** wsURL("/api/…") → ws(s)://host/api/… on this page's origin. */
export function wsURL(path) {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  return `${proto}//${location.host}${path}`;
}

export const paths = {
  events: (sid) => `/api/sessions/${enc(sid)}/events`,
  terminal: (sid, tid) => `/api/sessions/${enc(sid)}/terminals/${enc(tid)}/ws`,
};
