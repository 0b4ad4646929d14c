package web

import (
	"bytes"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/backlab/backlab/runner"
)

// The terminal benchmarks compare the browser's path (WebSocket → server
// → exec with a TTY) with the exec alone (the driver's Attach, what a raw
// `docker exec -it` does), in the same sandbox and the same run:
//
//	go test -run '^$' -bench Terminal -benchtime 1x ./web
//
// Echo reports the p50/p95 round trip of one typed character; throughput
// the MB/s of a large `cat`.

const (
	echoRounds = 300
	catBytes   = 32 << 20
)

// benchSession starts a session of the scaffold lab and returns its id,
// the server and the workspace's sandbox.
func benchSession(b *testing.B) (*testServer, string) {
	b.Helper()
	ts := newDockerServer(b)
	status, m, raw := ts.do(b, "POST", "/api/sessions", `{"lab":"web-test"}`, nil)
	if status != 201 {
		b.Fatalf("open = %d %s", status, raw)
	}
	sid := m["id"].(string)
	evc, err := ts.dial(b, "/api/sessions/"+sid+"/events", EventsProtocol)
	if err != nil {
		b.Fatal(err)
	}
	nextEvent(b, evc, func(e event) bool { return e.Session != nil && e.Session.State == "ready" })
	evc.Close()
	return ts, sid
}

func percentiles(ds []time.Duration) (p50, p95 time.Duration) {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2], s[len(s)*95/100]
}

// echo types one character at a time and waits for its echo.
func echo(b *testing.B, w func([]byte) error, r func() ([]byte, error)) []time.Duration {
	b.Helper()
	var times []time.Duration
	for i := range echoRounds {
		c := byte('a' + i%26)
		start := time.Now()
		if err := w([]byte{c}); err != nil {
			b.Fatal(err)
		}
		for {
			data, err := r()
			if err != nil {
				b.Fatal(err)
			}
			if bytes.IndexByte(data, c) >= 0 {
				break
			}
		}
		times = append(times, time.Since(start))
	}
	return times
}

// settle waits until the prompt answers a command, so readline is up.
func settle(b *testing.B, w func([]byte) error, r func() ([]byte, error)) {
	w([]byte("stty -echoctl; echo rea''dy\n"))
	var got []byte
	for !bytes.Contains(got, []byte("ready")) {
		data, err := r()
		if err != nil {
			b.Fatal(err)
		}
		got = append(got, data...)
	}
	time.Sleep(200 * time.Millisecond)
}

func wsIO(c *websocket.Conn) (func([]byte) error, func() ([]byte, error)) {
	return func(p []byte) error { return c.WriteMessage(websocket.BinaryMessage, p) },
		func() ([]byte, error) {
			for {
				kind, data, err := c.ReadMessage()
				if err != nil || kind == websocket.BinaryMessage {
					return data, err
				}
			}
		}
}

func execIO(t runner.Terminal) (func([]byte) error, func() ([]byte, error)) {
	buf := make([]byte, 64<<10)
	return func(p []byte) error { _, err := t.Write(p); return err },
		func() ([]byte, error) { n, err := t.Read(buf); return buf[:n], err }
}

func BenchmarkTerminal(b *testing.B) {
	ts, sid := benchSession(b)
	sess, _ := ts.m.Get(sid)
	status, m, _ := ts.do(b, "POST", "/api/sessions/"+sid+"/terminals", "", nil)
	if status != 201 {
		b.Fatal("new terminal")
	}
	c, err := ts.dial(b, "/api/sessions/"+sid+"/terminals/"+m["id"].(string)+"/ws", TerminalProtocol)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Minute))
	wsW, wsR := wsIO(c)
	ls, err := sess.Sandbox()
	if err != nil {
		b.Fatal(err)
	}
	raw, err := ls.Shell(b.Context(), runner.TermSize{Cols: 80, Rows: 24})
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	exW, exR := execIO(raw)
	settle(b, wsW, wsR)
	settle(b, exW, exR)

	b.Run("Echo", func(b *testing.B) {
		for range b.N {
			// Alternate the two paths so background load hits both alike.
			var ws, ex []time.Duration
			for range 3 {
				ws = append(ws, echo(b, wsW, wsR)...)
				ex = append(ex, echo(b, exW, exR)...)
			}
			p50, p95 := percentiles(ws)
			r50, r95 := percentiles(ex)
			b.ReportMetric(float64(p50.Microseconds()), "ws-p50-µs")
			b.ReportMetric(float64(p95.Microseconds()), "ws-p95-µs")
			b.ReportMetric(float64(r50.Microseconds()), "exec-p50-µs")
			b.ReportMetric(float64(r95.Microseconds()), "exec-p95-µs")
			// Clear the typed line.
			wsW([]byte{0x15})
			exW([]byte{0x15})
		}
	})
	b.Run("Throughput", func(b *testing.B) {
		run := func(w func([]byte) error, r func() ([]byte, error)) float64 {
			cmd := "head -c " + strconv.Itoa(catBytes*3/4) + " /dev/zero | base64 -w 0; echo; echo do''ne\n"
			start := time.Now()
			w([]byte(cmd))
			n := 0
			var tail []byte
			for !bytes.Contains(tail, []byte("done")) {
				data, err := r()
				if err != nil {
					b.Fatalf("after %d bytes: %v; last bytes %q", n, err, tail)
				}
				n += len(data)
				// Keep enough for "done" and the prompt after it.
				tail = append(tail, data...)
				if len(tail) > 4096 {
					tail = tail[len(tail)-4096:]
				}
			}
			return float64(n) / (1 << 20) / time.Since(start).Seconds()
		}
		for range b.N {
			b.ReportMetric(run(wsW, wsR), "ws-MB/s")
			b.ReportMetric(run(exW, exR), "exec-MB/s")
		}
	})
}
