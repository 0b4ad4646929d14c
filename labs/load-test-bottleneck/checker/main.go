// Command checker verifies the load-test-bottleneck lab: the quotes
// service must price products right, one request at a time and many at
// once; it must hold 150 requests a second with a p95 under 1 s, under 1%
// errors and right answers; and its quotes must follow the provider's
// rates and the catalog's prices, at most 2 s behind them.
//
// It publishes exchange rates of its own at the FX provider and adds
// products of its own to the catalog, so it knows every right answer. It
// keeps the history of what the provider served and when, and judges each
// quote against the rates and prices in effect while it was asked (give or
// take the allowed staleness). It changes the rates during the load and
// after it, changes prices, adds a product, and makes the provider fail for
// one currency. It generates the load with backlab's runner/load from its
// own container, and samples quotes of its own during the load to read
// their bodies (the load generator counts statuses only).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"sort"
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
	maxErrorRate = 0.01
	// p95 must stay under p95PerBaseline × the provider's median latency
	// as the checker measures it right before the load (the baseline of
	// this run, which the learner's code cannot inflate), clamped to
	// [p95Floor, p95Cap]: on a quiet machine 20 × 25 ms gives the floor,
	// 1 s; on a machine so busy that the provider answers slowly too, up to
	// 2.5 s. The fixed service measured p95 47–206 ms here, the starter
	// ~5000 ms (its timeout): the cap stays well under the timeout, so a
	// queue that only the timeout ends never passes however slow the
	// machine is.
	p95Floor       = 1000.0 // ms
	p95Cap         = 2500.0 // ms
	p95PerBaseline = 20.0

	// maxAge is the staleness the instructions allow: a quote may use a
	// rate (or a price) that was current at most 2 s before it was asked.
	// ageSlack is the checker's own margin on a busy machine (a response in
	// transit, a cache entry stamped when the answer arrived), never
	// promised to the learner.
	maxAge   = 2 * time.Second
	ageSlack = time.Second
	window   = maxAge + ageSlack

	sampleEvery = 100 * time.Millisecond // the checker's own quotes during the load: 10 a second
)

// rateChanges are when, into the load, the checker publishes new rates:
// 4 s apart, so that samples more than `window` after a change and before
// the next exist for every change.
var rateChanges = []time.Duration{4 * time.Second, 8 * time.Second, 12 * time.Second}

var (
	currencies = []string{"EUR", "GBP", "JPY", "CHF", "SEK"}
	baseRates  = map[string]float64{"EUR": 0.92, "GBP": 0.79, "JPY": 151, "CHF": 0.88, "SEK": 10.6}
)

// span is one value (a rate or a price) and when it was in effect. A zero
// from means "before the check began"; a zero until, "still in effect".
// Both ends are taken on the conservative side: from when the change was
// sent, until the next change was acknowledged.
type span struct {
	value       float64
	from, until time.Time
	fault       bool // a rate: the provider answered 503 instead
	before      bool // the value was there before the check began
}

// timeline is the history of one rate or one price.
type timeline struct{ spans []span }

func (tl *timeline) set(v float64, t0, t1 time.Time, fault bool) {
	if n := len(tl.spans); n > 0 {
		tl.spans[n-1].until = t1
	}
	tl.spans = append(tl.spans, span{value: v, from: t0, fault: fault})
}

func (tl *timeline) current() span { return tl.spans[len(tl.spans)-1] }

func same(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// served returns the index of the latest span that served v and began
// before te, or -1: a value the provider (or the catalog) never had by then.
func (tl *timeline) served(v float64, te time.Time) int {
	for i := len(tl.spans) - 1; i >= 0; i-- {
		sp := tl.spans[i]
		if !sp.fault && same(sp.value, v) && (sp.from.IsZero() || !sp.from.After(te)) {
			return i
		}
	}
	return -1
}

// fresh says whether sp was still in effect at ts - age.
func fresh(sp span, ts time.Time, age time.Duration) bool {
	return sp.until.IsZero() || !sp.until.Before(ts.Add(-age))
}

// product is one of the checker's products.
type product struct {
	SKU   string
	Cents int64 // the price at creation
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
	appURL, fxURL, fxToken string
	db                     *sqlx.DB
	tag                    string
	t0                     time.Time // the check's start: times in messages are relative to it
	products               []product

	mu     sync.Mutex
	rates  map[string]*timeline // currency → USD→currency rate
	prices map[string]*timeline // SKU → price in USD cents

	baseline float64  // ms: median latency of single quotes, measured by the correct step
	stale    []probe  // quotes sampled during the load that used a rate too old, for the fresh step
	sampled  int      // right quotes sampled during the load
	changes  []string // when the rates changed during the load (t=…)
}

func (f *fixture) url(sku, currency string) string {
	return fmt.Sprintf("%s/quotes/%s?currency=%s", f.appURL, sku, currency)
}

func (f *fixture) at(t time.Time) string { return fmt.Sprintf("t=%.1fs", t.Sub(f.t0).Seconds()) }

func main() {
	c := checker.New()
	defer c.Exit()
	ctx := c.Context()

	f := &fixture{
		appURL:  strings.TrimRight(checker.Env("APP_URL", "http://app:8080"), "/"),
		fxURL:   strings.TrimRight(checker.Env("FX_URL", "http://fx:8090"), "/"),
		fxToken: checker.Env("FX_ADMIN_TOKEN", ""),
		rates:   map[string]*timeline{},
		prices:  map[string]*timeline{},
		t0:      time.Now(),
	}
	db, err := checker.OpenDB(ctx, checker.Env("DB_DSN", "postgres://postgres:postgres@db:5432/store?sslmode=disable"))
	if err != nil {
		c.Fatal(err)
	}
	defer db.Close()
	f.db = db

	// A fault left by a check that stopped half-way would fail this one.
	if err := f.setFaults(ctx, currencies, "0s"); err != nil {
		c.Fatal(err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := f.setFaults(cctx, currencies, "0s"); err != nil {
			c.Logf("could not end the provider's fault: %v", err)
		}
	}()
	// What the provider served before the check: an app that loaded it
	// earlier may use it for a little while, and messages can name it.
	if err := f.readPriorRates(ctx); err != nil {
		c.Fatal(err)
	}
	f.tag = strings.ToUpper(checker.RandString(6))
	if err := f.addProducts(ctx); err != nil {
		c.Fatal(err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if _, err := db.ExecContext(cctx, `DELETE FROM products WHERE sku LIKE $1`, "CHK-"+f.tag+"-%"); err != nil {
			c.Logf("could not remove the checker's products: %v", err)
		}
	}()
	// Published last, right before the quotes: a rate loaded before the
	// check may be used only within the allowed staleness of this moment.
	if err := f.publishRates(ctx, currencies); err != nil {
		c.Fatal(err)
	}
	c.Logf("published rates %s and %d products CHK-%s-…", f.rateList(), len(f.products), f.tag)

	c.Step("correct", func(s *checker.S) { checkCorrect(s, f) })
	c.Step("under-load", func(s *checker.S) { checkLoad(s, f) })
	c.Step("fresh", func(s *checker.S) { checkFresh(s, f) })
}

// ---- the provider and the catalog ----

func (f *fixture) admin(ctx context.Context, path string, body any) error {
	data, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.fxURL+path, bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("X-Admin-Token", f.fxToken)
	res, err := checker.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("FX provider %s: %w", path, err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent {
		return fmt.Errorf("FX provider %s: %s", path, res.Status)
	}
	return nil
}

func (f *fixture) readPriorRates(ctx context.Context) error {
	for _, cur := range currencies {
		var body struct {
			Rate float64 `json:"rate"`
		}
		status, err := checker.GetJSON(ctx, f.fxURL+"/rates/USD/"+cur, &body)
		tl := &timeline{}
		if err == nil && status == http.StatusOK {
			tl.spans = []span{{value: body.Rate, before: true}}
		}
		f.rates[cur] = tl
	}
	return nil
}

// newRate is a random rate near the currency's usual one, at least 3% away
// from the current one so that no two rates of a check are confused.
func (f *fixture) newRate(cur string) float64 {
	var old float64
	if tl := f.rates[cur]; len(tl.spans) > 0 {
		old = tl.current().value
	}
	for {
		r := math.Round(baseRates[cur]*(0.8+0.4*rand.Float64())*1e6) / 1e6
		if old == 0 || math.Abs(r-old)/old >= 0.03 {
			return r
		}
	}
}

// publishRates sets new random rates at the provider for the currencies
// given and records when they took effect.
func (f *fixture) publishRates(ctx context.Context, curs []string) error {
	f.mu.Lock()
	body := map[string]float64{}
	for _, cur := range curs {
		body["USD/"+cur] = f.newRate(cur)
	}
	f.mu.Unlock()
	t0 := time.Now()
	if err := f.admin(ctx, "/admin/rates", body); err != nil {
		return fmt.Errorf("publish rates: %w", err)
	}
	t1 := time.Now()
	f.mu.Lock()
	for _, cur := range curs {
		f.rates[cur].set(body["USD/"+cur], t0, t1, false)
	}
	f.mu.Unlock()
	return nil
}

// setFaults makes the provider answer 503 for the currencies for d ("0s":
// no more).
func (f *fixture) setFaults(ctx context.Context, curs []string, d string) error {
	body := map[string]string{}
	for _, cur := range curs {
		body["USD/"+cur] = d
	}
	return f.admin(ctx, "/admin/faults", body)
}

func (f *fixture) rateList() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var parts []string
	for _, cur := range currencies {
		parts = append(parts, fmt.Sprintf("%s %g", cur, f.rates[cur].current().value))
	}
	return strings.Join(parts, ", ")
}

// addProducts inserts 20 products with random prices.
func (f *fixture) addProducts(ctx context.Context) error {
	for i := range 20 {
		p := product{SKU: fmt.Sprintf("CHK-%s-%02d", f.tag, i), Cents: int64(checker.RandInt(100, 250000))}
		if _, err := f.db.ExecContext(ctx, `INSERT INTO products (sku, name, price_cents) VALUES ($1, $2, $3)`,
			p.SKU, "Checker item "+f.tag, p.Cents); err != nil {
			return fmt.Errorf("add the checker's products: %w", err)
		}
		f.products = append(f.products, p)
		f.prices[p.SKU] = &timeline{spans: []span{{value: float64(p.Cents)}}}
	}
	return nil
}

// ---- asking for quotes and judging them ----

// probe is one quote the checker asked for.
type probe struct {
	sku, currency string
	start, end    time.Time
	status        int
	err           error  // no answer (refused, reset, timed out)
	badBody       string // a 200 whose body is not a quote
	got           quote
}

func (pr probe) path() string { return fmt.Sprintf("/quotes/%s?currency=%s", pr.sku, pr.currency) }

// askClient is the client of the checker's own quotes; like the load
// generator's, it keeps connections alive.
var askClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

func (f *fixture) ask(ctx context.Context, sku, currency string, timeout time.Duration) (pr probe) {
	pr = probe{sku: sku, currency: currency, start: time.Now()}
	defer func() { pr.end = time.Now() }()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.url(sku, currency), nil)
	if err != nil {
		pr.err = err
		return pr
	}
	res, err := askClient.Do(req)
	if err != nil {
		pr.err = err
		return pr
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	pr.status = res.StatusCode
	if err != nil {
		pr.err = err
		return pr
	}
	if pr.status == http.StatusOK {
		if err := json.Unmarshal(body, &pr.got); err != nil {
			b := string(body)
			if len(b) > 120 {
				b = b[:120] + "…"
			}
			pr.badBody = fmt.Sprintf("%q", b)
		}
	}
	return pr
}

// Verdicts of one probe.
const (
	okQuote   = iota
	failed    // no answer, or not 200
	wrong     // a 200 that is not this product's price in this currency at the rate it names
	madeUp    // a 200 at a rate the provider never served for this currency
	staleRate // right, but with a rate or a price older than the allowed staleness
)

// judge says whether pr is right with rates and prices at most age old
// (age < 0: any rate or price served before the answer), and if not, why.
func (f *fixture) judge(pr probe, age time.Duration) (int, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := pr.path()
	switch {
	case pr.err != nil:
		return failed, fmt.Sprintf("GET %s got no answer after %s: %v", p, ms(pr.end.Sub(pr.start)), shortErr(pr.err))
	case pr.status != http.StatusOK:
		return failed, fmt.Sprintf("GET %s answered %d in %s; 200 expected", p, pr.status, ms(pr.end.Sub(pr.start)))
	case pr.badBody != "":
		return wrong, fmt.Sprintf("GET %s answered 200 with %s, which is not a quote", p, pr.badBody)
	}
	g := pr.got
	prices := f.prices[pr.sku]
	rates := f.rates[pr.currency]
	price := prices.served(float64(g.PriceCents), pr.end)
	switch {
	case g.SKU != pr.sku || price < 0:
		return wrong, fmt.Sprintf("GET %s answered product %q at %d cents; the checker's product %s costs %.0f USD cents",
			p, g.SKU, g.PriceCents, pr.sku, prices.current().value)
	case g.Currency != pr.currency:
		return wrong, fmt.Sprintf("GET %s answered an amount in %q; the customer asked for %s", p, g.Currency, pr.currency)
	}
	rate := rates.served(g.Rate, pr.end)
	if rate < 0 {
		return madeUp, fmt.Sprintf("GET %s answered %d %s cents at rate %g, a rate the provider never served for USD→%s during the check or just before it (it serves %s)",
			p, g.AmountCents, g.Currency, g.Rate, pr.currency, f.describeRate(rates.current()))
	}
	if want := int64(math.Round(float64(g.PriceCents) * g.Rate)); g.AmountCents != want {
		return wrong, fmt.Sprintf("GET %s answered %d %s cents; %d USD cents at the rate it names (%g) is %d %s cents",
			p, g.AmountCents, g.Currency, g.PriceCents, g.Rate, want, g.Currency)
	}
	if age < 0 {
		return okQuote, ""
	}
	if sp := rates.spans[rate]; !fresh(sp, pr.start, age) {
		next := rates.spans[rate+1]
		what := fmt.Sprintf("from %s on, it served %s", f.at(next.from), f.describeRate(next))
		if next.fault {
			what = fmt.Sprintf("from %s on, it answered 503: no rate at all", f.at(next.from))
		}
		which := "which"
		if sp.before {
			which = "the provider's rate from before the check began (built in, or loaded before it?), which"
		}
		return staleRate, fmt.Sprintf("GET %s, asked at %s, used USD→%s rate %g, %s the provider stopped serving %.1f s earlier (%s)",
			p, f.at(pr.start), pr.currency, g.Rate, which, pr.start.Sub(sp.until).Seconds(), what)
	}
	if sp := prices.spans[price]; !fresh(sp, pr.start, age) {
		return staleRate, fmt.Sprintf("GET %s, asked at %s, used the price %d USD cents, which the catalog had changed to %.0f %.1f s earlier",
			p, f.at(pr.start), g.PriceCents, prices.current().value, pr.start.Sub(sp.until).Seconds())
	}
	return okQuote, ""
}

// age is how long before pr was asked the rate (or price) it used had
// stopped being current: 0 when it was current.
func (f *fixture) age(pr probe) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	var age time.Duration
	if i := f.rates[pr.currency].served(pr.got.Rate, pr.end); i >= 0 {
		if u := f.rates[pr.currency].spans[i].until; !u.IsZero() {
			age = pr.start.Sub(u)
		}
	}
	if tl := f.prices[pr.sku]; tl != nil {
		if i := tl.served(float64(pr.got.PriceCents), pr.end); i >= 0 {
			if u := tl.spans[i].until; !u.IsZero() {
				age = max(age, pr.start.Sub(u))
			}
		}
	}
	return age
}

// staleMessages are the messages of stale probes, the oldest rates first.
func (f *fixture) staleMessages(prs []probe) []string {
	prs = slices.Clone(prs)
	sort.SliceStable(prs, func(i, j int) bool { return f.age(prs[i]) > f.age(prs[j]) })
	var msgs []string
	for _, pr := range prs {
		_, msg := f.judge(pr, window)
		msgs = append(msgs, msg)
	}
	return msgs
}

func (f *fixture) describeRate(sp span) string {
	switch {
	case sp.fault:
		return "503, no rate"
	case sp.before:
		return fmt.Sprintf("%g, its rate before the check", sp.value)
	}
	return fmt.Sprintf("%g, set at %s", sp.value, f.at(sp.from))
}

func ms(d time.Duration) string {
	if d < 10*time.Millisecond {
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%d ms", d.Milliseconds())
}

func shortErr(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return "timed out"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	}
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		s = s[i+2:]
	}
	return s
}

// examples are the first n different messages.
func examples(msgs []string, n int) string {
	var out []string
	for _, m := range msgs {
		if len(out) < n && !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return strings.Join(out, "\n")
}

const staleHint = "A quote may use a rate (and a price) at most 2 s old. A cache of rates is fine if its entries live 2 s or less " +
	"(or concurrent misses share one provider call); entries kept for minutes, loaded once, or kept when the provider fails serve old prices."

// ---- step: correct ----

// checkCorrect asks for quotes one at a time, then in bursts that start
// together, and checks two answers that are not prices.
//
// Ways to pass it without the skill, and what stops them:
//   - hard-coded or invented rates: the rates are random, published by the
//     checker a moment before, and the quote's rate and amount are both
//     compared with them;
//   - a cache loaded before the check: a rate older than the allowed
//     staleness fails (the history says when each rate was served);
//   - shared state that only goes wrong under concurrency (the starter
//     without its lock, a lock around each touch of a shared field, a
//     collapsed provider call whose result carries the first caller's
//     price): 8 bursts of 8 requests released together, each with 4
//     products in one currency and one product in 4 currencies, so that
//     requests for the same currency and for the same product overlap in
//     every burst while they wait ~25 ms for the provider; one wrong answer
//     fails;
//   - a cache that answers 0 for a currency it does not know: an unknown
//     currency must not get a 200.
func checkCorrect(s *checker.S, f *fixture) {
	ctx := s.Ctx()
	var lat []time.Duration
	for i := range 10 {
		pr := f.ask(ctx, f.products[i].SKU, currencies[i%len(currencies)], 10*time.Second)
		lat = append(lat, pr.end.Sub(pr.start))
		if v, msg := f.judge(pr, window); v != okQuote {
			hint := "The quote must be the product's price converted at the provider's current rate, rounded to the nearest cent. " +
				"Compare your code with the original Convert in fx.go; curl the endpoint yourself."
			if v == staleRate {
				hint = staleHint
			}
			s.Fail(msg+" (one request at a time).", hint)
		}
	}
	f.baseline = float64(checker.Median(lat)) / float64(time.Millisecond)
	s.Metric("single_request_ms", math.Round(f.baseline*100)/100, "ms")

	// Answers that are not prices keep working.
	unknown := "Q" + strings.ToUpper(checker.RandString(2))
	for strings.ContainsAny(unknown[1:], "0123456789") {
		unknown = "Q" + strings.ToUpper(checker.RandString(2))
	}
	pr := f.ask(ctx, f.products[0].SKU, unknown, 10*time.Second)
	if pr.err == nil && pr.status >= 200 && pr.status < 300 {
		s.Fail(fmt.Sprintf("GET %s answered %d, for a currency the provider has no rate for (it answers 404 for USD/%s); 400 expected, as the original service does.", pr.path(), pr.status, unknown),
			"A missing rate is not a rate of 0: when the provider does not know the currency, answer an error, never a price.")
	}
	missing := fmt.Sprintf("CHK-%s-NOPE", f.tag)
	pr = f.ask(ctx, missing, "EUR", 10*time.Second)
	if pr.err != nil || pr.status != http.StatusNotFound {
		got := fmt.Sprint(pr.status)
		if pr.err != nil {
			got = "no answer (" + shortErr(pr.err) + ")"
		}
		s.Fail(fmt.Sprintf("GET %s answered %s for a product that does not exist; 404 expected, as the original service does.", pr.path(), got),
			"Keep handleQuote's answers for unknown products.")
	}

	const bursts, width = 8, 8
	var results []probe
	for range bursts {
		ps := rand.Perm(len(f.products))
		cs := rand.Perm(len(currencies))
		var pairs [][2]string
		for i := range 4 { // four products, one currency
			pairs = append(pairs, [2]string{f.products[ps[i]].SKU, currencies[cs[0]]})
		}
		for i := range width - 4 { // one product, four other currencies
			pairs = append(pairs, [2]string{f.products[ps[4]].SKU, currencies[cs[1+i%(len(cs)-1)]]})
		}
		out := make([]probe, len(pairs))
		var ready, wg sync.WaitGroup
		start := make(chan struct{})
		for i, pair := range pairs {
			ready.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				ready.Done()
				<-start
				out[i] = f.ask(ctx, pair[0], pair[1], 10*time.Second)
			}()
		}
		ready.Wait()
		close(start)
		wg.Wait()
		results = append(results, out...)
	}
	var bad, madeUps, refused []string
	var stale []probe
	for _, pr := range results {
		switch v, msg := f.judge(pr, window); v {
		case okQuote:
		case staleRate:
			stale = append(stale, pr)
		case failed:
			refused = append(refused, msg)
		case madeUp:
			madeUps = append(madeUps, msg)
		default:
			bad = append(bad, msg)
		}
	}
	s.Metric("concurrent_wrong", float64(len(bad)+len(madeUps)+len(stale)+len(refused)), "")
	if len(refused) > 0 {
		s.Data("failed_answers", refused)
		s.Fail(fmt.Sprintf("With %d requests at once, %d of %d got no quote, although 10 asked one at a time did. For example:\n%s",
			width, len(refused), len(results), examples(refused, 3)),
			"Concurrent requests must be served, not refused: the checkout asks for every line of a cart at once. "+
				"Find what makes a request wait for (or give up on) another one, and let them run in parallel.")
	}
	if len(bad) > 0 {
		s.Data("wrong_answers", bad)
		s.Fail(fmt.Sprintf("With %d requests at once, %d of %d quotes were wrong, although 10 asked one at a time were right. For example:\n%s",
			width, len(bad), len(results), examples(bad, 3)),
			"Right alone, wrong together: requests share state they must not. While one request waits for the provider, "+
				"another one overwrites (or hands over) what the first will use when it resumes. Give each request its own conversion "+
				"(a local variable), share only the rate, and lock only what is really shared.")
	}
	if len(madeUps) > 0 {
		s.Data("wrong_answers", madeUps)
		s.Fail(fmt.Sprintf("With %d requests at once, %d of %d quotes used a rate the provider never gave, although 10 asked one at a time were right. For example:\n%s",
			width, len(madeUps), len(results), examples(madeUps, 3)),
			"A built-in or default rate is not the provider's rate: every quote, busy or not, must use a rate the provider served (at most 2 s old).")
	}
	if len(stale) > 0 {
		msgs := f.staleMessages(stale)
		s.Data("stale_answers", msgs)
		s.Fail(fmt.Sprintf("With %d requests at once, %d of %d quotes used a rate older than 2 s. For example:\n%s",
			width, len(stale), len(results), examples(msgs, 3)), staleHint)
	}
	s.Passf("10 quotes asked one at a time (median %.0f ms) and %d asked in bursts of %d at once were all right: each product's price (random, set by the checker) "+
		"converted at the provider's current rate (also set by the checker); an unknown currency and an unknown product got errors.",
		f.baseline, len(results), width)
}

// ---- step: under-load ----

// checkLoad sends the fixed-rate load and, during it, changes the rates
// and samples quotes of its own.
//
// Ways to pass it without the skill, and what stops them:
//   - fast answers that are not quotes (200 with an empty or error body, a
//     quote in another currency or at a made-up rate when the service is
//     busy): the load generator counts statuses only, so the checker asks
//     10 quotes a second of its own during the load, indistinguishable
//     from the load's, and one wrong body fails the step;
//   - refusing the excess fast (503 when busy): every failed request
//     counts, the checker's as well as the load's; the message says how the
//     failures looked (fast refusals, timeouts, no answer), not a guess;
//   - a cache that makes the load pass with stale rates: judged by the
//     fresh step, from the same samples;
//   - a slow machine: the latency bound scales with the provider's latency
//     measured by the checker right before the load, within 1–2.5 s (the
//     starter's queue reaches the 5 s timeout whatever the machine); the
//     app's own latency is not the baseline, so slowing single requests
//     down does not buy a looser bound.
func checkLoad(s *checker.S, f *fixture) {
	ctx := s.Ctx()
	var targets []load.Target
	for i, p := range f.products {
		targets = append(targets, load.Target{URL: f.url(p.SKU, currencies[i%len(currencies)])})
	}

	// The baseline: the provider's latency, from the checker, just now.
	var lat []time.Duration
	for range 10 {
		t := time.Now()
		status, _, err := checker.GetText(ctx, f.fxURL+"/rates/USD/EUR")
		if err != nil || status != http.StatusOK {
			s.Must(fmt.Errorf("the FX provider did not answer the checker: %d %v", status, err))
		}
		lat = append(lat, time.Since(t))
	}
	providerMS := float64(checker.Median(lat)) / float64(time.Millisecond)
	s.Metric("provider_ms", math.Round(providerMS*100)/100, "ms")

	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	var (
		mu      sync.Mutex
		samples []probe
		wg      sync.WaitGroup
		pubErr  error
	)
	start := time.Now()
	wg.Add(2)
	go func() { // the rates change during the load
		defer wg.Done()
		for _, at := range rateChanges {
			select {
			case <-time.After(time.Until(start.Add(at))):
			case <-loadCtx.Done():
				return
			}
			if err := f.publishRates(loadCtx, currencies); err != nil {
				if loadCtx.Err() == nil {
					pubErr = err
				}
				return
			}
			f.changes = append(f.changes, f.at(time.Now()))
		}
	}()
	go func() { // the checker's own quotes, 10 a second
		defer wg.Done()
		tick := time.NewTicker(sampleEvery)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
			case <-loadCtx.Done():
				return
			}
			if time.Since(start) >= loadDuration {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				pr := f.ask(ctx, f.products[rand.IntN(len(f.products))].SKU, currencies[rand.IntN(len(currencies))], loadTimeout)
				mu.Lock()
				samples = append(samples, pr)
				mu.Unlock()
			}()
		}
	}()
	res, err := load.Run(ctx, load.Profile{
		Targets: targets, Rate: loadRate, Duration: loadDuration, Timeout: loadTimeout,
	})
	stopLoad()
	wg.Wait()
	s.Must(err)
	s.Must(pubErr)

	for _, m := range res.Metrics() {
		s.Metric(m.Name, m.Value, m.Unit)
	}
	limit := math.Min(math.Max(p95Floor, p95PerBaseline*providerMS), p95Cap)
	var bad []string
	var failures []probe
	for _, pr := range samples {
		switch v, msg := f.judge(pr, -1); v {
		case failed:
			failures = append(failures, pr)
		case wrong, madeUp:
			bad = append(bad, msg)
		default:
			if k, _ := f.judge(pr, window); k == staleRate {
				f.stale = append(f.stale, pr)
			} else {
				f.sampled++
			}
		}
	}
	requests, errs := res.Requests+len(samples), res.Errors+len(failures)
	errRate := float64(errs) / float64(max(requests, 1))
	s.Metric("sampled_wrong", float64(len(bad)), "")
	s.Data("load", map[string]any{"rate": loadRate, "duration_s": loadDuration.Seconds(), "timeout_s": loadTimeout.Seconds(),
		"engine": res.Engine, "urls": len(targets), "dropped": res.Dropped, "max_ms": res.Max,
		"p95_limit_ms": limit, "provider_ms": providerMS, "sampled": len(samples), "sampled_failed": len(failures), "sampled_wrong": len(bad)})
	figures := fmt.Sprintf("p50 %.0f ms, p95 %.0f ms, p99 %.0f ms; %.0f successful responses/s for %d sent/s; %d of %d requests failed (%.1f%%, the checker's %d sampled quotes included)",
		res.P50, res.P95, res.P99, res.Throughput, loadRate, errs, requests, 100*errRate, len(samples))

	if res.P95 >= limit || errRate >= maxErrorRate {
		msg := fmt.Sprintf("At %d requests/s for %.0f s: %s. Expected p95 under %.0f ms (a single quote took %.0f ms, the provider %.0f ms) and under 1%% errors.",
			loadRate, loadDuration.Seconds(), figures, limit, f.baseline, providerMS)
		msg += " " + diagnose(res, failures)
		if len(bad) > 0 {
			msg += fmt.Sprintf(" Besides, %d of the %d quotes the checker read during the load were wrong, e.g.: %s", len(bad), len(samples), bad[0])
		}
		hint := "Latency grows with the load although one request alone is fast: requests queue for something only one of them can hold at a time. " +
			"Find what each request waits for (read Convert in fx.go) and let requests run it in parallel."
		if refusedFast(failures) {
			hint = "Refusing requests is not keeping up: the checkout needs every quote. Find what makes requests wait for each other " +
				"(read Convert in fx.go) and let them run in parallel instead of turning them away."
		}
		s.Fail(msg, hint)
	}
	if len(bad) > 0 {
		s.Data("wrong_answers", bad)
		s.Fail(fmt.Sprintf("The load's figures hold (%s), but %d of the %d quotes the checker read during the load were wrong. For example:\n%s",
			figures, len(bad), len(samples), examples(bad, 3)),
			"A fast answer counts only if it is the right one: under load too, each quote is the product's price in the currency asked, "+
				"at a rate the provider served. Answers made up when the service is busy (another currency, a fixed rate, an empty body) are wrong answers, not fast ones.")
	}
	s.Passf("At %d requests/s for %.0f s (%d URLs of the checker's products): %s. The %d quotes the checker read during the load were right.",
		loadRate, loadDuration.Seconds(), len(targets), figures, len(samples))
}

// refusedFast says whether most failures were answers (not timeouts) that
// came back in well under a second.
func refusedFast(failures []probe) bool {
	fast := 0
	for _, pr := range failures {
		if pr.err == nil && pr.end.Sub(pr.start) < time.Second {
			fast++
		}
	}
	return len(failures) > 0 && 2*fast > len(failures)
}

// diagnose says what the failed requests looked like, from the load's
// figures and the checker's own failed samples.
func diagnose(res load.Result, failures []probe) string {
	var timeouts, refused int
	statuses := map[int][]time.Duration{}
	for _, pr := range failures {
		var ne net.Error
		switch {
		case errors.Is(pr.err, context.DeadlineExceeded) || (errors.As(pr.err, &ne) && ne.Timeout()):
			timeouts++
		case pr.err != nil:
			refused++
		default:
			statuses[pr.status] = append(statuses[pr.status], pr.end.Sub(pr.start))
		}
	}
	var parts []string
	if timeouts > 0 {
		parts = append(parts, fmt.Sprintf("%d got no answer within the %s timeout", timeouts, loadTimeout))
	}
	if refused > 0 {
		parts = append(parts, fmt.Sprintf("%d got no answer at all (connection refused or reset: did the service stop? read its log)", refused))
	}
	codes := make([]int, 0, len(statuses))
	for code := range statuses {
		codes = append(codes, code)
	}
	sort.Ints(codes)
	for _, code := range codes {
		parts = append(parts, fmt.Sprintf("%d were answered %d in a median of %s", len(statuses[code]), code, ms(checker.Median(statuses[code]))))
	}
	var out string
	if len(parts) > 0 {
		out = fmt.Sprintf("Of the checker's own %s that failed, %s.", plural(len(failures), "sampled request"), strings.Join(parts, ", "))
	}
	switch {
	case timeouts > 0 && 2*timeouts >= len(failures) && res.Throughput < 0.5*loadRate:
		out += fmt.Sprintf(" The service completed only about %.0f requests a second: the others queued until the timeout ended them.", res.Throughput)
	case refusedFast(failures):
		out += " The service turned requests away at once instead of serving them: it did not keep up, it refused."
	case len(failures) == 0 && res.P95 >= p95Floor:
		out += " Requests were answered, but late: they queued behind one another."
	}
	return strings.TrimSpace(out)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// ---- step: fresh ----

// checkFresh judges the rates of the quotes sampled during the load, then
// changes rates and prices once more, adds a product and makes the
// provider fail for one currency, and asks until every quote follows.
//
// Ways to pass it without the skill, and what stops them:
//   - a cache kept for minutes, a copy loaded once (at startup or on first
//     use) and never refreshed: the rates changed 3 times during the load
//     and once after it; any quote using a rate the provider had stopped
//     serving more than 2 s (+1 s of slack) before fails, and after the last
//     change every currency must show the new rate within 2 s;
//   - keeping an old rate, or a built-in table, when the provider fails:
//     the provider answers 503 for one currency (chosen at random); 3 s
//     later its quotes must be errors, not prices;
//   - caching products: three checker products change price and a new one
//     appears; quotes must show them within the same 2 s;
//   - correct designs (no cache, a cache of 2 s or less, one provider call
//     shared by concurrent misses) pass: a quote is judged against every
//     rate in effect from 3 s before it was asked until it was answered.
func checkFresh(s *checker.S, f *fixture) {
	ctx := s.Ctx()
	if msgs := f.staleMessages(f.stale); len(msgs) > 0 {
		s.Data("stale_during_load", msgs)
		s.Fail(fmt.Sprintf("The checker changed the provider's rates during the load, at %s; %d of the quotes it read afterwards used a rate the provider had stopped serving more than 2 s before. For example:\n%s",
			f.changeTimes(), len(msgs), examples(msgs, 3)), staleHint)
	}

	// The last change: new rates for all currencies but one, which fails;
	// new prices for three products; a product nobody asked for yet.
	faultCur := currencies[rand.IntN(len(currencies))]
	var healthy []string
	for _, cur := range currencies {
		if cur != faultCur {
			healthy = append(healthy, cur)
		}
	}
	changed := rand.Perm(len(f.products))[:3]
	for _, i := range changed {
		sku := f.products[i].SKU
		f.mu.Lock()
		old := int64(f.prices[sku].current().value)
		f.mu.Unlock()
		price := old
		for math.Abs(float64(price-old)) < 0.03*float64(old)+2 {
			price = int64(checker.RandInt(100, 250000))
		}
		t0 := time.Now()
		_, err := f.db.ExecContext(ctx, `UPDATE products SET price_cents = $1, updated_at = now() WHERE sku = $2`, price, sku)
		s.Must(err)
		t1 := time.Now()
		f.mu.Lock()
		f.prices[sku].set(float64(price), t0, t1, false)
		f.mu.Unlock()
	}
	newSKU := fmt.Sprintf("CHK-%s-%02d", f.tag, len(f.products))
	newPrice := int64(checker.RandInt(100, 250000))
	t0 := time.Now()
	_, err := f.db.ExecContext(ctx, `INSERT INTO products (sku, name, price_cents) VALUES ($1, $2, $3)`, newSKU, "Checker item "+f.tag, newPrice)
	s.Must(err)
	f.mu.Lock()
	f.prices[newSKU] = &timeline{spans: []span{{value: float64(newPrice), from: t0}}}
	f.mu.Unlock()
	s.Must(f.publishRates(ctx, healthy))
	t0 = time.Now()
	s.Must(f.setFaults(ctx, []string{faultCur}, "8s"))
	t1 := time.Now()
	f.mu.Lock()
	f.rates[faultCur].set(0, t0, t1, true)
	f.mu.Unlock()
	changedAt := t1

	// What the checker asks, round after round.
	type key struct{ sku, currency string }
	var keys []key
	for i, cur := range healthy {
		keys = append(keys, key{f.products[changed[i%len(changed)]].SKU, cur})
	}
	keys = append(keys, key{newSKU, healthy[rand.IntN(len(healthy))]})
	keys = append(keys, key{f.products[rand.IntN(len(f.products))].SKU, faultCur})

	// current says whether pr shows the last change.
	current := func(pr probe) bool {
		if pr.currency == faultCur {
			return pr.err != nil || pr.status != http.StatusOK
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		return pr.err == nil && pr.status == http.StatusOK && pr.badBody == "" &&
			same(pr.got.Rate, f.rates[pr.currency].current().value) && same(float64(pr.got.PriceCents), f.prices[pr.sku].current().value)
	}
	deadline := changedAt.Add(window + 300*time.Millisecond)
	var last []probe
	var all []probe
	rounds := 0
	for {
		final := !time.Now().Before(deadline)
		round := make([]probe, len(keys))
		for i, k := range keys { // one at a time: this step is about time, not concurrency
			round[i] = f.ask(ctx, k.sku, k.currency, 4*time.Second)
		}
		rounds++
		all = append(all, round...)
		last = round
		if final || !slices.ContainsFunc(round, func(pr probe) bool { return !current(pr) }) {
			break
		}
		select {
		case <-time.After(min(200*time.Millisecond, time.Until(deadline))):
		case <-ctx.Done():
			s.Must(ctx.Err())
		}
	}
	settled := time.Since(changedAt)

	var bad, errs []string
	var stale []probe
	for _, pr := range all {
		v, msg := f.judge(pr, window)
		if pr.currency == faultCur && v == failed {
			continue // an error is the right answer while the provider fails
		}
		switch v {
		case failed:
			errs = append(errs, msg)
		case wrong, madeUp:
			bad = append(bad, msg)
		case staleRate:
			stale = append(stale, pr)
		}
	}
	s.Metric("fresh_after_ms", float64(settled.Milliseconds()), "ms")
	changes := fmt.Sprintf("At %s the checker changed the rates of %s, the prices of 3 products and added %s, and the provider began to answer 503 for USD→%s.",
		f.at(changedAt), strings.Join(healthy, ", "), newSKU, faultCur)
	if len(bad)+len(errs) > 0 {
		all := append(bad, errs...)
		s.Data("wrong_after_load", all)
		s.Fail(fmt.Sprintf("%s %d quotes asked afterwards were wrong. For example:\n%s", changes, len(all), examples(all, 3)),
			"Every quote is the product's current price (new products included) at the provider's current rate; only a currency whose rate the provider cannot give may answer an error.")
	}
	if len(stale) > 0 {
		msgs := f.staleMessages(stale)
		s.Data("stale_after_load", msgs)
		hint := staleHint
		if slices.ContainsFunc(stale, func(pr probe) bool { return pr.currency == faultCur }) {
			hint += " When the provider fails and the rate you hold is older than 2 s, answer an error (a 502 or 503): a guessed price is worse than none."
		}
		s.Fail(fmt.Sprintf("%s %d of the quotes asked in the %.1f s after used a rate or a price older than 2 s. For example:\n%s", changes, len(stale), settled.Seconds(), examples(msgs, 3)), hint)
	}
	if slices.ContainsFunc(last, func(pr probe) bool { return !current(pr) }) {
		// Cannot happen when every quote was judged fresh: the final round
		// began after the window. Kept so that the step never passes by
		// accident.
		s.Fail(fmt.Sprintf("%s %.1f s later, quotes still did not follow.", changes, settled.Seconds()), staleHint)
	}
	s.Passf("During the load the rates changed at %s; the %d right quotes the checker read during the load used rates at most 2 s old. %s "+
		"Quotes followed within %.1f s (%s of %d quotes), and USD→%s quotes answered errors instead of prices.",
		f.changeTimes(), f.sampled, changes, settled.Seconds(), plural(rounds, "round"), len(keys), faultCur)
}

func (f *fixture) changeTimes() string {
	if len(f.changes) == 0 {
		return "no time (the load ended first)"
	}
	return strings.Join(f.changes, ", ")
}
