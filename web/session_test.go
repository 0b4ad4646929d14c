package web

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/moby/moby/client"

	"github.com/backlab/backlab/internal/lab"
	"github.com/backlab/backlab/internal/labrun"
	"github.com/backlab/backlab/internal/session"
	"github.com/backlab/backlab/internal/testenv"
	"github.com/backlab/backlab/runner"
	"github.com/backlab/backlab/runner/docker"
	"github.com/backlab/backlab/runner/docker/images"
)

// newDockerServer is newServer with sandboxes on the real engine.
func newDockerServer(t testing.TB) *testServer {
	t.Helper()
	return newDockerServerWith(t, nil)
}

// newDockerServerWith serves l (nil: a scaffolded lab) with sandboxes on
// the real engine; opts adjust the configuration as for newServerWith.
func newDockerServerWith(t testing.TB, l *lab.Lab, opts ...func(*session.Config, *Config)) *testServer {
	t.Helper()
	testenv.NeedDocker(t)
	inst := "webtest-" + strings.ToLower(rand.Text())
	d, err := docker.New(context.Background(), docker.Options{Instance: inst})
	if err != nil {
		t.Fatal(err)
	}
	cli, err := client.New(client.FromEnv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close(); cli.Close() })
	b := &images.Builder{Docker: cli}
	imgs := func(ctx context.Context, l *lab.Lab, progress io.Writer) (runner.ImageSet, error) {
		bb := *b
		bb.Progress = progress
		return bb.Lab(ctx, l, true)
	}
	if l == nil {
		l = testenv.ScaffoldLab(t, "web-test")
	}
	return newServerWith(t, labrun.Runner{Driver: d, Instance: inst}, imgs, l, opts...)
}

// newFakeServer is newServer with sandboxes on a fake driver (no engine
// needed), serving a scaffolded lab.
func newFakeServer(t testing.TB) (*testServer, *testenv.FakeLabs) {
	t.Helper()
	l := testenv.ScaffoldLab(t, "web-test")
	fake := testenv.NewFakeLabs(t, l)
	return newServerWith(t, labrun.Runner{Driver: fake.Driver, Instance: "fake"}, fake.Images, l), fake
}

// dial opens a WebSocket as the page would.
func (ts *testServer) dial(t testing.TB, path, proto string) (*websocket.Conn, error) {
	t.Helper()
	u := "ws" + strings.TrimPrefix(ts.URL, "http") + path
	hdr := http.Header{"Origin": {ts.URL}}
	d := websocket.Dialer{Subprotocols: []string{proto}, HandshakeTimeout: 10 * time.Second}
	c, resp, err := d.Dial(u, hdr)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	return c, err
}

// event is what the events socket sends.
type event struct {
	Type    string `json:"type"`
	Run     string `json:"run"`
	Step    string `json:"step"`
	Outcome string `json:"outcome"`
	Service string `json:"service"`
	Session *struct {
		State     string `json:"state"`
		Error     string `json:"error"`
		Terminals []struct{ ID string }
	} `json:"session"`
}

func nextEvent(t testing.TB, c *websocket.Conn, match func(event) bool) []event {
	t.Helper()
	var seen []event
	c.SetReadDeadline(time.Now().Add(3 * time.Minute))
	for {
		_, data, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("events socket: %v (saw %d events)", err, len(seen))
		}
		var ev event
		if err := json.Unmarshal(data, &ev); err != nil {
			t.Fatalf("event is not JSON: %s", data)
		}
		seen = append(seen, ev)
		if ev.Session != nil && ev.Session.State == "failed" {
			t.Fatalf("session failed: %s", ev.Session.Error)
		}
		if match(ev) {
			return seen
		}
	}
}

// readTerm reads binary frames until the output holds want.
func readTerm(t testing.TB, c *websocket.Conn, want string) string {
	t.Helper()
	var got strings.Builder
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	for !strings.Contains(got.String(), want) {
		kind, data, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("terminal socket before %q: %v; got %q", want, err, got.String())
		}
		if kind == websocket.BinaryMessage {
			got.Write(data)
		}
	}
	return got.String()
}

func TestSessionOverHTTP(t *testing.T) {
	t.Parallel()
	ts, fake := newFakeServer(t)
	// The fake starts sandboxes at once: hold the start until the events
	// socket is open, as an engine's start takes long enough to.
	testSessionOverHTTP(t, ts, fake.Driver.Hold())
}

// TestSessionOverHTTPOnEngine is [TestSessionOverHTTP] with sandboxes on
// the real engine.
func TestSessionOverHTTPOnEngine(t *testing.T) {
	t.Parallel()
	testSessionOverHTTP(t, newDockerServer(t), func() {})
}

// testSessionOverHTTP drives a session through the API as the page does:
// events, terminals, files, hints, a check, another user's session, stop.
// release lets the sandbox start once the events socket is open.
func testSessionOverHTTP(t *testing.T, ts *testServer, release func()) {
	defer release()
	status, m, raw := ts.do(t, "POST", "/api/sessions", `{"lab":"web-test"}`, nil)
	if status != 201 || m["state"] != "starting" {
		t.Fatalf("open = %d %s", status, raw)
	}
	sid := m["id"].(string)
	evc, err := ts.dial(t, "/api/sessions/"+sid+"/events", EventsProtocol)
	if err != nil {
		t.Fatal(err)
	}
	defer evc.Close()
	release()
	if evc.Subprotocol() != EventsProtocol {
		t.Errorf("negotiated subprotocol %q", evc.Subprotocol())
	}
	seen := nextEvent(t, evc, func(e event) bool { return e.Session != nil && e.Session.State == "ready" })
	if seen[0].Type != "session" {
		t.Errorf("first event = %s, want the session snapshot", seen[0].Type)
	}
	ready := 0
	for _, e := range seen {
		if e.Type == "service.ready" {
			ready++
		}
	}
	if ready != 2 {
		t.Errorf("%d service.ready events, want 2", ready)
	}

	// A reload resumes the same session, and the catalog shows it.
	if status, m, _ := ts.do(t, "POST", "/api/sessions", `{"lab":"web-test"}`, nil); status != 200 || m["id"] != sid {
		t.Errorf("second open = %d %v, want 200 with the same id", status, m["id"])
	}

	// Terminal: output, resize, reconnect with replay.
	status, m, raw = ts.do(t, "POST", "/api/sessions/"+sid+"/terminals", "", nil)
	if status != 201 {
		t.Fatalf("new terminal = %d %s", status, raw)
	}
	tid := m["id"].(string)
	tpath := "/api/sessions/" + sid + "/terminals/" + tid + "/ws"
	tc, err := ts.dial(t, tpath, TerminalProtocol)
	if err != nil {
		t.Fatal(err)
	}
	tc.WriteMessage(websocket.TextMessage, []byte(`{"type":"resize","cols":111,"rows":33}`))
	tc.WriteMessage(websocket.BinaryMessage, []byte("stty size; echo hello-$((40+2))\n"))
	out := readTerm(t, tc, "hello-42")
	if !strings.Contains(out, "33 111") {
		t.Errorf("stty size after resize: %q", out)
	}
	tc.Close()
	tc, err = ts.dial(t, tpath, TerminalProtocol)
	if err != nil {
		t.Fatal(err)
	}
	readTerm(t, tc, "hello-42") // replayed
	// A bad control frame closes with 4400.
	tc.WriteMessage(websocket.TextMessage, []byte(`{"type":"explode"}`))
	tc.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, _, err := tc.ReadMessage(); err != nil {
			if !websocket.IsCloseError(err, CloseBadMessage) {
				t.Errorf("after a bad control frame: %v, want close %d", err, CloseBadMessage)
			}
			break
		}
	}
	// An unknown terminal closes with 4404.
	uc, err := ts.dial(t, "/api/sessions/"+sid+"/terminals/t99/ws", TerminalProtocol)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := uc.ReadMessage(); !websocket.IsCloseError(err, CloseNoTerminal) {
		t.Errorf("unknown terminal: %v, want close %d", err, CloseNoTerminal)
	}
	// exit ends the shell: the socket says so.
	tc, _ = ts.dial(t, tpath, TerminalProtocol)
	tc.WriteMessage(websocket.BinaryMessage, []byte("exit 7\n"))
	tc.SetReadDeadline(time.Now().Add(10 * time.Second))
	var exit struct {
		Type string
		Code int
	}
	for exit.Type != "exit" {
		kind, data, err := tc.ReadMessage()
		if err != nil {
			t.Fatalf("no exit message: %v", err)
		}
		if kind == websocket.TextMessage {
			json.Unmarshal(data, &exit)
		}
	}
	if exit.Code != 7 {
		t.Errorf("exit code %d, want 7", exit.Code)
	}

	// Editor: save, then read back; bad paths are refused with a reason.
	if status, _, raw := ts.do(t, "PUT", "/api/sessions/"+sid+"/file?path=notes.txt", `{"content":"from the editor\n"}`, nil); status != 200 {
		t.Fatalf("save = %d %s", status, raw)
	}
	if status, m, _ := ts.do(t, "GET", "/api/sessions/"+sid+"/file?path=notes.txt", "", nil); status != 200 || m["content"] != "from the editor\n" {
		t.Errorf("read back = %d %v", status, m)
	}
	if status, m, _ := ts.do(t, "GET", "/api/sessions/"+sid+"/file?path=../../etc/passwd", "", nil); status != 400 || !strings.Contains(m["error"].(string), "outside") {
		t.Errorf("path outside the workspace = %d %v", status, m)
	}
	status, _, raw = ts.do(t, "GET", "/api/sessions/"+sid+"/files", "", nil)
	if status != 200 || !strings.Contains(string(raw), `"notes.txt"`) {
		t.Errorf("files = %d %s", status, raw)
	}

	// Hints one at a time, then none left.
	for i := 0; i < 3; i++ {
		if status, m, raw := ts.do(t, "POST", "/api/sessions/"+sid+"/tasks/cap-page-size/hints", "", nil); status != 200 || m["index"].(float64) != float64(i) {
			t.Fatalf("hint %d = %d %s", i, status, raw)
		}
	}
	if status, _, _ := ts.do(t, "POST", "/api/sessions/"+sid+"/tasks/cap-page-size/hints", "", nil); status != 409 {
		t.Errorf("a fourth hint = %d, want 409", status)
	}

	// Check: streamed live with the run id, then kept in the history.
	status, m, raw = ts.do(t, "POST", "/api/sessions/"+sid+"/checks", "", nil)
	if status != 202 {
		t.Fatalf("check = %d %s", status, raw)
	}
	run := m["run"].(string)
	seen = nextEvent(t, evc, func(e event) bool { return e.Type == "check.finished" })
	fin := seen[len(seen)-1]
	if fin.Run != run || fin.Outcome != "failed" {
		t.Errorf("check.finished = %+v, want run %s failed", fin, run)
	}
	steps := map[string]string{}
	for _, e := range seen {
		if strings.HasPrefix(e.Type, "step.") && e.Type != "step.started" {
			steps[e.Step] = e.Type
		}
	}
	if steps["serves-items"] != "step.passed" || steps["caps-limit"] != "step.failed" {
		t.Errorf("streamed step results = %v", steps)
	}
	status, _, raw = ts.do(t, "GET", "/api/sessions/"+sid+"/checks", "", nil)
	var runs []checkView
	json.Unmarshal(raw, &runs)
	if status != 200 || len(runs) != 1 || runs[0].ID != run || runs[0].Outcome != "failed" || runs[0].Finished == nil {
		t.Errorf("history = %d %s", status, raw)
	}
	status, m, _ = ts.do(t, "GET", "/api/sessions/"+sid+"/checks/"+run, "", nil)
	if evs, _ := m["events"].([]any); status != 200 || len(evs) < 4 {
		t.Errorf("one run = %d with %d events", status, len(evs))
	}
	status, m, _ = ts.do(t, "GET", "/api/sessions/"+sid, "", nil)
	if hints := m["hints"].(map[string]any)["cap-page-size"].([]any); status != 200 || len(hints) != 3 || m["last_check"] == nil {
		t.Errorf("session after hints and a check = %d %v", status, m)
	}

	// Someone else's session is not there for this user: API, events, terminal.
	other, _, err := ts.m.Open(t.Context(), "other", "web-test")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"", "/files", "/checks", "/terminals"} {
		if status, _, _ := ts.do(t, "GET", "/api/sessions/"+other.ID+p, "", nil); status != 404 {
			t.Errorf("GET another user's session%s = %d, want 404", p, status)
		}
	}
	for _, p := range []string{"/stop", "/reset", "/checks", "/terminals"} {
		if status, _, _ := ts.do(t, "POST", "/api/sessions/"+other.ID+p, "", nil); status != 404 {
			t.Errorf("POST another user's session%s = %d, want 404", p, status)
		}
	}
	if _, err := ts.dial(t, "/api/sessions/"+other.ID+"/events", EventsProtocol); err == nil {
		t.Error("opened another user's events")
	}
	if _, err := ts.dial(t, "/api/sessions/"+other.ID+"/terminals/t1/ws", TerminalProtocol); err == nil {
		t.Error("opened another user's terminal")
	}

	// Stop: the session says stopped and the sandbox is gone.
	status, m, _ = ts.do(t, "POST", "/api/sessions/"+sid+"/stop", "", nil)
	if status != 200 || m["state"] != "stopped" {
		t.Errorf("stop = %d %v", status, m["state"])
	}
	if status, _, _ := ts.do(t, "POST", "/api/sessions/"+sid+"/terminals", "", nil); status != 409 {
		t.Errorf("new terminal on a stopped session = %d, want 409", status)
	}
	status, _, raw = ts.do(t, "GET", "/api/labs", "", nil)
	if !strings.Contains(string(raw), `"status":"in_progress"`) {
		t.Errorf("catalog after a failed check = %d %s, want in_progress", status, raw)
	}
}
