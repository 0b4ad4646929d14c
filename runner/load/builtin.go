package load

import (
	"context"
	"net/http"
	"slices"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// runBuiltin sends the profile with vegeta's attacker: a constant pacer,
// enough workers that arrivals never wait for a slow response, and
// keep-alive connections as a browser or k6 would use.
func runBuiltin(ctx context.Context, p Profile) (Result, error) {
	targets := make([]vegeta.Target, len(p.Targets))
	for i, t := range p.Targets {
		h := http.Header{}
		for k, v := range t.Header {
			h.Set(k, v)
		}
		targets[i] = vegeta.Target{Method: t.method(), URL: t.URL, Body: []byte(t.Body), Header: h}
	}
	maxWorkers := uint64(p.maxInFlight())
	attacker := vegeta.NewAttacker(
		vegeta.Timeout(p.timeout()),
		vegeta.Workers(min(maxWorkers, 20)),
		vegeta.MaxWorkers(maxWorkers),
		vegeta.KeepAlive(true),
		vegeta.Redirects(vegeta.NoFollow),
		vegeta.MaxBody(0), // the body is read and discarded, not kept
	)
	pacer := vegeta.ConstantPacer{Freq: p.Rate, Per: time.Second}

	stop := context.AfterFunc(ctx, func() { attacker.Stop() })
	defer stop()

	start := time.Now()
	var (
		latencies []float64
		res       = Result{Engine: EngineBuiltin}
		ok        int
	)
	for r := range attacker.Attack(vegeta.NewStaticTargeter(targets...), pacer, p.Duration, "backlab-load") {
		res.Requests++
		latencies = append(latencies, float64(r.Latency)/float64(time.Millisecond))
		if failed(r) {
			res.Errors++
		} else {
			ok++
		}
	}
	res.Duration = time.Since(start)
	if err := ctx.Err(); err != nil {
		return res, err
	}
	// Arrivals the pacer owed but could not start (all workers busy) were
	// dropped, as k6 reports dropped_iterations.
	if want := int(float64(p.Rate) * p.Duration.Seconds()); res.Requests < want*99/100 {
		res.Dropped = want - res.Requests
		res.Requests += res.Dropped
		res.Errors += res.Dropped
	}
	slices.Sort(latencies)
	res.P50 = percentile(latencies, 50)
	res.P95 = percentile(latencies, 95)
	res.P99 = percentile(latencies, 99)
	if len(latencies) > 0 {
		res.Max = latencies[len(latencies)-1]
	}
	if secs := res.Duration.Seconds(); secs > 0 {
		res.Throughput = float64(ok) / secs
	}
	res.finish()
	return res, nil
}

// failed applies k6's http_req_failed rule: no response, or a status
// outside 200–399.
func failed(r *vegeta.Result) bool {
	return r.Code < 200 || r.Code >= 400
}
