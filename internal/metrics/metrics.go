// Package metrics exposes backlab's Prometheus metrics: sessions, sandbox
// provisioning time, check duration and outcome, WebSocket connections and
// reaper actions. A nil *Metrics records nothing, so callers need no
// checks.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds the collectors of one server.
type Metrics struct {
	reg        *prometheus.Registry
	provision  *prometheus.HistogramVec
	checks     *prometheus.HistogramVec
	websockets *prometheus.GaugeVec
	reaped     prometheus.Counter
}

// New registers backlab's metrics (and the Go runtime's) on a registry of
// their own. active reports the live sessions by state.
func New(active func() map[string]int) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.provision = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "backlab_sandbox_provision_seconds",
		Help:    "Time from a session's start until every service of its sandbox is ready (or the start failed).",
		Buckets: []float64{0.5, 1, 1.5, 2, 3, 5, 8, 13, 30, 60, 120, 300},
	}, []string{"lab", "outcome"})
	m.checks = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "backlab_check_duration_seconds",
		Help:    "Duration of check runs by lab and outcome (passed, failed, error, timeout).",
		Buckets: []float64{0.5, 1, 2, 3, 5, 8, 13, 20, 30, 60, 120},
	}, []string{"lab", "outcome"})
	m.websockets = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "backlab_websocket_connections",
		Help: "Open WebSocket connections by kind (terminal, events).",
	}, []string{"kind"})
	m.reaped = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "backlab_reaper_sandboxes_removed_total",
		Help: "Sandboxes the reaper removed because no live session owned them.",
	})
	sessions := prometheus.NewDesc("backlab_sessions", "Sessions this server holds, by state.", []string{"state"}, nil)
	m.reg.MustRegister(m.provision, m.checks, m.websockets, m.reaped,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectorFunc{desc: sessions, collect: func(ch chan<- prometheus.Metric) {
			counts := map[string]int{"starting": 0, "ready": 0}
			if active != nil {
				for state, n := range active() {
					counts[state] = n
				}
			}
			for state, n := range counts {
				ch <- prometheus.MustNewConstMetric(sessions, prometheus.GaugeValue, float64(n), state)
			}
		}})
	return m
}

// collectorFunc is a collector of one metric family computed on scrape.
type collectorFunc struct {
	desc    *prometheus.Desc
	collect func(chan<- prometheus.Metric)
}

func (c collectorFunc) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }
func (c collectorFunc) Collect(ch chan<- prometheus.Metric) { c.collect(ch) }

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Provisioned records a sandbox start that ended (outcome ready or failed).
func (m *Metrics) Provisioned(lab, outcome string, d time.Duration) {
	if m != nil {
		m.provision.WithLabelValues(lab, outcome).Observe(d.Seconds())
	}
}

// Checked records a finished check run.
func (m *Metrics) Checked(lab, outcome string, d time.Duration) {
	if m != nil {
		m.checks.WithLabelValues(lab, outcome).Observe(d.Seconds())
	}
}

// WebSocketOpened counts a connection of kind until the returned function
// is called.
func (m *Metrics) WebSocketOpened(kind string) (closed func()) {
	if m == nil {
		return func() {}
	}
	g := m.websockets.WithLabelValues(kind)
	g.Inc()
	return g.Dec
}

// Reaped counts sandboxes the reaper removed.
func (m *Metrics) Reaped(n int) {
	if m != nil {
		m.reaped.Add(float64(n))
	}
}
