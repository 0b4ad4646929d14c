package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func TestMetrics(t *testing.T) {
	m := New(func() map[string]int { return map[string]int{"ready": 3, "failed": 1} })
	m.Provisioned("add-index", "ready", 2*time.Second)
	m.Provisioned("add-index", "failed", 70*time.Second)
	m.Checked("add-index", "passed", 1500*time.Millisecond)
	closeTerm := m.WebSocketOpened("terminal")
	m.WebSocketOpened("terminal")
	closeTerm()
	m.WebSocketOpened("events")
	m.Reaped(2)
	out := scrape(t, m)
	for _, want := range []string{
		`backlab_sessions{state="ready"} 3`,
		`backlab_sessions{state="starting"} 0`,
		`backlab_sessions{state="failed"} 1`,
		`backlab_sandbox_provision_seconds_count{lab="add-index",outcome="ready"} 1`,
		`backlab_sandbox_provision_seconds_bucket{lab="add-index",outcome="ready",le="2"} 1`,
		`backlab_sandbox_provision_seconds_bucket{lab="add-index",outcome="failed",le="60"} 0`,
		`backlab_check_duration_seconds_sum{lab="add-index",outcome="passed"} 1.5`,
		`backlab_websocket_connections{kind="terminal"} 1`,
		`backlab_websocket_connections{kind="events"} 1`,
		`backlab_reaper_sandboxes_removed_total 2`,
		`go_goroutines`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
}

func TestNilMetricsRecordNothing(t *testing.T) {
	var m *Metrics
	m.Provisioned("x", "ready", time.Second)
	m.Checked("x", "passed", time.Second)
	m.WebSocketOpened("terminal")()
	m.Reaped(1)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 404 {
		t.Errorf("nil metrics handler = %d, want 404", rec.Code)
	}
}
