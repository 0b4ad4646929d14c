// Command checker verifies the cache-invalidation lab: a product page read
// right after a price change shows the new price (writers alone, side by
// side and racing on one product); the Redis cache still serves repeated
// reads; every cached page expires after a bounded TTL and is refilled; and
// a burst of concurrent reads of a cold page costs the database only a few
// queries.
//
// The checker creates products of its own with random names, prices and
// reviews, changes their prices through the API, and compares every page the
// app returns with what it wrote. It counts Redis hits and misses with INFO
// stats (talking RESP itself, resp.go) and the SELECT statements that reach
// PostgreSQL with pg_stat_statements.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/backlab/backlab/runner/checker"
)

// The bounds of a cached page's TTL, as the lab's instructions state them.
const (
	minTTL = 10 * time.Second
	maxTTL = 10 * time.Minute
)

const (
	burst          = 50  // concurrent readers of one cold page
	maxBurstSelect = 3   // SELECTs the database may see for such a burst
	minHitRatio    = 0.8 // of Redis lookups during repeated reads
	maxRepeatedSQL = 3   // SELECTs the database may see for those reads
)

var (
	appURL    = strings.TrimRight(checker.Env("APP_URL", "http://app:8080"), "/")
	redisAddr = checker.Env("REDIS_ADDR", "redis:6379")
	dsn       = checker.Env("DB_DSN", "postgres://postgres:postgres@db:5432/shop?sslmode=disable")

	// client keeps enough connections open for a burst to arrive at once.
	client = &http.Client{
		Timeout:   15 * time.Second,
		Transport: &http.Transport{MaxIdleConns: 200, MaxIdleConnsPerHost: 200, IdleConnTimeout: time.Minute},
	}
)

func main() {
	c := checker.New()
	defer c.Exit()
	ctx := c.Context()

	db, err := checker.OpenDB(ctx, dsn)
	if err != nil {
		c.Fatal(err)
	}
	defer db.Close()
	rc, err := dialRedis(ctx, redisAddr)
	if err != nil {
		c.Fatal(fmt.Errorf("connect to Redis at %s: %w", redisAddr, err))
	}
	defer rc.Close()
	if err := checker.WaitHTTP(ctx, appURL+"/healthz"); err != nil {
		c.Fatal(fmt.Errorf("the app did not come up: %w", err))
	}
	f := &fixture{db: db}
	defer f.cleanup()

	c.Step("fresh-after-write", func(s *checker.S) { freshAfterWrite(s, f, rc) })
	c.Step("cache-used", func(s *checker.S) { cacheUsed(s, f, rc) })
	c.Step("ttl-set", func(s *checker.S) { ttlSet(s, f, rc) })
	c.Step("stampede-guarded", func(s *checker.S) { stampedeGuarded(s, f, rc) })
}

// ---------------------------------------------------------------------------
// Products of the checker's own.

// product is a product the checker created, with what its page must show.
type product struct {
	ID      int64
	SKU     string
	Name    string
	Price   int
	Ratings []int
}

func (p *product) average() float64 {
	if len(p.Ratings) == 0 {
		return 0
	}
	sum := 0
	for _, r := range p.Ratings {
		sum += r
	}
	return float64(sum) / float64(len(p.Ratings))
}

type fixture struct {
	db  *sqlx.DB
	mu  sync.Mutex
	ids []int64
}

// products inserts n products with random names, prices and reviews.
func (f *fixture) products(s *checker.S, n int) []*product {
	ctx := s.Ctx()
	tx, err := f.db.BeginTxx(ctx, nil)
	s.Must(err)
	defer tx.Rollback()
	var ps []*product
	for range n {
		tag := checker.RandString(8)
		p := &product{SKU: "CHK-" + strings.ToUpper(tag), Name: "Checker lamp " + tag, Price: checker.RandInt(100, 99999)}
		s.Must(tx.GetContext(ctx, &p.ID,
			`INSERT INTO products (sku, name, price_cents) VALUES ($1, $2, $3) RETURNING id`, p.SKU, p.Name, p.Price))
		for range checker.RandInt(0, 25) {
			r := checker.RandInt(1, 5)
			p.Ratings = append(p.Ratings, r)
			_, err := tx.ExecContext(ctx, `INSERT INTO reviews (product_id, rating, body) VALUES ($1, $2, 'checker')`, p.ID, r)
			s.Must(err)
		}
		ps = append(ps, p)
	}
	s.Must(tx.Commit())
	f.mu.Lock()
	for _, p := range ps {
		f.ids = append(f.ids, p.ID)
	}
	f.mu.Unlock()
	return ps
}

// cleanup removes the checker's products (their cached pages expire, or
// stay unread).
func (f *fixture) cleanup() {
	if len(f.ids) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	q, args, err := sqlx.In(`DELETE FROM reviews WHERE product_id IN (?)`, f.ids)
	if err == nil {
		f.db.ExecContext(ctx, f.db.Rebind(q), args...)
	}
	q, args, err = sqlx.In(`DELETE FROM products WHERE id IN (?)`, f.ids)
	if err == nil {
		f.db.ExecContext(ctx, f.db.Rebind(q), args...)
	}
}

// dbPrice is the price the database holds: the truth.
func dbPrice(s *checker.S, db *sqlx.DB, id int64) int {
	var price int
	s.Must(db.GetContext(s.Ctx(), &price, `SELECT price_cents FROM products WHERE id = $1`, id))
	return price
}

// newPrice picks a random price that differs from every price in used.
func newPrice(used map[int]bool) int {
	for {
		p := checker.RandInt(100, 99999)
		if !used[p] {
			used[p] = true
			return p
		}
	}
}

// ---------------------------------------------------------------------------
// The API.

// page is the JSON of GET /products/{id}.
type page struct {
	ID         int64  `json:"id"`
	SKU        string `json:"sku"`
	Name       string `json:"name"`
	PriceCents int    `json:"price_cents"`
	Currency   string `json:"currency"`
	Rating     struct {
		Average float64 `json:"average"`
		Count   int     `json:"count"`
	} `json:"rating"`
}

// apiError is a request that did not get the answer it should: no answer,
// an unexpected status, or a body that is not a product page.
type apiError struct{ msg string }

func (e *apiError) Error() string { return e.msg }

func getPage(ctx context.Context, id int64) (page, error) {
	return call(ctx, http.MethodGet, fmt.Sprintf("/products/%d", id), "")
}

func putPrice(ctx context.Context, id int64, price int) (page, error) {
	return call(ctx, http.MethodPut, fmt.Sprintf("/products/%d/price", id), fmt.Sprintf(`{"price_cents": %d}`, price))
}

func call(ctx context.Context, method, path, body string) (page, error) {
	var pg page
	what := method + " " + path
	if body != "" {
		what += " " + body
	}
	req, err := http.NewRequestWithContext(ctx, method, appURL+path, strings.NewReader(body))
	if err != nil {
		return pg, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return pg, &apiError{fmt.Sprintf("%s got no answer: %v", what, err)}
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return pg, &apiError{fmt.Sprintf("%s answered %d %s; 200 with the product page expected", what, resp.StatusCode, clip(buf.String()))}
	}
	if err := json.Unmarshal(buf.Bytes(), &pg); err != nil {
		return pg, &apiError{fmt.Sprintf("%s answered %s, which is not a product page: %v", what, clip(buf.String()), err)}
	}
	return pg, nil
}

// differs says how a page differs from the product, price aside, or "".
func differs(pg page, p *product) string {
	switch {
	case pg.ID != p.ID:
		return fmt.Sprintf("the page is that of product %d", pg.ID)
	case pg.SKU != p.SKU || pg.Name != p.Name:
		return fmt.Sprintf("the page shows %s %q; %s %q expected", pg.SKU, pg.Name, p.SKU, p.Name)
	case pg.Currency != "EUR":
		return fmt.Sprintf("the page shows currency %q; EUR expected", pg.Currency)
	case pg.Rating.Count != len(p.Ratings) || math.Abs(pg.Rating.Average-p.average()) > 0.006:
		return fmt.Sprintf("the page shows a rating of %.2f from %d reviews; %.2f from %d expected",
			pg.Rating.Average, pg.Rating.Count, p.average(), len(p.Ratings))
	}
	return ""
}

// checkPage fails the step unless the page shows the product at price.
func checkPage(s *checker.S, what string, pg page, err error, p *product, price int) {
	if err != nil {
		s.Fail(err.Error(), "Is the app running? curl the endpoint yourself and read the app's answer.")
	}
	if d := differs(pg, p); d != "" {
		s.Fail(fmt.Sprintf("%s: %s (the checker created product %d itself).", what, d, p.ID),
			"The product page must show what the database holds. Compare the app's answer with the products and reviews tables.")
	}
	if pg.PriceCents != price {
		s.Fail(fmt.Sprintf("%s: the page shows price_cents %d; the database holds %d.", what, pg.PriceCents, price),
			"The product page must show what the database holds.")
	}
}

// ---------------------------------------------------------------------------
// fresh-after-write

// readAfterWrite is one read that followed a write, and what it showed.
type readAfterWrite struct {
	phase   string
	id      int64
	before  int   // the price the page showed before the write(s)
	written []int // the price(s) written
	truth   int   // what the database holds
	got     int   // what the page showed
}

func (r readAfterWrite) stale() bool { return r.got != r.truth }

type rawLog struct {
	mu     sync.Mutex
	reads  []readAfterWrite
	writes int
	broken error // a request that failed or a page that was wrong
}

func (l *rawLog) add(r readAfterWrite) {
	l.mu.Lock()
	l.reads = append(l.reads, r)
	l.mu.Unlock()
}

func (l *rawLog) wrote() {
	l.mu.Lock()
	l.writes++
	l.mu.Unlock()
}

func (l *rawLog) fail(err error) {
	l.mu.Lock()
	if l.broken == nil {
		l.broken = err
	}
	l.mu.Unlock()
}

func (l *rawLog) failed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.broken != nil
}

// cycle reads a product (so that its page is cached), writes a new price
// and reads it again: the second read must show the new price.
func cycle(ctx context.Context, log *rawLog, phase string, p *product, used map[int]bool) {
	before, err := getPage(ctx, p.ID)
	if err == nil && differs(before, p) != "" {
		err = fmt.Errorf("GET /products/%d: %s (the checker created product %d itself)", p.ID, differs(before, p), p.ID)
	}
	if err != nil {
		log.fail(err)
		return
	}
	used[before.PriceCents] = true
	price := newPrice(used)
	after, err := putPrice(ctx, p.ID, price)
	if err == nil && (differs(after, p) != "" || after.PriceCents != price) {
		err = fmt.Errorf("PUT /products/%d/price {\"price_cents\": %d} answered a page with price_cents %d: the answer to a write must show what was written", p.ID, price, after.PriceCents)
	}
	if err != nil {
		log.fail(err)
		return
	}
	log.wrote()
	p.Price = price
	got, err := getPage(ctx, p.ID)
	if err == nil && differs(got, p) != "" {
		err = fmt.Errorf("GET /products/%d: %s (the checker created product %d itself)", p.ID, differs(got, p), p.ID)
	}
	if err != nil {
		log.fail(err)
		return
	}
	log.add(readAfterWrite{phase: phase, id: p.ID, before: before.PriceCents, written: []int{price}, truth: price, got: got.PriceCents})
}

const (
	phaseSequential = "one writer at a time"
	phaseParallel   = "concurrent writers to different products"
	phaseSameKey    = "concurrent writers to the same product"
)

func freshAfterWrite(s *checker.S, f *fixture, rc *redisConn) {
	ctx := s.Ctx()
	ps := f.products(s, 8)
	used := make([]map[int]bool, len(ps))
	for i, p := range ps {
		used[i] = map[int]bool{p.Price: true}
	}
	log := &rawLog{}

	// 1. One writer at a time: 24 read → write → read cycles on random products.
	for range 24 {
		i := rand.IntN(len(ps))
		cycle(ctx, log, phaseSequential, ps[i], used[i])
		if log.failed() {
			break
		}
	}

	// 2. Eight writers side by side, each on its own product, 4 cycles each.
	if !log.failed() {
		var wg sync.WaitGroup
		for i, p := range ps {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 4 {
					cycle(ctx, log, phaseParallel, p, used[i])
				}
			}()
		}
		wg.Wait()
	}

	// 3. Eight writers racing on one product, 3 rounds: after each round the
	// page must show the price that won in the database.
	if !log.failed() {
		p := ps[0]
		for range 3 {
			before, err := getPage(ctx, p.ID)
			if err != nil {
				log.fail(err)
				break
			}
			used[0][before.PriceCents] = true
			prices := make([]int, 8)
			for j := range prices {
				prices[j] = newPrice(used[0])
			}
			start := make(chan struct{})
			var wg sync.WaitGroup
			for _, price := range prices {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					if _, err := putPrice(ctx, p.ID, price); err != nil {
						log.fail(err)
						return
					}
					log.wrote()
				}()
			}
			close(start)
			wg.Wait()
			if log.failed() {
				break
			}
			truth := dbPrice(s, f.db, p.ID)
			p.Price = truth
			got, err := getPage(ctx, p.ID)
			if err != nil {
				log.fail(err)
				break
			}
			log.add(readAfterWrite{phase: phaseSameKey, id: p.ID, before: before.PriceCents, written: prices, truth: truth, got: got.PriceCents})
		}
	}

	if log.broken != nil {
		s.Fail(log.broken.Error(), "Is the app running, and does it still answer as before? curl the endpoints yourself.")
	}

	// Tally.
	var stale []readAfterWrite
	per := map[string][2]int{} // phase → stale, checked
	for _, r := range log.reads {
		n := per[r.phase]
		n[1]++
		if r.stale() {
			n[0]++
			stale = append(stale, r)
		}
		per[r.phase] = n
	}
	s.Metric("writes", float64(log.writes), "writes")
	s.Metric("reads_after_write", float64(len(log.reads)), "reads")
	s.Metric("stale_reads", float64(len(stale)), "reads")
	var parts []string
	for _, ph := range []string{phaseSequential, phaseParallel, phaseSameKey} {
		n := per[ph]
		parts = append(parts, fmt.Sprintf("%s: %d of %d", ph, n[0], n[1]))
	}
	tally := strings.Join(parts, "; ")

	if len(stale) == 0 {
		s.Passf("%d price changes through PUT /products/{id}/price on %d products of the checker's own; each of the %d reads that followed showed the new price (%s stale).",
			log.writes, len(ps), len(log.reads), tally)
		return
	}
	r := stale[0]
	cached := ""
	if v, ok, err := rc.get(ctx, "product:"+strconv.FormatInt(r.id, 10)); err == nil && ok {
		var pg page
		if json.Unmarshal([]byte(v), &pg) == nil {
			cached = fmt.Sprintf(" Redis still holds product:%d with price_cents %d.", r.id, pg.PriceCents)
		}
	}
	hint := "The write updates PostgreSQL and leaves the page cached in Redis as it was. Look at SetPrice in catalog.go: after the UPDATE succeeds, delete the product's key " +
		"(the next read rebuilds the page), or store the new page there (write-through)."
	var msg string
	switch {
	case r.phase == phaseSameKey && r.got != r.before && contains(r.written, r.got):
		msg = fmt.Sprintf("8 concurrent PUTs to product %d: the database kept price_cents %d (the last write to commit), but GET /products/%d showed %d, another of the prices written: "+
			"the pages reached Redis in another order than the updates reached PostgreSQL.", r.id, r.truth, r.id, r.got)
		hint = "Two writers A and B: A updates, B updates, B writes the cache, A writes the cache: the cache holds A's price, the database B's. " +
			"Delete the key after the UPDATE instead of writing it (a delete cannot be out of order), or write the page while the row is still locked (inside the transaction)."
	case r.phase == phaseSameKey:
		msg = fmt.Sprintf("8 concurrent PUTs to product %d: the database holds price_cents %d, but GET /products/%d still showed %d, the price before the writes.",
			r.id, r.truth, r.id, r.got)
	default:
		msg = fmt.Sprintf("PUT /products/%d/price {\"price_cents\": %d} answered 200, then GET /products/%d showed price_cents %d, the price before the write (the database holds %d).",
			r.id, r.written[0], r.id, r.got, r.truth)
	}
	s.Fail(fmt.Sprintf("%s%s %d of %d reads right after a write were stale (%s).", msg, cached, len(stale), len(log.reads), tally), hint)
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// ---------------------------------------------------------------------------
// cache-used

func cacheUsed(s *checker.S, f *fixture, rc *redisConn) {
	ctx := s.Ctx()
	ps := f.products(s, 10)
	for _, p := range ps { // the first read of each fills the cache
		pg, err := getPage(ctx, p.ID)
		checkPage(s, fmt.Sprintf("GET /products/%d", p.ID), pg, err, p, p.Price)
	}
	hits0, misses0, err := rc.stats(ctx)
	s.Must(err)
	sql0 := selects(s, f.db)
	const rounds = 10
	for range rounds {
		for _, p := range ps {
			pg, err := getPage(ctx, p.ID)
			checkPage(s, fmt.Sprintf("GET /products/%d", p.ID), pg, err, p, p.Price)
		}
	}
	hits1, misses1, err := rc.stats(ctx)
	s.Must(err)
	sql := settledSelects(s, f.db) - sql0
	hits, misses := hits1-hits0, misses1-misses0
	ratio := 0.0
	if hits+misses > 0 {
		ratio = float64(hits) / float64(hits+misses)
	}
	reads := rounds * len(ps)
	s.Metric("redis_hits", float64(hits), "lookups")
	s.Metric("redis_misses", float64(misses), "lookups")
	s.Metric("hit_ratio", math.Round(ratio*1000)/10, "%")
	s.Metric("db_selects_repeated_reads", float64(sql), "queries")
	seen := fmt.Sprintf("%d reads of %d products of the checker's own (after one read each to fill the cache): Redis counted %d hits and %d misses (hit ratio %.0f%%) and PostgreSQL ran %d SELECT statements for the app.",
		reads, len(ps), hits, misses, ratio*100, sql)
	switch {
	case hits+misses == 0:
		s.Fail(seen+" The app did not look in Redis at all.",
			"The pages must come from Redis: a read looks there first (GET product:<id>) and only goes to PostgreSQL on a miss. "+
				"A cache inside the app's memory is not shared by the app's instances, and a write on one instance cannot clear it on the others.")
	case ratio < minHitRatio:
		s.Fail(fmt.Sprintf("%s At least %.0f%% hits expected: pages that were just read should be in the cache.", seen, minHitRatio*100),
			"Watch the cache with redis-cli MONITOR while you read a page twice: the second read should be a single GET that finds the page.")
	case sql > maxRepeatedSQL:
		s.Fail(fmt.Sprintf("%s At most %d expected: the page is looked up in Redis but still built from the database.", seen, maxRepeatedSQL),
			"On a hit, return the page found in Redis without querying PostgreSQL.")
	}
	s.Pass(seen)
}

// selects counts the SELECT (and WITH) statements that roles other than the
// checker's ran in this database: the app's queries.
func selects(s *checker.S, db *sqlx.DB) int64 {
	var n int64
	s.Must(db.GetContext(s.Ctx(), &n, `
		SELECT coalesce(sum(calls), 0)::bigint
		FROM pg_stat_statements
		WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
		  AND userid <> (SELECT oid FROM pg_roles WHERE rolname = current_user)
		  AND query ~* '^\s*(select|with)\M'`))
	return n
}

// settledSelects is selects once the count stops moving (statements are
// counted as they end).
func settledSelects(s *checker.S, db *sqlx.DB) int64 {
	n := selects(s, db)
	for range 10 {
		time.Sleep(100 * time.Millisecond)
		m := selects(s, db)
		if m == n {
			return n
		}
		n = m
	}
	return n
}

// ---------------------------------------------------------------------------
// ttl-set

func ttlSet(s *checker.S, f *fixture, rc *redisConn) {
	ctx := s.Ctx()
	p := f.products(s, 1)[0]
	pg, err := getPage(ctx, p.ID)
	checkPage(s, fmt.Sprintf("GET /products/%d", p.ID), pg, err, p, p.Price)
	key := findKey(s, rc, p.ID)
	if key == "" {
		s.Fail(fmt.Sprintf("After GET /products/%d, Redis holds no key for product %d (the checker looked for product:%d and for any key ending in :%d): there is no cached page whose TTL could be checked.",
			p.ID, p.ID, p.ID, p.ID),
			"The page should be stored in Redis on a miss (SET product:<id> … EX <seconds>). See the step cache-used.")
	}
	afterRead := checkTTL(s, rc, key, "ttl_after_read", fmt.Sprintf("After GET /products/%d, %s", p.ID, key),
		"Give the page a TTL when you store it: SET with an expiration (in go-redis, the last argument of Set, e.g. 5*time.Minute).")

	// A write: a page it stores (write-through) must carry a TTL as well.
	price := newPrice(map[int]bool{p.Price: true})
	pg, err = putPrice(ctx, p.ID, price)
	if err != nil {
		s.Fail(err.Error(), "curl the endpoint yourself and read the app's answer.")
	}
	p.Price = price
	afterWrite := "deleted by the write"
	if ok, err := rc.int(ctx, "EXISTS", key); err == nil && ok == 1 {
		ttl := checkTTL(s, rc, key, "ttl_after_write", fmt.Sprintf("After PUT /products/%d/price, %s", p.ID, key),
			"The page the write stores in Redis needs a TTL too: set the same expiration on both paths.")
		afterWrite = "TTL " + ttl.Round(time.Second).String() + " after the write"
	} else {
		s.Must(err)
	}

	// Expiry: the checker shortens the TTL to 300 ms; the key must go, and
	// the next read must rebuild the page, with a TTL again.
	// (Whether this read shows the new price is fresh-after-write's business.)
	pg, err = getPage(ctx, p.ID)
	checkPage(s, fmt.Sprintf("GET /products/%d after a price change", p.ID), pg, err, p, pg.PriceCents)
	if ok, err := rc.int(ctx, "EXISTS", key); err != nil || ok != 1 {
		s.Must(err)
		s.Fail(fmt.Sprintf("After PUT /products/%d/price and a read, Redis holds no %s: the read did not store the page again.", p.ID, key),
			"On a miss, build the page from the database and store it in Redis with its TTL.")
	}
	ok, err := rc.int(ctx, "PEXPIRE", key, "300")
	s.Must(err)
	if ok != 1 {
		s.Must(fmt.Errorf("PEXPIRE %s 300 answered %d", key, ok))
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err := rc.int(ctx, "EXISTS", key)
		s.Must(err)
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			s.Fail(fmt.Sprintf("%s still exists 5 s after the checker set its TTL to 300 ms (PEXPIRE): something keeps writing it back without the expiry.", key),
				"Only a read that misses should store the page, with a TTL.")
		}
		time.Sleep(100 * time.Millisecond)
	}
	pg, err = getPage(ctx, p.ID)
	checkPage(s, fmt.Sprintf("GET /products/%d after its cached page expired", p.ID), pg, err, p, p.Price)
	if n, err := rc.int(ctx, "EXISTS", key); err != nil || n != 1 {
		s.Must(err)
		s.Fail(fmt.Sprintf("%s expired, and GET /products/%d answered, but did not store the page in Redis again.", key, p.ID),
			"On a miss, build the page from the database and store it in Redis with its TTL.")
	}
	refill := checkTTL(s, rc, key, "ttl_after_expiry", fmt.Sprintf("After %s expired and GET /products/%d rebuilt it, %s", key, p.ID, key),
		"Give the page a TTL every time you store it.")
	s.Passf("%s had a TTL of %s after a read (%s); shortened to 300 ms by the checker, it expired, and the next read rebuilt the page from the database with a TTL of %s. Every cached page is bounded by its TTL (between %s and %s).",
		key, afterRead.Round(time.Second), afterWrite, refill.Round(time.Second), minTTL, maxTTL)
}

// findKey returns the Redis key that holds product id's page: product:ID,
// or a key ending in :ID, or "".
func findKey(s *checker.S, rc *redisConn, id int64) string {
	ctx := s.Ctx()
	key := "product:" + strconv.FormatInt(id, 10)
	n, err := rc.int(ctx, "EXISTS", key)
	s.Must(err)
	if n == 1 {
		return key
	}
	keys, err := rc.scan(ctx, fmt.Sprintf("*%d*", id))
	s.Must(err)
	re := regexp.MustCompile(fmt.Sprintf(`(^|[^0-9])%d$`, id))
	for _, k := range keys {
		if re.MatchString(k) && !strings.Contains(strings.ToLower(k), "lock") {
			return k
		}
	}
	return ""
}

// checkTTL fails the step unless key has a TTL within bounds, and returns
// it. It records the TTL as metric (-1: no expiry).
func checkTTL(s *checker.S, rc *redisConn, key, metric, what, hint string) time.Duration {
	ms, err := rc.int(s.Ctx(), "PTTL", key)
	s.Must(err)
	ttl := time.Duration(ms) * time.Millisecond
	if ms >= 0 {
		s.Metric(metric, math.Round(ttl.Seconds()), "s")
	} else if ms == -1 {
		s.Metric(metric, -1, "s (no expiry)")
	}
	switch {
	case ms == -1:
		s.Fail(what+" has no expiry (PTTL -1): it stays until Redis runs out of memory, so a page that missed an invalidation stays wrong for good.",
			fmt.Sprintf("%s Every cached page needs a TTL between %s and %s: it bounds how long any stale page can live.", hint, minTTL, maxTTL))
	case ms == -2:
		s.Fail(what+" vanished before its TTL could be read.", "Every cached page needs a TTL; see redis-cli TTL product:<id>.")
	case ttl > maxTTL:
		s.Fail(fmt.Sprintf("%s has a TTL of %s: longer than the %s the shop accepts a stale page for.", what, ttl.Round(time.Second), maxTTL),
			fmt.Sprintf("Use a TTL between %s and %s (5 minutes is a good default).", minTTL, maxTTL))
	case ttl < minTTL-time.Second:
		s.Fail(fmt.Sprintf("%s has a TTL of %s: so short that most reads would miss.", what, ttl.Round(100*time.Millisecond)),
			fmt.Sprintf("Use a TTL between %s and %s (5 minutes is a good default).", minTTL, maxTTL))
	}
	return ttl
}

// ---------------------------------------------------------------------------
// stampede-guarded

func stampedeGuarded(s *checker.S, f *fixture, rc *redisConn) {
	ctx := s.Ctx()
	p := f.products(s, 1)[0]

	// Open the connections first, so that the burst arrives at once.
	var wg sync.WaitGroup
	for range burst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if resp, err := client.Get(appURL + "/healthz"); err == nil {
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()

	cold := readBurst(s, f, p, -1, fmt.Sprintf("%d concurrent GET /products/%d of a product never read before (its page is in no cache)", burst, p.ID))
	s.Metric("db_selects_cold_burst", float64(cold), "queries")
	hint := "Let one request rebuild the page while the others wait for its result, then all of them answer with it: " +
		"golang.org/x/sync/singleflight (x/sync is already in go.mod) around the miss path of Product in catalog.go, " +
		"or a short Redis lock (SET lock:product:<id> <token> NX PX 2000) that the others wait on while polling the page. Try it with: stampede 42"
	if cold > maxBurstSelect {
		s.Fail(fmt.Sprintf("%d concurrent GET /products/%d on a cold cache (no page cached yet): PostgreSQL ran %d SELECT statements for them; at most %d expected. "+
			"Every request that found no page built it from the database itself: a cache stampede. On a popular product, at every expiry or price change, that is a burst of the shop's most expensive query.",
			burst, p.ID, cold, maxBurstSelect), hint)
	}

	// Right after a price change: the invalidated page is cold again (or
	// already rewritten), and every reader must see the new price.
	old := p.Price
	price := newPrice(map[int]bool{old: true})
	if _, err := putPrice(ctx, p.ID, price); err != nil {
		s.Fail(err.Error(), "curl the endpoint yourself and read the app's answer.")
	}
	p.Price = price
	after := readBurst(s, f, p, old, fmt.Sprintf("%d concurrent GET /products/%d right after PUT /products/%d/price {\"price_cents\": %d}", burst, p.ID, p.ID, price))
	s.Metric("db_selects_burst_after_write", float64(after), "queries")
	if after > maxBurstSelect {
		s.Fail(fmt.Sprintf("%d concurrent GET /products/%d right after its price changed: PostgreSQL ran %d SELECT statements for them; at most %d expected (a cold burst cost %d). "+
			"Invalidation makes a popular page cold again, and then every reader rebuilds it at once.", burst, p.ID, after, maxBurstSelect, cold), hint)
	}
	s.Passf("%d concurrent reads of a cold product page cost PostgreSQL %d SELECT statement(s), and %d concurrent reads right after a price change %d; all %d answers showed the right page.",
		burst, cold, burst, after, 2*burst)
}

// readBurst sends burst concurrent GETs of p at once, checks every answer
// (old is the price before a write, or -1), and returns how many SELECTs
// the database ran meanwhile.
func readBurst(s *checker.S, f *fixture, p *product, old int, what string) int64 {
	ctx := s.Ctx()
	before := settledSelects(s, f.db)
	start := make(chan struct{})
	pages := make([]page, burst)
	errs := make([]error, burst)
	var wg sync.WaitGroup
	for i := range burst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			pages[i], errs[i] = getPage(ctx, p.ID)
		}()
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	elapsed := time.Since(t0)
	n := settledSelects(s, f.db) - before
	s.Logf("%s: SELECT statements in PostgreSQL: %d; all answered in %s", what, n, elapsed.Round(time.Millisecond))
	wrong, stale := 0, 0
	for i := range burst {
		if errs[i] != nil {
			s.Fail(fmt.Sprintf("%s: %v", what, errs[i]),
				"Every reader must get the page, also those that waited for another request to build it. curl the endpoint yourself and read the app's log.")
		}
		switch {
		case differs(pages[i], p) != "":
			wrong++
		case pages[i].PriceCents == old:
			stale++
		case pages[i].PriceCents != p.Price:
			wrong++
		}
	}
	if stale > 0 && wrong == 0 {
		s.Fail(fmt.Sprintf("%s: %d of %d answers showed price_cents %d, the price before the write (%d expected): the cache still served the old page.", what, stale, burst, old, p.Price),
			"A fast answer must also be right: the page must be invalidated (or rewritten) by the write. See the step fresh-after-write.")
	}
	if wrong+stale > 0 {
		s.Fail(fmt.Sprintf("%s: %d of %d answers showed another page than the product's (price_cents %d expected).", what, wrong+stale, burst, p.Price),
			"The readers that wait must get the page that was built for them, or read it from Redis once it is there.")
	}
	return n
}

func clip(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return fmt.Sprintf("%q", s)
}
