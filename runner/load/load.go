// Package load generates HTTP load at a constant arrival rate and reports
// latency percentiles, throughput and errors under the same metric names
// whichever engine produced them.
//
// Two engines exist. When a k6 binary is on PATH, [Run] writes a k6 script
// from the [Profile], runs "k6 run --summary-export" and reads the JSON
// summary (k6 is only ever run as an external program, never linked: its
// Go module is AGPL). Otherwise a built-in generator based on
// github.com/tsenart/vegeta/v12/lib (MIT) sends the same profile. Either
// way the result holds the same figures: p50/p95/p99 latency, throughput,
// requests, errors and error rate.
//
// A request is an error when it got no response (refused, reset, timed
// out) or when its status is outside 200–399: k6's http_req_failed rule.
// Requests the engine could not even start in time (k6's
// dropped_iterations) count as requests and as errors, so a run against a
// service that collapses never looks better than it was.
package load

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// Engine names.
const (
	// EngineAuto uses k6 when a k6 binary is on PATH, else the built-in one.
	EngineAuto = ""
	// EngineK6 runs the k6 binary found on PATH (or Profile.K6Path).
	EngineK6 = "k6"
	// EngineBuiltin is the built-in generator (vegeta's library).
	EngineBuiltin = "builtin"
)

// Target is one request of a profile.
type Target struct {
	Method string            `json:"method,omitempty" yaml:"method,omitempty"` // default GET
	URL    string            `json:"url" yaml:"url"`
	Body   string            `json:"body,omitempty" yaml:"body,omitempty"`
	Header map[string]string `json:"header,omitempty" yaml:"header,omitempty"`
}

func (t Target) method() string {
	if t.Method == "" {
		return "GET"
	}
	return strings.ToUpper(t.Method)
}

// Profile is a constant-arrival-rate load: Rate requests per second for
// Duration, taken from Targets in turn (round robin).
type Profile struct {
	Targets []Target
	// Rate is the number of requests started per second, whatever the
	// service's latency (an open model: a slow service does not slow the
	// arrivals down, as with real users).
	Rate int
	// Duration of the load.
	Duration time.Duration
	// Timeout of one request; default 10s.
	Timeout time.Duration
	// MaxInFlight bounds the requests in flight at once (k6's maxVUs, the
	// built-in engine's workers). Zero: Rate × Timeout, at least 50, at
	// most 2000 — enough that only a service slower than Timeout drops
	// requests.
	MaxInFlight int
	// Engine is EngineAuto, EngineK6 or EngineBuiltin.
	Engine string
	// K6Path is the k6 binary; empty: "k6" looked up on PATH.
	K6Path string
}

// DefaultTimeout is a request's timeout when the profile sets none.
const DefaultTimeout = 10 * time.Second

func (p Profile) timeout() time.Duration {
	if p.Timeout <= 0 {
		return DefaultTimeout
	}
	return p.Timeout
}

func (p Profile) maxInFlight() int {
	if p.MaxInFlight > 0 {
		return p.MaxInFlight
	}
	n := int(math.Ceil(float64(p.Rate) * p.timeout().Seconds()))
	return min(max(n, 50), 2000)
}

// Validate reports what makes the profile unusable.
func (p Profile) Validate() error {
	var errs []error
	if len(p.Targets) == 0 {
		errs = append(errs, errors.New("no target URL"))
	}
	for i, t := range p.Targets {
		u, err := url.Parse(t.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("target %d: %q is not an http(s) URL", i+1, t.URL))
		}
		if !slices.Contains([]string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}, t.method()) {
			errs = append(errs, fmt.Errorf("target %d: unknown method %q", i+1, t.Method))
		}
	}
	if p.Rate <= 0 {
		errs = append(errs, fmt.Errorf("rate must be at least 1 request per second; got %d", p.Rate))
	}
	if p.Duration < time.Second {
		errs = append(errs, fmt.Errorf("duration must be at least 1s; got %s", p.Duration))
	}
	if p.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout must not be negative; got %s", p.Timeout))
	}
	switch p.Engine {
	case EngineAuto, EngineK6, EngineBuiltin:
	default:
		errs = append(errs, fmt.Errorf("unknown engine %q (k6 or builtin)", p.Engine))
	}
	return errors.Join(errs...)
}

// Result is what a run measured. Latencies are in milliseconds.
type Result struct {
	// Engine is EngineK6 or EngineBuiltin: which one ran.
	Engine string `json:"engine"`
	// Requests is how many requests the profile scheduled and the engine
	// sent or dropped; Errors how many of them failed (see the package
	// comment); Dropped how many could not even start.
	Requests int `json:"requests"`
	Errors   int `json:"errors"`
	Dropped  int `json:"dropped"`
	// ErrorRate is Errors / Requests (0–1).
	ErrorRate float64 `json:"error_rate"`
	// P50, P95 and P99 are latency percentiles of the requests sent, in ms.
	P50 float64 `json:"p50_ms"`
	P95 float64 `json:"p95_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
	// Throughput is successful responses per second of the run.
	Throughput float64 `json:"throughput_rps"`
	// Duration is how long the run took.
	Duration time.Duration `json:"duration_ns"`
}

// Metric is one figure of a result, named as a checker reports it.
type Metric struct {
	Name  string
	Value float64
	Unit  string
}

// Metrics lists the result's figures with their stable names: p50_ms,
// p95_ms, p99_ms, throughput_rps, requests, errors, error_rate (in %).
func (r Result) Metrics() []Metric {
	return []Metric{
		{"p50_ms", round(r.P50, 2), "ms"},
		{"p95_ms", round(r.P95, 2), "ms"},
		{"p99_ms", round(r.P99, 2), "ms"},
		{"throughput_rps", round(r.Throughput, 1), "req/s"},
		{"requests", float64(r.Requests), ""},
		{"errors", float64(r.Errors), ""},
		{"error_rate", round(100*r.ErrorRate, 2), "%"},
	}
}

func round(v float64, digits int) float64 {
	f := math.Pow(10, float64(digits))
	return math.Round(v*f) / f
}

// Run sends the profile's load and returns what it measured. ctx bounds
// the run (a cancelled run returns ctx's error).
func Run(ctx context.Context, p Profile) (Result, error) {
	if err := p.Validate(); err != nil {
		return Result{}, fmt.Errorf("load profile: %w", err)
	}
	engine, k6 := pickEngine(p)
	if engine == EngineK6 {
		if k6 == "" {
			return Result{}, errors.New("load: engine k6 asked for, but no k6 binary is on PATH")
		}
		return runK6(ctx, k6, p)
	}
	return runBuiltin(ctx, p)
}

// pickEngine resolves the engine and, for k6, the binary.
func pickEngine(p Profile) (engine, k6 string) {
	if p.Engine == EngineBuiltin {
		return EngineBuiltin, ""
	}
	name := p.K6Path
	if name == "" {
		name = "k6"
	}
	path, err := exec.LookPath(name)
	if err != nil {
		path = ""
	}
	if p.Engine == EngineK6 || path != "" {
		return EngineK6, path
	}
	return EngineBuiltin, ""
}

// finish fills the derived figures.
func (r *Result) finish() {
	if r.Requests > 0 {
		r.ErrorRate = float64(r.Errors) / float64(r.Requests)
	}
}

// percentile is the nearest-rank percentile of sorted values.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}
