// A terminal tab: xterm.js attached over a WebSocket to a shell in the
// learner's workspace (protocol backlab.terminal.v1).
//
// Binary frames carry bytes both ways; text frames carry JSON control
// messages: we send {"type":"resize"}, the server sends {"type":"exit"}.
// On every (re)connect the server first replays recent scrollback, so the
// screen is cleared before writing. A connection that drops without an
// exit reconnects by itself with backoff, to the same terminal id.
import { Terminal } from "@xterm/xterm";
import { FitAddon } from "@xterm/addon-fit";
import { WebLinksAddon } from "@xterm/addon-web-links";
import { h } from "./dom.js";
import { api, paths, wsURL } from "./api.js";
import { copyText } from "./dom.js";

const PROTOCOL = "backlab.terminal.v1";
const encoder = new TextEncoder();

/** What `window.backlab.terms` holds: terminal id → xterm Terminal. */
export const terms = new Map();

const theme = {
  background: "#12151c",
  foreground: "#d8dee9",
  cursor: "#f0c674",
  cursorAccent: "#12151c",
  selectionBackground: "#3b4f7a",
  black: "#1d2129", red: "#e06c75", green: "#98c379", yellow: "#e5c07b",
  blue: "#61afef", magenta: "#c678dd", cyan: "#56b6c2", white: "#d8dee9",
  brightBlack: "#5c6370", brightRed: "#ff7b86", brightGreen: "#b5e890", brightYellow: "#ffd68a",
  brightBlue: "#82c4ff", brightMagenta: "#dd9bf0", brightCyan: "#7fd3dd", brightWhite: "#ffffff",
};

/** Close codes the server uses, with a reason string. */
const CLOSE_UNKNOWN = 4404; // unknown terminal: open a new one
const CLOSE_FORBIDDEN = 4403; // not allowed
const CLOSE_NOT_RUNNING = 4409; // session not running
const CLOSE_FELL_BEHIND = 4408; // the page read too slowly: reconnect

export class TerminalTab {
  /**
   * @param {object} o
   * @param {string} o.sid session id
   * @param {{id:string,title:string}} o.info terminal id and title
   * @param {(t: TerminalTab) => void} o.onRetitle called when the id or title changes
   * @param {(reason: string) => void} o.onNotRunning called on close code 4409
   * @param {() => void} o.onInput called on learner input (activity)
   */
  constructor({ sid, info, onRetitle, onNotRunning, onInput }) {
    this.sid = sid;
    this.tid = info.id;
    this.title = info.title || `Terminal ${info.id}`;
    this.onRetitle = onRetitle || (() => {});
    this.onNotRunning = onNotRunning || (() => {});
    this.onInput = onInput || (() => {});
    this.ws = null;
    this.exited = false; // the shell ended; Enter opens a new one
    this.disposed = false;
    this.backoff = 500;
    this.retryTimer = 0;
    this.replacing = false;

    this.overlay = h("div.term-overlay", { hidden: true, "aria-live": "polite" });
    this.screen = h("div.term-screen");
    this.el = h("div.term-pane", { role: "tabpanel", "data-testid": `terminal-${this.tid}` }, this.screen, this.overlay);

    this.term = new Terminal({
      theme,
      fontFamily: 'ui-monospace, "DejaVu Sans Mono", "Cascadia Mono", Menlo, Consolas, monospace',
      fontSize: 14,
      lineHeight: 1.15,
      cursorBlink: true,
      scrollback: 5000,
      allowProposedApi: false,
      rightClickSelectsWord: true,
      macOptionIsMeta: true,
    });
    this.fit = new FitAddon();
    this.term.loadAddon(this.fit);
    this.term.loadAddon(new WebLinksAddon());
    this.term.open(this.screen);
    terms.set(this.tid, this.term);

    this.term.onData((d) => this.input(d));
    this.term.onBinary((d) => {
      const b = new Uint8Array(d.length);
      for (let i = 0; i < d.length; i++) b[i] = d.charCodeAt(i) & 0xff;
      this.sendBytes(b);
    });
    this.term.onResize(({ cols, rows }) => this.sendControl({ type: "resize", cols, rows }));
    this.term.attachCustomKeyEventHandler((e) => this.key(e));

    // Fit on any size change: window resize, pane drag, tab switch (a
    // hidden pane has no size and is skipped until it shows).
    this.resizeObs = new ResizeObserver(() => this.refit());
    this.resizeObs.observe(this.screen);
    this.connect();
  }

  /** Ctrl-Shift-C copies the selection, Ctrl-Shift-V pastes (browser paste event). */
  key(e) {
    const mod = e.ctrlKey && e.shiftKey && !e.altKey && !e.metaKey;
    if (mod && (e.key === "C" || e.key === "c")) {
      if (e.type === "keydown") {
        e.preventDefault(); // not the browser's inspector
        const sel = this.term.getSelection();
        if (sel) copyText(sel);
      }
      return false;
    }
    if (mod && (e.key === "V" || e.key === "v")) {
      // Let the browser fire its paste event on xterm's textarea, which
      // xterm turns into input (bracketed paste when the shell asks).
      return false;
    }
    return true;
  }

  input(data) {
    if (this.exited) {
      if (data.includes("\r")) this.replace();
      return;
    }
    this.onInput();
    this.sendBytes(encoder.encode(data));
  }

  sendBytes(bytes) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(bytes);
  }

  sendControl(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  /** Types text into the shell (used by the instructions' code blocks). */
  paste(text) {
    if (this.exited) return;
    this.term.paste(text);
    this.term.focus();
  }

  connect() {
    if (this.disposed) return;
    clearTimeout(this.retryTimer);
    const ws = new WebSocket(wsURL(paths.terminal(this.sid, this.tid)), PROTOCOL);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.backoff = 500;
      this.showOverlay("");
      this.term.reset(); // the server replays scrollback first
      this.refit();
      this.sendControl({ type: "resize", cols: this.term.cols, rows: this.term.rows });
    };
    ws.onmessage = (ev) => {
      if (typeof ev.data !== "string") {
        this.term.write(new Uint8Array(ev.data));
        return;
      }
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (msg.type === "exit") {
        this.exited = true;
        const code = msg.code ? ` (status ${msg.code})` : "";
        this.term.write(`\r\n\x1b[2m[shell exited${code} — press Enter for a new one]\x1b[0m\r\n`);
      }
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws || this.disposed) return;
      this.ws = null;
      if (this.exited) return;
      const reason = ev.reason || "";
      if (ev.code === CLOSE_UNKNOWN) {
        this.showOverlay(`This terminal is gone${reason ? ` (${reason})` : ""}; opening a new one…`);
        this.replace();
        return;
      }
      if (ev.code === CLOSE_FORBIDDEN) {
        this.showOverlay(`Not allowed: ${reason || "this terminal belongs to another session"}. Reload the page.`, true);
        return;
      }
      if (ev.code === CLOSE_NOT_RUNNING) {
        this.showOverlay(reason || "The sandbox is not running.", true);
        this.onNotRunning(reason);
        return;
      }
      if (ev.code >= 4000 && ev.code !== CLOSE_FELL_BEHIND) {
        this.showOverlay(reason || `The terminal closed (code ${ev.code}).`, true);
        return;
      }
      // Dropped: try again, 0.5 s doubling to 5 s.
      this.showOverlay(opened ? "reconnecting…" : "connecting…");
      this.retryTimer = setTimeout(() => this.connect(), this.backoff);
      this.backoff = Math.min(this.backoff * 2, 5000);
    };
  }

  /** Opens a new shell in place of this one (after exit, or 4404). */
  async replace() {
    if (this.replacing || this.disposed) return;
    this.replacing = true;
    try {
      const info = await api.newTerminal(this.sid);
      if (this.disposed) return;
      if (this.ws) {
        const old = this.ws;
        this.ws = null;
        old.close();
      }
      terms.delete(this.tid);
      this.tid = info.id;
      this.title = info.title || this.title;
      terms.set(this.tid, this.term);
      this.el.dataset.testid = `terminal-${this.tid}`;
      this.exited = false;
      this.onRetitle(this);
      this.connect();
    } catch (e) {
      this.showOverlay(`Could not open a new shell: ${e.message}${e.advice ? " — " + e.advice : ""}`, true, () => this.replace());
    } finally {
      this.replacing = false;
    }
  }

  /** Shows text over the terminal ("" hides it); sticky ones get a Retry button when given. */
  showOverlay(text, sticky = false, retry = null) {
    this.overlay.hidden = !text;
    this.overlay.className = sticky ? "term-overlay term-overlay-error" : "term-overlay";
    this.overlay.replaceChildren(
      h("span", !sticky && h("span.spinner", { "aria-hidden": "true" }), text),
      retry && h("button.btn.btn-small", { type: "button", onclick: retry }, "Retry"),
    );
  }

  refit() {
    if (this.disposed || !this.screen.offsetParent) return;
    try {
      const dims = this.fit.proposeDimensions();
      if (dims && dims.cols > 1 && dims.rows > 1 && (dims.cols !== this.term.cols || dims.rows !== this.term.rows)) {
        this.fit.fit(); // onResize sends the new size
      }
    } catch {}
  }

  focus() {
    this.term.focus();
  }

  dispose() {
    this.disposed = true;
    clearTimeout(this.retryTimer);
    this.resizeObs.disconnect();
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.close();
    }
    terms.delete(this.tid);
    this.term.dispose();
    this.el.remove();
  }
}
