// Command checker verifies the load-test-bottleneck lab: the quotes
// service must price products right, one request at a time and many at
// once, and must hold 150 requests a second with a p95 under 1 s and
// under 1% errors.
//
// It publishes exchange rates of its own at the FX provider and adds
// products of its own to the catalog, so it knows every right answer; it
// generates the load with backlab's runner/load from its own container.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/backlab/backlab/runner/checker"
	"github.com/backlab/backlab/runner/load"
)

// The load profile: a rate the fixed service holds with a wide margin on a
// busy two-core machine (its requests take ~30 ms, mostly waiting for the
// provider) and the starter cannot approach (one ~25 ms provider call at a
// time is at most ~40 requests a second).
const (
	loadRate     = 150
	loadDuration = 15 * time.Second
	loadTimeout  = 5 * time.Second
	maxP95       = 1000.0 // ms: the fixed service measured p95 47–206 ms here, the starter ~5000 (its timeout)
	maxErrorRate = 0.01
)

var currencies = []string{"EUR", "GBP", "JPY", "CHF", "SEK"}

// product is one of the checker's products.
type product struct {
	SKU   string
	Cents int64
}

// quote is the JSON of GET /quotes/{sku}.
type quote struct {
	SKU           string  `json:"sku"`
	PriceCents    int64   `json:"price_cents"`
	PriceCurrency string  `json:"price_currency"`
	Currency      string  `json:"currency"`
	Rate          float64 `json:"rate"`
	AmountCents   int64   `json:"amount_cents"`
}

type fixture struct {
	appURL   string
	products []product
	rates    map[string]float64 // currency → USD→currency rate
}

// want is the right amount for p in currency.
func (f *fixture) want(p product, currency string) int64 {
	return int64(math.Round(float64(p.Cents) * f.rates[currency]))
}

func (f *fixture) url(p product, currency string) string {
	return fmt.Sprintf("%s/quotes/%s?currency=%s", f.appURL, p.SKU, currency)
}

func main() {
	c := checker.New()
	defer c.Exit()
	ctx := c.Context()

	appURL := strings.TrimRight(checker.Env("APP_URL", "http://app:8080"), "/")
	db, err := checker.OpenDB(ctx, checker.Env("DB_DSN", "postgres://postgres:postgres@db:5432/store?sslmode=disable"))
	if err != nil {
		c.Fatal(err)
	}
	defer db.Close()

	f := &fixture{appURL: appURL, rates: map[string]float64{}}
	if err := publishRates(ctx, f); err != nil {
		c.Fatal(err)
	}
	tag := strings.ToUpper(checker.RandString(6))
	if err := addProducts(ctx, db, f, tag); err != nil {
		c.Fatal(err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if _, err := db.ExecContext(cctx, `DELETE FROM products WHERE sku LIKE $1`, "CHK-"+tag+"-%"); err != nil {
			c.Logf("could not remove the checker's products: %v", err)
		}
	}()
	c.Logf("published rates %v and %d products CHK-%s-…", f.rates, len(f.products), tag)

	c.Step("correct", func(s *checker.S) { checkCorrect(s, f) })
	c.Step("under-load", func(s *checker.S) { checkLoad(s, f) })
}

// publishRates sets random rates at the FX provider for the checker's
// currencies, so that no answer can be known in advance.
func publishRates(ctx context.Context, f *fixture) error {
	body := map[string]float64{}
	for _, cur := range currencies {
		base := map[string]float64{"EUR": 0.92, "GBP": 0.79, "JPY": 151, "CHF": 0.88, "SEK": 10.6}[cur]
		r := math.Round(base*(0.8+0.4*rand.Float64())*1e6) / 1e6
		f.rates[cur] = r
		body["USD/"+cur] = r
	}
	data, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(checker.Env("FX_URL", "http://fx:8090"), "/")+"/admin/rates", bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("X-Admin-Token", checker.Env("FX_ADMIN_TOKEN", ""))
	res, err := checker.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("publish rates at the FX provider: %w", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent {
		return fmt.Errorf("publish rates at the FX provider: %s", res.Status)
	}
	return nil
}

// addProducts inserts 20 products with random prices.
func addProducts(ctx context.Context, db *sqlx.DB, f *fixture, tag string) error {
	for i := range 20 {
		p := product{SKU: fmt.Sprintf("CHK-%s-%02d", tag, i), Cents: int64(checker.RandInt(100, 250000))}
		if _, err := db.ExecContext(ctx, `INSERT INTO products (sku, name, price_cents) VALUES ($1, $2, $3)`,
			p.SKU, "Checker item "+tag, p.Cents); err != nil {
			return fmt.Errorf("add the checker's products: %w", err)
		}
		f.products = append(f.products, p)
	}
	return nil
}

// probe is one checked request.
type probe struct {
	p        product
	currency string
	status   int
	err      error
	got      quote
}

func (f *fixture) ask(ctx context.Context, p product, currency string) probe {
	pr := probe{p: p, currency: currency}
	pr.status, pr.err = checker.GetJSON(ctx, f.url(p, currency), &pr.got)
	return pr
}

// problem says what is wrong with a probe's answer, or "".
func (f *fixture) problem(pr probe) string {
	path := strings.TrimPrefix(f.url(pr.p, pr.currency), f.appURL)
	switch {
	case pr.err != nil:
		return fmt.Sprintf("GET %s failed: %v", path, pr.err)
	case pr.status != http.StatusOK:
		return fmt.Sprintf("GET %s answered %d; 200 expected", path, pr.status)
	}
	want, g := f.want(pr.p, pr.currency), pr.got
	switch {
	case g.SKU != pr.p.SKU || g.PriceCents != pr.p.Cents:
		return fmt.Sprintf("GET %s answered product %s at %d cents; the checker's product %s costs %d USD cents",
			path, g.SKU, g.PriceCents, pr.p.SKU, pr.p.Cents)
	case g.Currency != pr.currency || g.AmountCents != want:
		return fmt.Sprintf("GET %s answered %d %s cents (rate %g); %d USD cents at the provider's USD→%s rate %g is %d %s cents",
			path, g.AmountCents, g.Currency, g.Rate, pr.p.Cents, pr.currency, f.rates[pr.currency], want, pr.currency)
	}
	return ""
}

// checkCorrect asks for quotes one at a time, then 64 at 8 at once.
func checkCorrect(s *checker.S, f *fixture) {
	ctx := s.Ctx()
	for i := range 5 {
		pr := f.ask(ctx, f.products[i], currencies[i%len(currencies)])
		if msg := f.problem(pr); msg != "" {
			s.Fail(msg+" (one request at a time).",
				"The quote must be the product's price converted at the provider's live rate, rounded to the nearest cent. "+
					"Compare your code with the original Convert in fx.go; curl the endpoint yourself.")
		}
	}

	const workers, each = 8, 8
	results := make([]probe, workers*each)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				k := w*each + i
				p := f.products[rand.IntN(len(f.products))]
				results[k] = f.ask(ctx, p, currencies[rand.IntN(len(currencies))])
			}
		}()
	}
	wg.Wait()
	var wrong []string
	for _, pr := range results {
		if msg := f.problem(pr); msg != "" {
			wrong = append(wrong, msg)
		}
	}
	s.Metric("concurrent_wrong", float64(len(wrong)), "")
	if len(wrong) > 0 {
		s.Data("wrong_answers", wrong)
		s.Fail(fmt.Sprintf("With %d requests at once, %d of %d quotes were wrong, although 5 asked one at a time were right. For example:\n%s",
			workers, len(wrong), len(results), strings.Join(wrong[:min(3, len(wrong))], "\n")),
			"Right alone, wrong together: requests share state they must not. While one request waits for the provider, "+
				"another one overwrites what the first will use when it resumes. Give each request its own conversion "+
				"(a local variable), and lock only what is really shared.")
	}
	s.Passf("5 quotes asked one at a time and %d asked %d at once were all right: each product's price (random, set by the checker) "+
		"converted at the provider's live rate (also set by the checker).", len(results), workers)
}

// checkLoad sends the fixed-rate load, then checks a few answers again.
func checkLoad(s *checker.S, f *fixture) {
	ctx := s.Ctx()
	var targets []load.Target
	for i, p := range f.products {
		targets = append(targets, load.Target{URL: f.url(p, currencies[i%len(currencies)])})
	}
	res, err := load.Run(ctx, load.Profile{
		Targets: targets, Rate: loadRate, Duration: loadDuration, Timeout: loadTimeout,
	})
	s.Must(err)
	for _, m := range res.Metrics() {
		s.Metric(m.Name, m.Value, m.Unit)
	}
	s.Data("load", map[string]any{"rate": loadRate, "duration_s": loadDuration.Seconds(), "timeout_s": loadTimeout.Seconds(),
		"engine": res.Engine, "urls": len(targets), "dropped": res.Dropped, "max_ms": res.Max})
	figures := fmt.Sprintf("p50 %.0f ms, p95 %.0f ms, p99 %.0f ms; %.0f successful responses/s for %d sent/s; %d of %d requests failed (%.1f%%)",
		res.P50, res.P95, res.P99, res.Throughput, loadRate, res.Errors, res.Requests, 100*res.ErrorRate)

	if res.P95 >= maxP95 || res.ErrorRate >= maxErrorRate {
		msg := fmt.Sprintf("At %d requests/s for %.0f s: %s. Expected p95 under %.0f ms and under 1%% errors.",
			loadRate, loadDuration.Seconds(), figures, maxP95)
		hint := "Latency grows with the load although one request alone is fast: requests queue for something only one of them can hold at a time. " +
			"Find what each request waits for (read Convert in fx.go) and let requests run it in parallel."
		if res.Throughput < 0.5*loadRate {
			msg += fmt.Sprintf(" The service completed only about %.0f requests a second: the others queued until they timed out (%s).", res.Throughput, loadTimeout)
		}
		s.Fail(msg, hint)
	}

	// A fast answer must still be the right one.
	for i := range 5 {
		pr := f.ask(ctx, f.products[(i*7)%len(f.products)], currencies[(i+2)%len(currencies)])
		if msg := f.problem(pr); msg != "" {
			s.Fail(fmt.Sprintf("The load passed (%s), but right after it %s.", figures, msg),
				"Speed counts only with the right prices: each quote is the product's price converted at the provider's live rate.")
		}
	}
	s.Passf("At %d requests/s for %.0f s (%d URLs of the checker's products): %s. Quotes asked right after were right.",
		loadRate, loadDuration.Seconds(), len(targets), figures)
}
