package load

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	ok := Profile{Targets: []Target{{URL: "http://app:8080/x"}}, Rate: 10, Duration: 2 * time.Second}
	tests := []struct {
		name   string
		change func(*Profile)
		want   string // "" = valid
	}{
		{"valid", func(*Profile) {}, ""},
		{"no target", func(p *Profile) { p.Targets = nil }, "no target URL"},
		{"bad url", func(p *Profile) { p.Targets[0].URL = "app:8080/x" }, "not an http(s) URL"},
		{"bad method", func(p *Profile) { p.Targets[0].Method = "FETCH" }, "unknown method"},
		{"lowercase method", func(p *Profile) { p.Targets[0].Method = "post" }, ""},
		{"zero rate", func(p *Profile) { p.Rate = 0 }, "rate must be at least 1"},
		{"short duration", func(p *Profile) { p.Duration = 10 * time.Millisecond }, "duration must be at least 1s"},
		{"negative timeout", func(p *Profile) { p.Timeout = -time.Second }, "timeout must not be negative"},
		{"unknown engine", func(p *Profile) { p.Engine = "jmeter" }, "unknown engine"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ok
			p.Targets = append([]Target(nil), ok.Targets...)
			tt.change(&p)
			err := p.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate() = %v; want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Validate() = %v; want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestMaxInFlight(t *testing.T) {
	tests := []struct {
		p    Profile
		want int
	}{
		{Profile{Rate: 200, Timeout: 5 * time.Second}, 1000},
		{Profile{Rate: 2}, 50},                  // at least 50
		{Profile{Rate: 5000}, 2000},             // at most 2000
		{Profile{Rate: 200, MaxInFlight: 7}, 7}, // explicit
	}
	for _, tt := range tests {
		if got := tt.p.maxInFlight(); got != tt.want {
			t.Errorf("maxInFlight(%+v) = %d; want %d", tt.p, got, tt.want)
		}
	}
}

func TestPercentile(t *testing.T) {
	var xs []float64
	for i := 1; i <= 100; i++ {
		xs = append(xs, float64(i))
	}
	tests := []struct {
		xs   []float64
		p    float64
		want float64
	}{
		{xs, 50, 50}, {xs, 95, 95}, {xs, 99, 99}, {xs, 100, 100}, {xs, 0, 1},
		{[]float64{7}, 99, 7}, {nil, 50, 0},
	}
	for _, tt := range tests {
		if got := percentile(tt.xs, tt.p); got != tt.want {
			t.Errorf("percentile(%d values, %g) = %g; want %g", len(tt.xs), tt.p, got, tt.want)
		}
	}
}

func TestMetricNames(t *testing.T) {
	r := Result{P50: 1.234, P95: 5.678, P99: 9.1011, Throughput: 199.96, Requests: 3000, Errors: 3, ErrorRate: 0.001}
	var names []string
	for _, m := range r.Metrics() {
		names = append(names, m.Name)
	}
	want := "p50_ms p95_ms p99_ms throughput_rps requests errors error_rate"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("metric names = %q; want %q", got, want)
	}
	if m := r.Metrics()[6]; m.Value != 0.1 || m.Unit != "%" {
		t.Errorf("error_rate = %v %s; want 0.1 %%", m.Value, m.Unit)
	}
}

func TestK6Script(t *testing.T) {
	p := Profile{
		Targets: []Target{
			{URL: "http://app:8080/quotes/ACME"},
			{Method: "post", URL: "http://app:8080/orders", Body: `{"symbol":"ACME"}`, Header: map[string]string{"Content-Type": "application/json"}},
		},
		Rate: 200, Duration: 15 * time.Second, Timeout: 2 * time.Second,
	}
	script, err := K6Script(p)
	if err != nil {
		t.Fatal(err)
	}
	s := string(script)
	for _, want := range []string{
		"import http from 'k6/http';",
		"executor: 'constant-arrival-rate'",
		"rate: 200,",
		"timeUnit: '1s',",
		"duration: '15000ms',",
		"preAllocatedVUs: 100,",
		"maxVUs: 400,",
		"'p(99)'",
		"timeout: '2000ms'",
		`"url": "http://app:8080/quotes/ACME"`,
		`"method": "POST"`,
		`"body": "{\"symbol\":\"ACME\"}"`,
		`"Content-Type": "application/json"`,
		"exec.scenario.iterationInTest % targets.length",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("script lacks %s\n%s", want, s)
		}
	}
}

func TestParseK6Summary(t *testing.T) {
	tests := []struct {
		file string
		want Result
	}{
		{"k6-summary-export.json", Result{
			Engine: EngineK6, Requests: 3000, Errors: 30, ErrorRate: 0.01,
			P50: 24.5, P95: 88.7, P99: 240.4, Max: 412.9, Throughput: 198, Duration: 15 * time.Second,
		}},
		{"k6-machine-readable.json", Result{
			Engine: EngineK6, Requests: 1505, Errors: 8, Dropped: 5, ErrorRate: 8.0 / 1505,
			P50: 4, P95: 9.5, P99: 20.25, Max: 50.5, Throughput: 99.8, Duration: 15 * time.Second,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseK6Summary(data)
			if err != nil {
				t.Fatal(err)
			}
			if !sameResult(got, tt.want) {
				t.Fatalf("ParseK6Summary =\n %+v\nwant\n %+v", got, tt.want)
			}
		})
	}
	if _, err := ParseK6Summary([]byte(`{"metrics": {"iterations": {"count": 0}}}`)); err == nil {
		t.Error("a summary without http_req_duration parsed without error")
	}
	if _, err := ParseK6Summary([]byte(`not json`)); err == nil {
		t.Error("invalid JSON parsed without error")
	}
}

func sameResult(a, b Result) bool {
	eq := func(x, y float64) bool { return math.Abs(x-y) < 1e-6 }
	return a.Engine == b.Engine && a.Requests == b.Requests && a.Errors == b.Errors && a.Dropped == b.Dropped &&
		eq(a.ErrorRate, b.ErrorRate) && eq(a.P50, b.P50) && eq(a.P95, b.P95) && eq(a.P99, b.P99) && eq(a.Max, b.Max) &&
		eq(a.Throughput, b.Throughput) && a.Duration == b.Duration
}

// fakeK6 puts a "k6" on PATH that checks its arguments, copies a fixture
// summary to the --summary-export path and exits with code.
func fakeK6(t *testing.T, fixture string, code int) string {
	t.Helper()
	dir := t.TempDir()
	abs, err := filepath.Abs(filepath.Join("testdata", fixture))
	if err != nil {
		t.Fatal(err)
	}
	args := filepath.Join(dir, "args")
	script := `#!/bin/sh
echo "$@" > '` + args + `'
[ "$1" = run ] || { echo "usage: k6 run" >&2; exit 104; }
for a in "$@"; do
  case "$a" in
    --summary-export=*) cp '` + abs + `' "${a#--summary-export=}" ;;
    *.js) script="$a" ;;
  esac
done
grep -q constant-arrival-rate "$script" || { echo "bad script" >&2; exit 107; }
echo "thresholds on metrics 'http_req_failed' have been crossed" >&2
exit ` + strconv.Itoa(code) + "\n"
	if err := os.WriteFile(filepath.Join(dir, "k6"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return args
}

func TestRunK6(t *testing.T) {
	p := Profile{Targets: []Target{{URL: "http://127.0.0.1:1/x"}}, Rate: 200, Duration: 15 * time.Second}
	for _, code := range []int{0, k6ExitThresholds} {
		args := fakeK6(t, "k6-summary-export.json", code)
		res, err := Run(context.Background(), p)
		if err != nil {
			t.Fatalf("exit %d: Run: %v", code, err)
		}
		if res.Engine != EngineK6 || res.Requests != 3000 || res.P95 != 88.7 {
			t.Fatalf("exit %d: Run = %+v; want the fixture's figures from k6", code, res)
		}
		got, _ := os.ReadFile(args)
		if !strings.HasPrefix(string(got), "run --quiet --summary-export=") || !strings.Contains(string(got), ".js") {
			t.Errorf("k6 called with %q", got)
		}
	}
	fakeK6(t, "k6-summary-export.json", 107)
	if _, err := Run(context.Background(), p); err == nil || !strings.Contains(err.Error(), "k6 failed") {
		t.Errorf("k6 exiting 107: Run error = %v; want k6 failed", err)
	}
}

func TestPickEngine(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	p := Profile{}
	if e, _ := pickEngine(p); e != EngineBuiltin {
		t.Errorf("no k6 on PATH: engine %q; want builtin", e)
	}
	if _, err := Run(context.Background(), Profile{Targets: []Target{{URL: "http://x/"}}, Rate: 1, Duration: time.Second, Engine: EngineK6}); err == nil {
		t.Error("engine k6 without a k6 binary: no error")
	}
	fakeK6(t, "k6-summary-export.json", 0)
	if e, _ := pickEngine(Profile{Engine: EngineBuiltin}); e != EngineBuiltin {
		t.Errorf("engine builtin asked for: got %q", e)
	}
	if e, path := pickEngine(Profile{}); e != EngineK6 || path == "" {
		t.Errorf("k6 on PATH: engine %q at %q; want k6", e, path)
	}
}

// TestBuiltin loads a local server that takes at least 5 ms a request and
// answers every 10th request with a 500.
func TestBuiltin(t *testing.T) {
	const delay = 5 * time.Millisecond
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay)
		if n.Add(1)%10 == 0 {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()

	p := Profile{Targets: []Target{{URL: srv.URL + "/x"}}, Rate: 100, Duration: 2 * time.Second, Engine: EngineBuiltin}
	res, err := Run(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", res)
	if res.Engine != EngineBuiltin {
		t.Errorf("engine %q; want builtin", res.Engine)
	}
	served := int(n.Load())
	if res.Requests < 150 || res.Requests > 210 {
		t.Errorf("%d requests; about 200 expected (100/s for 2 s)", res.Requests)
	}
	if res.Dropped == 0 && res.Requests != served {
		t.Errorf("%d requests counted, the server saw %d", res.Requests, served)
	}
	if wantErr := served / 10; res.Errors != wantErr+res.Dropped {
		t.Errorf("%d errors; the server failed %d (+%d dropped)", res.Errors, wantErr, res.Dropped)
	}
	if res.ErrorRate < 0.08 || res.ErrorRate > 0.12 {
		t.Errorf("error rate %.3f; about 0.10 expected", res.ErrorRate)
	}
	if !(float64(delay.Milliseconds()) <= res.P50 && res.P50 <= res.P95 && res.P95 <= res.P99 && res.P99 <= res.Max) {
		t.Errorf("percentiles not ordered or below the server's delay: p50 %.2f p95 %.2f p99 %.2f max %.2f", res.P50, res.P95, res.P99, res.Max)
	}
	if res.Throughput <= 0 || res.Throughput > 100 {
		t.Errorf("throughput %.1f/s; between 0 and 100/s expected (90%% of 100/s succeed)", res.Throughput)
	}
}

func TestBuiltinCancel(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Run(ctx, Profile{Targets: []Target{{URL: srv.URL}}, Rate: 50, Duration: time.Minute, Engine: EngineBuiltin})
	if err == nil {
		t.Fatal("a cancelled run returned no error")
	}
	if time.Since(start) > 20*time.Second {
		t.Errorf("a cancelled run took %s to stop", time.Since(start))
	}
}
