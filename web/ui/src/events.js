// The session's event stream (WebSocket, protocol backlab.events.v1): JSON
// text frames, the first one the session itself. It reconnects by itself
// when dropped, 0.5 s doubling to 5 s. A socket cannot tell why the server
// refused it, so a failed connect asks GET /api/me, which shows the login
// form if the login expired.
import { api, paths, wsURL } from "./api.js";

const PROTOCOL = "backlab.events.v1";

export class EventStream {
  /**
   * @param {string} sid
   * @param {(ev: object) => void} onEvent
   * @param {(status: {connected: boolean, reason?: string, final?: boolean}) => void} onStatus
   */
  constructor(sid, onEvent, onStatus) {
    this.sid = sid;
    this.onEvent = onEvent;
    this.onStatus = onStatus || (() => {});
    this.backoff = 500;
    this.closed = false;
    this.timer = 0;
    this.connect();
  }

  connect() {
    if (this.closed) return;
    const ws = new WebSocket(wsURL(paths.events(this.sid)), PROTOCOL);
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.backoff = 500;
      this.onStatus({ connected: true });
    };
    ws.onmessage = (m) => {
      if (typeof m.data !== "string") return;
      let ev;
      try {
        ev = JSON.parse(m.data);
      } catch {
        return;
      }
      try {
        this.onEvent(ev);
      } catch (e) {
        console.error("backlab: handling event", ev, e);
      }
    };
    ws.onclose = (e) => {
      if (this.ws !== ws || this.closed) return;
      if (e.code >= 4000 && e.code !== 4408 && e.code !== 4409) {
        // The server refused for good (e.g. 4404 no such session); 4408
        // (fell behind) and anything else reconnect.
        this.onStatus({ connected: false, final: true, reason: e.reason || `the event stream closed (code ${e.code})` });
        return;
      }
      if (!opened) api.me().catch(() => {}); // a 401 shows the login form
      this.onStatus({ connected: false, reason: e.reason });
      this.timer = setTimeout(() => this.connect(), this.backoff);
      this.backoff = Math.min(this.backoff * 2, 5000);
    };
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close();
  }
}
