// Tiny DOM helpers: h() builds elements, so no framework is needed.

/**
 * h("div.card#x", {onclick, "data-testid": "…"}, child, …) → HTMLElement.
 * Children may be strings, nodes, arrays, null/false (skipped).
 */
export function h(tag, attrs, ...children) {
  const m = /^([a-z0-9-]+)((?:[.#][\w-]+)*)$/i.exec(tag);
  const el = document.createElement(m ? m[1] : tag);
  if (m && m[2]) {
    for (const part of m[2].match(/[.#][\w-]+/g)) {
      if (part[0] === ".") el.classList.add(part.slice(1));
      else el.id = part.slice(1);
    }
  }
  if (attrs && (typeof attrs !== "object" || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "html") el.innerHTML = v; // only for server-rendered lab Markdown
    else if (k === "style" && typeof v === "object") Object.assign(el.style, v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c == null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces el's children. */
export function setChildren(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/**
 * Plain text with `backticks` rendered as <code>: server messages and
 * advice ("run `bash scripts/engine.sh` and retry") read better that way.
 */
export function richText(text) {
  const out = [];
  String(text || "").split(/(`[^`]+`)/).forEach((part) => {
    if (part.length > 2 && part.startsWith("`") && part.endsWith("`")) out.push(h("code", part.slice(1, -1)));
    else if (part) out.push(part);
  });
  return out;
}

/** "3 s", "1 min 5 s", "2 h 3 min". */
export function duration(ms) {
  if (ms == null || isNaN(ms)) return "";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** Local clock time of an ISO timestamp, e.g. "14:03:27". */
export function clock(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return "";
  return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

/** Number with at most 3 significant decimals, "12.3", "1,204". */
export function num(v) {
  if (typeof v !== "number") return String(v ?? "");
  return v.toLocaleString(undefined, { maximumFractionDigits: Math.abs(v) < 10 ? 3 : 1 });
}

/** Copies text to the clipboard, with a fallback for non-secure origins. */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const ta = h("textarea", { style: { position: "fixed", opacity: "0" } }, text);
    document.body.append(ta);
    ta.select();
    let ok = false;
    try {
      ok = document.execCommand("copy");
    } catch {}
    ta.remove();
    return ok;
  }
}

/** A time span in seconds, short: "45s", "12m 5s", "3h 12m", "2d 4h". */
export function span(sec) {
  if (sec == null || isNaN(sec)) return "";
  const s = Math.max(0, Math.round(sec));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

/** Local date and time of an ISO timestamp, e.g. "24 Nov, 14:03". */
export function dateTime(iso) {
  const d = new Date(iso);
  if (!iso || isNaN(d)) return "";
  return d.toLocaleString([], { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
}

/** How far an ISO timestamp is from now: "in 13 days", "5 min ago", "just now". */
export function fromNow(iso) {
  const t = Date.parse(iso);
  if (isNaN(t)) return "";
  const diff = (t - Date.now()) / 1000;
  const a = Math.abs(diff);
  if (a < 45) return "just now";
  const [n, unit] = a < 3600 ? [Math.round(a / 60), "min"] : a < 86400 ? [Math.round(a / 3600), "h"] : [Math.round(a / 86400), "day"];
  const label = unit === "day" && n !== 1 ? "days" : unit;
  return diff > 0 ? `in ${n} ${label}` : `${n} ${label} ago`;
}

/**
 * A link inside the page: a plain click calls navigate(href) instead of
 * loading the page again; other clicks (new tab, …) work as links do.
 */
export function pageLink(href, navigate, attrs, ...children) {
  if (attrs && (typeof attrs !== "object" || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  return h("a", {
    ...(attrs || {}),
    href,
    onclick: (e) => {
      if (e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
      e.preventDefault();
      navigate(href);
    },
  }, ...children);
}

/**
 * A failed load shown in place of the content, with a Retry button unless
 * the server refused for good (403, 404).
 */
export function loadError(e, retry) {
  const final = e.status === 403 || e.status === 404;
  return h("div.panel-error", { role: "alert", "data-testid": "load-error" },
    h("strong", richText(e.message)), e.advice && h("p", richText(e.advice)),
    retry && !final && h("button.btn", { type: "button", onclick: retry }, "Retry"));
}
