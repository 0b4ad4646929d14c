// Command traffic sends the accounts service a steady mix of reads and
// writes, like its real clients, and reports every request that failed.
//
//	traffic                  until Ctrl-C, a line a second
//	traffic deploy all       while the command runs, then a summary
//
// Each worker creates customers, renames them and reads them back (and
// reads customers of the production data), so it also notices a read that
// does not return the name it last wrote.
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
	mu      sync.Mutex
	kinds   = map[string]int{}
	samples []string
)

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
		time.Sleep(500 * time.Millisecond)
		fmt.Printf("[traffic] %d requests so far, %d failed; running %s\n", total.Load(), failed.Load(), strings.Join(os.Args[1:], " "))
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
				fmt.Printf("[traffic] %3.0fs  %4d req/s  %d failed, %d wrong answers so far\n", time.Since(start).Seconds(), n-last, failed.Load(), wrong.Load())
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
	fmt.Printf("\n[traffic] %d requests in %.1fs: %d failed, %d returned a name other than the last one written\n",
		total.Load(), d.Seconds(), failed.Load(), wrong.Load())
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
		default:
			var got customer
			call(ctx, "GET", fmt.Sprintf("/customers/%d", 1+rand.IntN(50000)), nil, &got)
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
	resp, err := client.Do(req)
	if ctx.Err() != nil {
		return false
	}
	total.Add(1)
	pattern := method + " " + pathPattern(path)
	if err != nil {
		failed.Add(1)
		note(pattern+" → no answer", fmt.Sprintf("%s %s: %v", method, path, err))
		return false
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
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
