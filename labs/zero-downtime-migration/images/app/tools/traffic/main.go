// Command traffic sends the accounts service a steady mix of reads and
// writes, like its real clients, and reports every request that failed.
//
//	traffic                  until Ctrl-C, a line a second
//	traffic deploy all       while the command runs, then a summary
//
// Each worker creates customers, renames them and reads them back (and
// reads and renames customers of the production data), so it also notices
// a read that does not return the name it last wrote.
//
// Every request is timed: a request that waits longer than the stall bound
// (1s, or 10 × the p99 measured before the command starts if that is more;
// the check uses the same rule) is printed as it finishes, so it lands in
// the deploy tool's timeline, and the summary shows the slowest ones.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

var (
	appURL  = strings.TrimRight(getenv("APP_URL", "http://app:8080"), "/")
	client  = &http.Client{Timeout: 10 * time.Second}
	total   atomic.Int64
	failed  atomic.Int64
	wrong   atomic.Int64
	stalled atomic.Int64
	mu      sync.Mutex
	kinds   = map[string]int{}
	samples []string
	started = time.Now()
	lat     []timed // every request, in the order they finished
	bound   = time.Second
)

// timed is one request and how long it took.
type timed struct {
	at, took time.Duration // sent at, since the start
	req      string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	tctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() { defer wg.Done(); worker(tctx) }()
	}
	start := time.Now()
	if len(os.Args) > 1 {
		cmd := exec.CommandContext(ctx, os.Args[1], os.Args[2:]...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		time.Sleep(time.Second)
		mu.Lock()
		var warm []time.Duration
		for _, x := range lat {
			warm = append(warm, x.took)
		}
		p99 := percentile(warm, 0.99)
		bound = max(bound, 10*p99)
		mu.Unlock()
		fmt.Printf("[traffic] %d requests so far, %d failed, p99 %s; a request slower than %s counts as stalled; running %s\n",
			total.Load(), failed.Load(), short(p99), short(bound), strings.Join(os.Args[1:], " "))
		err := cmd.Run()
		time.Sleep(500 * time.Millisecond)
		cancel()
		wg.Wait()
		if err != nil {
			fmt.Printf("[traffic] %s: %v\n", strings.Join(os.Args[1:], " "), err)
		}
	} else {
		tick := time.NewTicker(time.Second)
		var last int64
		for done := false; !done; {
			select {
			case <-ctx.Done():
				done = true
			case <-tick.C:
				n := total.Load()
				fmt.Printf("[traffic] %3.0fs  %4d req/s  slowest %s  %d failed, %d wrong answers, %d stalled so far\n",
					time.Since(start).Seconds(), n-last, short(slowestSince(time.Second)), failed.Load(), wrong.Load(), stalled.Load())
				last = n
			}
		}
		cancel()
		wg.Wait()
	}
	summary(time.Since(start))
}

func summary(d time.Duration) {
	mu.Lock()
	defer mu.Unlock()
	fmt.Printf("\n[traffic] %d requests in %.1fs: %d failed, %d returned a name other than the last one written, %d stalled (over %s)\n",
		total.Load(), d.Seconds(), failed.Load(), wrong.Load(), stalled.Load(), short(bound))
	var all []time.Duration
	for _, x := range lat {
		all = append(all, x.took)
	}
	fmt.Printf("[traffic] latency: p50 %s, p99 %s", short(percentile(all, 0.5)), short(percentile(all, 0.99)))
	slow := slices.Clone(lat)
	slices.SortFunc(slow, func(a, b timed) int { return int(b.took - a.took) })
	if len(slow) > 0 {
		fmt.Printf(", slowest %s (%s, sent at %.1fs)", short(slow[0].took), slow[0].req, slow[0].at.Seconds())
	}
	fmt.Println()
	if stalled.Load() > 0 {
		fmt.Println("[traffic] the longest stalls (each was printed among the deploy tool's lines when it finished):")
		for _, x := range slow[:min(5, len(slow))] {
			if x.took > bound {
				fmt.Printf("  %s took %s, sent at %.1fs\n", x.req, short(x.took), x.at.Seconds())
			}
		}
	}
	var keys []string
	for k := range kinds {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Printf("  %5d × %s\n", kinds[k], k)
	}
	if len(samples) > 0 {
		fmt.Println("[traffic] first problems:")
		for _, s := range samples {
			fmt.Println("  " + s)
		}
		appErrors()
	}
}

// appErrors prints the distinct errors the apps logged (from the deploy
// tool's log), with how often each came.
func appErrors() {
	resp, err := client.Get(getenv("CONTROL_URL", "http://app:9090") + "/logs")
	if err != nil {
		return
	}
	defer resp.Body.Close()
	var lines []struct {
		Line string `json:"line"`
	}
	if json.NewDecoder(resp.Body).Decode(&lines) != nil {
		return
	}
	count := map[string]int{}
	var order []string
	for _, l := range lines {
		if !strings.Contains(l.Line, "error:") || strings.Contains(l.Line, "context canceled") {
			continue
		}
		if count[l.Line] == 0 {
			order = append(order, l.Line)
		}
		count[l.Line]++
	}
	if len(order) == 0 {
		return
	}
	fmt.Println("[traffic] what the apps logged (all of it: deploy logs):")
	for i, l := range order {
		if i == 8 {
			fmt.Printf("  … and %d other kinds\n", len(order)-8)
			break
		}
		fmt.Printf("  %5d × %s\n", count[l], l)
	}
}

type customer struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

func worker(ctx context.Context) {
	var mine []*customer
	for ctx.Err() == nil {
		switch r := rand.IntN(100); {
		case r < 25 || len(mine) == 0:
			name := randName()
			var c customer
			tag := fmt.Sprintf("%x", rand.Uint64())
			if call(ctx, "POST", "/customers", map[string]string{"email": "traffic-" + tag + "@example.test", "name": name}, &c) {
				c.Name = name
				mine = append(mine, &c)
			}
		case r < 45:
			c := mine[rand.IntN(len(mine))]
			name := randName()
			if call(ctx, "PATCH", fmt.Sprintf("/customers/%d", c.ID), map[string]string{"name": name}, nil) {
				c.Name = name
			}
		case r < 75:
			c := mine[rand.IntN(len(mine))]
			var got customer
			if call(ctx, "GET", fmt.Sprintf("/customers/%d", c.ID), nil, &got) && got.Name != c.Name {
				wrong.Add(1)
				note("wrong answer", fmt.Sprintf("GET /customers/%d returned name %q; %q was written last", c.ID, got.Name, c.Name))
			}
		case r < 90:
			var got customer
			call(ctx, "GET", fmt.Sprintf("/customers/%d", 1+rand.IntN(50000)), nil, &got)
		default:
			// Production customers get renamed too.
			call(ctx, "PATCH", fmt.Sprintf("/customers/%d", 1+rand.IntN(50000)), map[string]string{"name": randName()}, nil)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// call sends one request and reports whether it succeeded.
func call(ctx context.Context, method, path string, in, out any) bool {
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequestWithContext(ctx, method, appURL+path, body)
	req.Header.Set("Content-Type", "application/json")
	sent := time.Now()
	resp, err := client.Do(req)
	var data []byte
	if err == nil {
		data, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if ctx.Err() != nil {
		return false
	}
	took := time.Since(sent)
	mu.Lock()
	lat = append(lat, timed{at: sent.Sub(started), took: took, req: method + " " + path})
	over := took > bound
	mu.Unlock()
	if over {
		stalled.Add(1)
		fmt.Printf("[traffic] stalled: %s took %s (sent at %.1fs)\n", method+" "+path, short(took), sent.Sub(started).Seconds())
	}
	total.Add(1)
	pattern := method + " " + pathPattern(path)
	if err != nil {
		failed.Add(1)
		note(pattern+" → no answer", fmt.Sprintf("%s %s: %v", method, path, err))
		return false
	}
	if resp.StatusCode >= 300 {
		failed.Add(1)
		note(fmt.Sprintf("%s → %d", pattern, resp.StatusCode), fmt.Sprintf("%s %s → %d %s", method, path, resp.StatusCode, strings.TrimSpace(string(data))))
		return false
	}
	if out != nil {
		json.Unmarshal(data, out)
	}
	return true
}

// slowestSince returns the slowest request that finished within d.
func slowestSince(d time.Duration) time.Duration {
	mu.Lock()
	defer mu.Unlock()
	var m time.Duration
	for i := len(lat) - 1; i >= 0 && lat[i].at+lat[i].took > time.Since(started)-d; i-- {
		m = max(m, lat[i].took)
	}
	return m
}

func percentile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	c := slices.Clone(d)
	slices.Sort(c)
	return c[min(len(c)-1, int(q*float64(len(c))))]
}

// short renders a duration for people: 12ms, 1.4s.
func short(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	return fmt.Sprintf("%.1fs", d.Seconds())
}

func note(kind, sample string) {
	mu.Lock()
	defer mu.Unlock()
	kinds[kind]++
	if len(samples) < 6 {
		samples = append(samples, sample)
	}
}

func pathPattern(p string) string {
	if strings.HasPrefix(p, "/customers/") {
		return "/customers/{id}"
	}
	return p
}

func randName() string {
	first := []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Ken"}
	last := []string{"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Thompson"}
	return fmt.Sprintf("%s %s-%d", first[rand.IntN(len(first))], last[rand.IntN(len(last))], rand.IntN(1000))
}

func getenv(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
