package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/backlab/backlab/internal/session"
	"github.com/backlab/backlab/runner"
)

// WebSocket subprotocols. A client names the version it speaks; a server
// that does not speak it refuses the upgrade.
const (
	TerminalProtocol = "backlab.terminal.v1"
	EventsProtocol   = "backlab.events.v1"
)

// Close codes the terminal socket uses besides the standard ones; the
// reason text says what happened.
const (
	CloseBadMessage = 4400 // a control frame that is not understood
	CloseNoTerminal = 4404 // the terminal does not exist (any more)
	CloseFellBehind = 4408 // the client read too slowly; reconnect
	CloseNotRunning = 4409 // the session's sandbox is not running
	CloseTooMany    = 4429 // too many sockets of the user or session (see SocketLimits)
)

var defaultSize = runner.TermSize{Cols: 80, Rows: 24}

const (
	pingEvery   = 20 * time.Second
	readTimeout = 60 * time.Second
	writeWait   = 10 * time.Second
	// maxInput bounds one frame from the browser (a paste).
	maxInput = 64 << 10
)

// writeBuffers lends sockets their write buffer while they write, so that
// an idle socket holds none.
var writeBuffers sync.Pool

func (s *Server) upgrader(proto string) *websocket.Upgrader {
	return &websocket.Upgrader{
		ReadBufferSize: 32 << 10, WriteBufferSize: 32 << 10, WriteBufferPool: &writeBuffers,
		Subprotocols: []string{proto},
		CheckOrigin:  s.checkOrigin,
		Error: func(w http.ResponseWriter, r *http.Request, status int, reason error) {
			writeError(w, status, "WebSocket upgrade refused: "+reason.Error(), "")
		},
	}
}

// upgrade checks the subprotocol, the origin and the socket limits of
// the user and session, and upgrades; it has answered the request itself
// when it returns nil. release uncounts the socket: call it before
// closing, so that a page that reconnects at once finds its place free.
func (s *Server) upgrade(w http.ResponseWriter, r *http.Request, proto string, sess *session.Session) (c *websocket.Conn, release func()) {
	if !slices.Contains(websocket.Subprotocols(r), proto) {
		writeError(w, http.StatusBadRequest, "this WebSocket speaks subprotocol "+proto+"; ask for it in Sec-WebSocket-Protocol", "reload the page to get the current client")
		return nil, nil
	}
	if !s.checkOrigin(r) {
		s.log.Warn("refused WebSocket from another origin", "origin", r.Header.Get("Origin"), "path", r.URL.Path)
		writeError(w, http.StatusForbidden, "WebSocket from origin "+r.Header.Get("Origin")+" refused", "open "+s.cfg.PublicURL.String())
		return nil, nil
	}
	// Counted before the upgrade, so that a client sees a socket counted
	// once it is open. A refusal upgrades and closes with a reason: a
	// browser's page sees no HTTP status of a WebSocket, only the close.
	release, refused := s.sockets.acquire(s.user(r).ID, sess.ID)
	c, err := s.upgrader(proto).Upgrade(w, r, nil)
	if err != nil {
		if release != nil {
			release()
		}
		return nil, nil
	}
	limitSendBuffer(c.NetConn())
	if refused != "" {
		s.log.Warn("refused WebSocket: too many open", "user", s.user(r).ID, "session", sess.ID, "path", r.URL.Path)
		closeWith(c, CloseTooMany, refused)
		return nil, nil
	}
	c.SetReadLimit(maxInput)
	return c, release
}

func closeWith(c *websocket.Conn, code int, reason string) {
	msg := websocket.FormatCloseMessage(code, reason)
	c.WriteControl(websocket.CloseMessage, msg, time.Now().Add(writeWait))
	c.Close()
}

// control is a JSON text frame of the terminal protocol.
type control struct {
	Type string `json:"type"`
	Cols uint16 `json:"cols,omitempty"`
	Rows uint16 `json:"rows,omitempty"`
	Code *int   `json:"code,omitempty"`
}

// terminalWS bridges a browser terminal to a shell: binary frames carry
// bytes both ways, JSON text frames carry control (resize from the
// browser, exit from the server). On connect the recent output is
// replayed, so a reconnecting page gets its screen back.
func (s *Server) terminalWS(w http.ResponseWriter, r *http.Request, sess *session.Session) {
	c, release := s.upgrade(w, r, TerminalProtocol, sess)
	if c == nil {
		return
	}
	defer release()
	end := func(code int, reason string) {
		release()
		closeWith(c, code, reason)
	}
	defer s.cfg.Metrics.WebSocketOpened("terminal")()
	if sess.View().State != "ready" {
		end(CloseNotRunning, "the sandbox is not running")
		return
	}
	t, err := sess.Terminal(r.PathValue("tid"))
	if err != nil {
		end(CloseNoTerminal, "no such terminal; open a new one")
		return
	}
	replay, out, detach := t.Attach()
	defer detach()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()

	// Reader: input and control from the browser.
	readErr := make(chan error, 1)
	go func() {
		defer cancel()
		c.SetReadDeadline(time.Now().Add(readTimeout))
		c.SetPongHandler(func(string) error { return c.SetReadDeadline(time.Now().Add(readTimeout)) })
		for {
			kind, data, err := c.ReadMessage()
			if err != nil {
				readErr <- err
				return
			}
			c.SetReadDeadline(time.Now().Add(readTimeout))
			switch kind {
			case websocket.BinaryMessage:
				if _, err := t.Write(data); err != nil {
					readErr <- err
					return
				}
			case websocket.TextMessage:
				var m control
				if err := json.Unmarshal(data, &m); err != nil || m.Type != "resize" {
					readErr <- errBadControl
					return
				}
				if err := t.Resize(ctx, runner.TermSize{Cols: m.Cols, Rows: m.Rows}); err != nil {
					readErr <- errBadControl
					return
				}
			}
		}
	}()

	write := func(kind int, data []byte) error {
		c.SetWriteDeadline(time.Now().Add(writeWait))
		return c.WriteMessage(kind, data)
	}
	for len(replay) > 0 {
		n := min(len(replay), 32<<10)
		if write(websocket.BinaryMessage, replay[:n]) != nil {
			return
		}
		replay = replay[n:]
	}
	ping := time.NewTicker(pingEvery)
	defer ping.Stop()
	for {
		select {
		case o, ok := <-out:
			if !ok {
				end(CloseFellBehind, "the connection fell behind the terminal; reconnect")
				return
			}
			if o.Exited {
				code := o.Code
				b, _ := json.Marshal(control{Type: "exit", Code: &code})
				write(websocket.TextMessage, b)
				end(websocket.CloseNormalClosure, "the shell exited")
				return
			}
			if write(websocket.BinaryMessage, o.Data) != nil {
				return
			}
		case <-ping.C:
			if c.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)) != nil {
				return
			}
		case <-ctx.Done():
			select {
			case err := <-readErr:
				if errors.Is(err, errBadControl) {
					end(CloseBadMessage, "control frames must be JSON {\"type\":\"resize\",\"cols\":1-1000,\"rows\":1-1000}")
					return
				}
			default:
			}
			c.Close()
			return
		}
	}
}

var errBadControl = errors.New("bad control frame")

// events streams the session's messages as JSON text frames: first the
// session's state, then provisioning, check and idle events as they
// happen.
func (s *Server) events(w http.ResponseWriter, r *http.Request, sess *session.Session) {
	c, release := s.upgrade(w, r, EventsProtocol, sess)
	if c == nil {
		return
	}
	defer c.Close()
	defer release()
	defer s.cfg.Metrics.WebSocketOpened("events")()
	msgs, cancel := sess.Subscribe()
	defer cancel()
	ctx, stop := context.WithCancel(r.Context())
	defer stop()
	go func() {
		// The page sends nothing; reading notices when it goes away.
		defer stop()
		c.SetReadDeadline(time.Now().Add(readTimeout))
		c.SetPongHandler(func(string) error { return c.SetReadDeadline(time.Now().Add(readTimeout)) })
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	}()
	ping := time.NewTicker(pingEvery)
	defer ping.Stop()
	for {
		select {
		case m, ok := <-msgs:
			if !ok {
				release()
				closeWith(c, CloseFellBehind, "the connection fell behind; reconnect")
				return
			}
			var b []byte
			if m.Type == session.MsgSession {
				v, err := s.viewOf(ctx, sess)
				if err != nil {
					return
				}
				v.View = *m.Session
				b, _ = json.Marshal(struct {
					Type    string      `json:"type"`
					Session sessionView `json:"session"`
				}{"session", v})
			} else {
				b, _ = json.Marshal(m)
			}
			c.SetWriteDeadline(time.Now().Add(writeWait))
			if c.WriteMessage(websocket.TextMessage, b) != nil {
				return
			}
		case <-ping.C:
			if c.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)) != nil {
				return
			}
		case <-ctx.Done():
			return
		}
	}
}
