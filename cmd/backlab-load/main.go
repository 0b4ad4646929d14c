// Command backlab-load sends HTTP load at a constant arrival rate and
// prints the latency percentiles, throughput and errors it measured. It is
// the load command of backlab's workspaces.
//
//	backlab-load -rate 200 -duration 10s http://app:8080/quotes/ACME
//	backlab-load -f profile.yaml
//
// Requests start at the given rate whatever the service's latency (an open
// model, like real users), so a service that cannot keep up shows it in
// its latency and errors. When a k6 binary is on PATH it does the work
// (from a generated script); otherwise a built-in generator does. Both
// report the same figures.
//
// A profile file (YAML or JSON) holds the same settings as the flags:
//
//	rate: 200
//	duration: 10s
//	timeout: 5s
//	targets:
//	  - url: http://app:8080/quotes/ACME
//	  - method: POST
//	    url: http://app:8080/orders
//	    body: '{"symbol": "ACME", "qty": 1}'
//	    header: {Content-Type: application/json}
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/backlab/backlab/runner/load"
)

// file is a profile file.
type file struct {
	Rate     int           `yaml:"rate"`
	Duration string        `yaml:"duration"`
	Timeout  string        `yaml:"timeout"`
	Engine   string        `yaml:"engine"`
	Targets  []load.Target `yaml:"targets"`
}

type headers []string

func (h *headers) String() string     { return strings.Join(*h, ", ") }
func (h *headers) Set(v string) error { *h = append(*h, v); return nil }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "backlab-load:", err)
		}
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("backlab-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		rate     = fs.Int("rate", 50, "requests started per second")
		duration = fs.Duration("duration", 10*time.Second, "how long to send load")
		timeout  = fs.Duration("timeout", load.DefaultTimeout, "timeout of one request")
		method   = fs.String("method", "GET", "HTTP method of the URLs given as arguments")
		body     = fs.String("body", "", "request body of the URLs given as arguments")
		profile  = fs.String("f", "", "profile file (YAML or JSON); flags given explicitly override it")
		engine   = fs.String("engine", "", "k6 or builtin; default k6 when a k6 binary is on PATH, else builtin")
		asJSON   = fs.Bool("json", false, "print the result as JSON")
		hdrs     headers
	)
	fs.Var(&hdrs, "H", "request header 'Name: value' (repeatable)")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: backlab-load [flags] URL...
       backlab-load -f profile.yaml

Sends requests at a constant rate (they start on time even when the service
is slow, as real users do) and prints p50/p95/p99 latency, throughput and
errors. Several URLs are requested in turn.

Example: backlab-load -rate 200 -duration 10s http://app:8080/healthz

`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	p := load.Profile{Rate: *rate, Duration: *duration, Timeout: *timeout, Engine: *engine}
	if *profile != "" {
		fp, err := readProfile(*profile)
		if err != nil {
			return err
		}
		if !set["rate"] && fp.Rate != 0 {
			p.Rate = fp.Rate
		}
		if !set["duration"] && fp.Duration != "" {
			if p.Duration, err = time.ParseDuration(fp.Duration); err != nil {
				return fmt.Errorf("%s: duration: %w", *profile, err)
			}
		}
		if !set["timeout"] && fp.Timeout != "" {
			if p.Timeout, err = time.ParseDuration(fp.Timeout); err != nil {
				return fmt.Errorf("%s: timeout: %w", *profile, err)
			}
		}
		if !set["engine"] {
			p.Engine = fp.Engine
		}
		p.Targets = fp.Targets
	}
	if fs.NArg() > 0 {
		h := map[string]string{}
		for _, line := range hdrs {
			name, value, ok := strings.Cut(line, ":")
			if !ok {
				return fmt.Errorf("-H %q: expected 'Name: value'", line)
			}
			h[strings.TrimSpace(name)] = strings.TrimSpace(value)
		}
		p.Targets = nil
		for _, u := range fs.Args() {
			p.Targets = append(p.Targets, load.Target{Method: *method, URL: u, Body: *body, Header: h})
		}
	}
	if len(p.Targets) == 0 {
		fs.Usage()
		return errors.New("give at least one URL (or -f profile.yaml)")
	}
	if err := p.Validate(); err != nil {
		return err
	}

	fmt.Fprintf(stderr, "Sending %d requests/s for %s to %s …\n", p.Rate, p.Duration, describe(p.Targets))
	res, err := load.Run(ctx, p)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	printResult(stdout, p, res)
	return nil
}

func readProfile(path string) (file, error) {
	var fp file
	data, err := os.ReadFile(path)
	if err != nil {
		return fp, err
	}
	// JSON is YAML, so one decoder reads both.
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&fp); err != nil {
		return fp, fmt.Errorf("%s: %w", path, err)
	}
	return fp, nil
}

func describe(ts []load.Target) string {
	if len(ts) == 1 {
		return ts[0].URL
	}
	return fmt.Sprintf("%d URLs in turn", len(ts))
}

func printResult(w io.Writer, p load.Profile, r load.Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "engine\t%s\n", r.Engine)
	fmt.Fprintf(tw, "target rate\t%d req/s for %s\n", p.Rate, p.Duration)
	fmt.Fprintf(tw, "requests\t%d\n", r.Requests)
	fmt.Fprintf(tw, "throughput\t%.1f req/s (successful)\n", r.Throughput)
	fmt.Fprintf(tw, "latency p50\t%.1f ms\n", r.P50)
	fmt.Fprintf(tw, "latency p95\t%.1f ms\n", r.P95)
	fmt.Fprintf(tw, "latency p99\t%.1f ms\n", r.P99)
	fmt.Fprintf(tw, "latency max\t%.1f ms\n", r.Max)
	errs := fmt.Sprintf("%d (%.2f%%)", r.Errors, 100*r.ErrorRate)
	if r.Dropped > 0 {
		errs += fmt.Sprintf(", of which %d never started: too many requests already in flight", r.Dropped)
	}
	fmt.Fprintf(tw, "errors\t%s\n", errs)
	tw.Flush()
	if r.Throughput < 0.9*float64(p.Rate) {
		fmt.Fprintf(w, "\nThe service answered %.0f of the %d requests/s sent: it cannot keep up with this rate.\n", r.Throughput, p.Rate)
	}
}
