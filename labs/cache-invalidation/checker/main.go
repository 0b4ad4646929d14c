// Command checker verifies the cache-invalidation lab: a product page read
// right after a price change shows the new price (writers alone, side by
// side, racing on one product, and in races the checker makes happen on
// purpose, race.go); the Redis cache still serves repeated reads (a page
// the checker plants in Redis is what the app serves); every cached page
// expires after a bounded TTL and is refilled; and a burst of concurrent
// reads of a cold page costs the database only a few queries.
//
// The checker creates products of its own with random names, prices and
// reviews, changes their prices through the API, and compares every page the
// app returns with what it wrote. It finds a product's cached page in Redis
// by its content, under any key name (keys.go), talking RESP itself
// (resp.go), and counts the statements that reach PostgreSQL with
// pg_stat_statements.
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
)

// The bounds of a cached page's TTL, as the lab's instructions state them.
const (
	minTTL = 10 * time.Second
	maxTTL = 10 * time.Minute
)

const (
	burst          = 50 // concurrent readers of one cold page
	maxBurstSelect = 3  // SELECTs the database may see for such a burst
	maxRepeatedSQL = 3  // SELECTs the database may see for those reads
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

// dbPrice is the price the database holds: the truth (-1 if it cannot be
// read).
func dbPrice(ctx context.Context, db *sqlx.DB, id int64) int {
	price := -1
	db.GetContext(ctx, &price, `SELECT price_cents FROM products WHERE id = $1`, id)
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
	window  int   // reads inside the race's window (race rounds)
	// pausedAnswer: the PUT answered while Redis took no writes.
	pausedAnswer bool
}

func (r readAfterWrite) stale() bool { return r.got != r.truth }

type rawLog struct {
	mu     sync.Mutex
	reads  []readAfterWrite
	writes int
	broken error // a request that failed or a page that was wrong
	// checkerErr is the checker's own failure (a lock it could not take).
	checkerErr error
	// Evidence that the races happened: reads inside a held window, and
	// cache writes of a first writer replayed behind a second writer's.
	windowReads, replays int
	// putTimes are the durations of the PUTs of the plain cycles: the
	// baseline of how long this app, on this machine, takes to answer one.
	putTimes []time.Duration
}

// answerWait is how long a PUT whose cache write Redis holds is given to
// answer anyway (which only a write that does not wait for its cache
// write can): 10 times the median PUT of this run, within 300 ms and 2 s.
func (l *rawLog) answerWait() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return min(2*time.Second, max(300*time.Millisecond, 10*checker.Median(l.putTimes)))
}

func (l *rawLog) count(window, replays int) {
	l.mu.Lock()
	l.windowReads += window
	l.replays += replays
	l.mu.Unlock()
}

func (l *rawLog) broke(err error) {
	l.mu.Lock()
	if l.checkerErr == nil {
		l.checkerErr = err
	}
	l.mu.Unlock()
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
	return l.broken != nil || l.checkerErr != nil
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
	t0 := time.Now()
	after, err := putPrice(ctx, p.ID, price)
	log.mu.Lock()
	log.putTimes = append(log.putTimes, time.Since(t0))
	log.mu.Unlock()
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

// The phases in the order they run and are reported.
var phases = []string{phaseSequential, phaseParallel, phaseSameKey, phaseRowLock, phaseCommit, phasePaused, phaseReorder}

// freshAfterWrite: after PUT /products/{id}/price answers, the next GET
// shows the new price.
//
// How it could pass without the skill, and what stops it:
//   - A cache that is never invalidated but expires fast (a TTL of a few
//     seconds or less): every read right after a write still gets the
//     cached page; and ttl-set bounds the TTL from below.
//   - Invalidating before the write, or inside the transaction before
//     COMMIT: passes when no reader comes in between. The row-lock and
//     commit rounds (race.go) put readers in between on purpose.
//   - Invalidating after the answer (a goroutine, a queue): the delete
//     usually lands before the next request. The paused-Redis round holds
//     it until the read after the answer is done.
//   - Write-through after the commit with nothing ordering two writers: the
//     bad order is rare by luck. The reorder round produces it on purpose.
//   - Hard-coded or remembered answers: the products, prices and reviews
//     are random and the checker's own, and every page is compared with
//     them.
//
// Each race round runs raceRounds times; the verdict does not depend on
// goroutines colliding by chance.
func freshAfterWrite(s *checker.S, f *fixture, rc *redisConn) {
	ctx := s.Ctx()
	ps := f.products(s, 8)
	used := make([]map[int]bool, len(ps))
	for i, p := range ps {
		used[i] = map[int]bool{p.Price: true}
	}
	log := &rawLog{}
	s.Must(installCommitGate(ctx, f.db))
	defer removeCommitGate(f.db)

	// 1. One writer at a time: 16 read → write → read cycles on random products.
	for range 16 {
		i := rand.IntN(len(ps))
		cycle(ctx, log, phaseSequential, ps[i], used[i])
		if log.failed() {
			break
		}
	}

	// 2. Eight writers side by side, each on its own product, 3 cycles each.
	if !log.failed() {
		var wg sync.WaitGroup
		for i, p := range ps {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 3 {
					cycle(ctx, log, phaseParallel, p, used[i])
				}
			}()
		}
		wg.Wait()
	}

	// 3. Eight writers racing on one product, 2 rounds: after each round the
	// page must show the price that won in the database.
	if !log.failed() {
		p := ps[0]
		for range 2 {
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
			truth := dbPrice(ctx, f.db, p.ID)
			p.Price = truth
			got, err := getPage(ctx, p.ID)
			if err != nil {
				log.fail(err)
				break
			}
			log.add(readAfterWrite{phase: phaseSameKey, id: p.ID, before: before.PriceCents, written: prices, truth: truth, got: got.PriceCents})
		}
	}

	// 4. The races, on purpose (race.go), each on a product of its own.
	for range raceRounds {
		if log.failed() {
			break
		}
		dbWindowRound(ctx, f.db, log, phaseRowLock, rowLock, ps[1], used[1])
	}
	for range raceRounds {
		if log.failed() {
			break
		}
		dbWindowRound(ctx, f.db, log, phaseCommit, commitHold, ps[2], used[2])
	}
	for range raceRounds {
		if log.failed() {
			break
		}
		redisRound(ctx, f.db, rc, log, ps[3], used[3])
	}

	s.Must(log.checkerErr)
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
	s.Metric("reads_inside_race_windows", float64(log.windowReads), "reads")
	s.Metric("cache_writes_replayed_behind_another_writer", float64(log.replays), "commands")
	var parts []string
	for _, ph := range phases {
		n := per[ph]
		parts = append(parts, fmt.Sprintf("%s: %d of %d", ph, n[0], n[1]))
	}
	tally := strings.Join(parts, "; ")

	if len(stale) == 0 {
		s.Passf("%d price changes through PUT /products/{id}/price on %d products of the checker's own, in %d rounds of them with the race made to happen on purpose "+
			"(the checker held the row lock, the commit, or Redis' writes while it read the product); each of the %d reads that followed a write showed the new price (%s stale).",
			log.writes, len(ps), 3*raceRounds, len(log.reads), tally)
		return
	}
	// The stale read to explain: no invalidation at all shows one writer at
	// a time; otherwise the races made on purpose explain the mechanism
	// best; the concurrent phases come last. The last stale read of that
	// phase, so that what Redis holds now belongs to it when no later write
	// touched the product.
	var r readAfterWrite
	for _, ph := range []string{phaseSequential, phaseRowLock, phaseCommit, phasePaused, phaseReorder, phaseSameKey, phaseParallel} {
		if per[ph][0] > 0 {
			for _, x := range stale {
				if x.phase == ph {
					r = x
				}
			}
			break
		}
	}
	lastOfProduct := true
	for i := len(log.reads) - 1; i >= 0; i-- {
		if log.reads[i].id == r.id {
			lastOfProduct = log.reads[i].phase == r.phase && log.reads[i].stale()
			break
		}
	}
	var cached string
	for _, p := range ps {
		if p.ID == r.id && lastOfProduct {
			cached = cachedPrices(ctx, rc, p)
		}
	}
	hint := "The write updates PostgreSQL and leaves the page cached in Redis as it was. Look at SetPrice in catalog.go: after the UPDATE succeeds, delete the product's key " +
		"(the next read rebuilds the page), or store the new page there (write-through)."
	var msg string
	switch {
	case r.phase == phaseSameKey && r.got != r.before && contains(r.written, r.got):
		msg = fmt.Sprintf("8 concurrent PUTs to product %d: the database kept price_cents %d (the last write to commit), but GET /products/%d showed %d, another of the prices written: "+
			"the pages reached Redis in another order than the updates reached PostgreSQL.", r.id, r.truth, r.id, r.got)
		hint = reorderHint
	case r.phase == phaseSameKey:
		msg = fmt.Sprintf("8 concurrent PUTs to product %d: the database holds price_cents %d, but GET /products/%d still showed %d, the price before the writes.",
			r.id, r.truth, r.id, r.got)
	case r.phase == phaseRowLock || r.phase == phaseCommit:
		where := "its UPDATE waited for the product's row lock, which the checker held"
		hint = "Change the cache only once the new price is committed: delete the key (or write the page) after the UPDATE has returned. " +
			"A delete before the UPDATE lets a reader put the old page back before the new price exists."
		if r.phase == phaseCommit {
			where = "its UPDATE had run but its COMMIT waited for the checker (a trigger of the checker's held it)"
			hint = "Change the cache only once the new price is committed: after tx.Commit() (or after an UPDATE outside a transaction) returns. " +
				"Until COMMIT, other readers still see the old row, and a reader that misses puts the old page back."
		}
		msg = fmt.Sprintf("PUT /products/%d/price {\"price_cents\": %d}: %s; meanwhile the checker read the product %d time(s) (the old price %d, right while the change is not committed). "+
			"Then the PUT answered, and GET /products/%d right after showed price_cents %d, the old price (the database holds %d): "+
			"the cache was cleared before the change was committed, and a read in between put the old page back.",
			r.id, r.written[0], where, r.window, r.before, r.id, r.got, r.truth)
	case r.phase == phasePaused && r.pausedAnswer:
		msg = fmt.Sprintf("PUT /products/%d/price {\"price_cents\": %d} answered 200 while Redis accepted no writes (the checker had paused them with CLIENT PAUSE WRITE; reads went on), "+
			"and GET /products/%d right after showed price_cents %d, the old price (the database holds %d): the write answered before it had changed the cache. "+
			"An invalidation that runs after the answer (in a goroutine, a queue, a timer) leaves a window in which every reader gets the old page.",
			r.id, r.written[0], r.id, r.got, r.truth)
		hint = "Invalidate before you answer: call Del (or write the page) in SetPrice itself, after the UPDATE and before returning, not in a goroutine. " +
			"If Redis fails then, log it loudly: the TTL bounds the damage."
	case r.phase == phaseReorder && r.got == r.written[0]:
		msg = fmt.Sprintf("Two PUTs to product %d, A (price_cents %d) then B (price_cents %d); the database kept %d. The checker held Redis' writes and replayed A's cache write after B's, "+
			"as a slow network or a pause of A's process would: GET /products/%d then showed price_cents %d, A's price. "+
			"The page is written after the commit, and nothing keeps two writers' pages in the order of their commits.",
			r.id, r.written[0], r.written[1], r.truth, r.id, r.got)
		hint = reorderHint
	default:
		was := ""
		if r.got == r.before {
			was = ", the price before the write"
		}
		msg = fmt.Sprintf("PUT /products/%d/price {\"price_cents\": %d} answered 200, then GET /products/%d showed price_cents %d%s (the database holds %d).",
			r.id, r.written[len(r.written)-1], r.id, r.got, was, r.truth)
	}
	s.Fail(fmt.Sprintf("%s%s %d of %d reads right after a write were stale (%s).", msg, cached, len(stale), len(log.reads), tally), hint)
}

const reorderHint = "Two writers A and B: A updates, B updates, B writes the cache, A writes the cache: the cache holds A's price, the database B's. " +
	"Delete the key after the UPDATE instead of writing it (two deletes cannot be out of order), or write the page while the row is still locked (inside the transaction, before COMMIT), " +
	"or make the write conditional on a version (a newer page is never replaced by an older one)."

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

// cacheUsed: repeated reads of cached pages are served by Redis.
//
// How it could pass without the skill, and what stops it:
//   - Serving pages from the app's memory while something else makes
//     Redis' counters look busy (a loop that GETs one hot key, a reader of
//     random keys): Redis' hit ratio is not evidence of the checker's reads.
//     The checker plants a page of its own in Redis (the product's name
//     changed to a random marker, in the key that holds the page, found by
//     its content) and requires the read to show it: only a page read from
//     Redis can carry the marker. The hit ratio is reported, not judged.
//   - Reading Redis but building the page (or its price) from PostgreSQL
//     anyway: the app's statements during the reads are counted (any
//     statement, not only SELECT, so work cannot move to COPY or a DO
//     block).
//   - One key shape expected: the page is found by its content, under any
//     key name (versioned, hash-tagged, a hash instead of a string).
func cacheUsed(s *checker.S, f *fixture, rc *redisConn) {
	ctx := s.Ctx()
	ps := f.products(s, 8)
	keys := map[int64][]pageKey{}
	for _, p := range ps { // the first read of each fills the cache
		pg, err := getPage(ctx, p.ID)
		checkPage(s, fmt.Sprintf("GET /products/%d", p.ID), pg, err, p, p.Price)
		ks, err := pageKeys(ctx, rc, p)
		s.Must(err)
		if len(ks) == 0 {
			s.Fail(fmt.Sprintf("After GET /products/%d, no key in Redis holds the page of product %d (the checker looked for a value with its SKU %s, under any key name): the page was not cached in Redis.",
				p.ID, p.ID, p.SKU),
				"The pages must come from Redis: a read looks there first and, on a miss, builds the page from PostgreSQL and stores it in Redis (as JSON, as the code does today). "+
					"A cache inside the app's memory is not shared by the app's instances, and a write on one instance cannot clear it on the others.")
		}
		keys[p.ID] = ks
	}
	hits0, misses0, err := rc.stats(ctx)
	s.Must(err)
	sql0 := selects(s, f.db)
	const rounds = 3
	reads, served := 0, 0
	var missed *product
	for range rounds {
		for _, p := range ps {
			marker := "Checker lamp " + checker.RandString(8)
			done, err := plant(ctx, rc, keys[p.ID], p.Name, marker)
			s.Must(err)
			if len(done) == 0 {
				s.Fail(fmt.Sprintf("Redis holds the page of product %d under %s, but the checker cannot find the product's name %q in it.", p.ID, keyNames(keys[p.ID]), p.Name),
					"Store the page as it is served (JSON, as the code does today): the checker recognises a cached page by its content.")
			}
			pg, err := getPage(ctx, p.ID)
			s.Must(unplant(ctx, rc, done))
			if err != nil {
				s.Fail(err.Error(), "Is the app running? curl the endpoint yourself and read the app's answer.")
			}
			reads++
			switch pg.Name {
			case marker:
				served++
				continue
			case p.Name:
				if missed == nil {
					missed = p
				}
			default:
				s.Fail(fmt.Sprintf("GET /products/%d showed the name %q; %q expected.", p.ID, pg.Name, p.Name), "The product page must show what the database holds.")
			}
			pg.Name = p.Name
			checkPage(s, fmt.Sprintf("GET /products/%d", p.ID), pg, nil, p, p.Price)
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
	s.Metric("reads_served_from_redis", float64(served), "reads")
	s.Metric("repeated_reads", float64(reads), "reads")
	s.Metric("redis_hits", float64(hits), "lookups")
	s.Metric("redis_misses", float64(misses), "lookups")
	s.Metric("hit_ratio", math.Round(ratio*1000)/10, "%")
	s.Metric("db_statements_repeated_reads", float64(sql), "queries")
	seen := fmt.Sprintf("%d repeated reads of %d products of the checker's own: before each, the checker changed the product's name in its cached page in Redis (e.g. %s) to a random marker; "+
		"%d of the %d answers showed the marker (only a page read from Redis can). PostgreSQL ran %d statements for the app meanwhile (Redis counted %d hits and %d misses in all, %.0f%%).",
		reads, len(ps), keyNames(keys[ps[0].ID]), served, reads, sql, hits, misses, ratio*100)
	switch {
	case served*10 < reads*9:
		s.Fail(fmt.Sprintf("%s At least 90%% of the answers should have come from Redis; product %d, for one, was served with its real name, from somewhere else than Redis (the app's memory, or the database).",
			seen, missed.ID),
			"Serve the page you find in Redis: a read looks there first (GET) and only builds the page from PostgreSQL on a miss. "+
				"A cache inside the app's memory is not shared by the app's instances, and a write on one instance cannot clear it on the others; "+
				"Redis' hit ratio alone proves nothing about which reads it served.")
	case sql > maxRepeatedSQL:
		s.Fail(fmt.Sprintf("%s At most %d statements expected: the page is looked up in Redis but still built (or checked) in the database.", seen, maxRepeatedSQL),
			"On a hit, return the page found in Redis without querying PostgreSQL.")
	}
	s.Pass(seen)
}

// selects counts the statements that roles other than the checker's ran
// in this database: the app's queries. Transaction control (BEGIN, COMMIT,
// SET …) does not count; anything that reads or writes does, whatever its
// verb (SELECT, WITH, COPY, DO, CALL …).
func selects(s *checker.S, db *sqlx.DB) int64 {
	var n int64
	s.Must(db.GetContext(s.Ctx(), &n, `
		SELECT coalesce(sum(calls), 0)::bigint
		FROM pg_stat_statements
		WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
		  AND userid <> (SELECT oid FROM pg_roles WHERE rolname = current_user)
		  AND query !~* '^\s*(begin|start|commit|end|rollback|abort|savepoint|release|set|reset|show|discard|deallocate|prepare transaction|listen|unlisten)\M'`))
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

// ttlSet: every cached page carries a TTL within bounds, expires, and is
// rebuilt with a TTL again.
//
// How it could pass without the skill, and what stops it:
//   - A TTL on the read path only, pages without expiry on the write path
//     (write-through): the keys are looked up again after the write, and
//     every key that holds the page then must have a TTL.
//   - Something that keeps the page alive without an expiry (a warmer that
//     re-SETs it): after the checker shortens the TTL, the key must go or
//     come back with a TTL, and the rebuilt page needs one too.
//   - Correct designs rejected: the keys are found by their content after
//     every read and write, so versioned keys (a new key per price change),
//     hash tags or any other naming pass; the version counter of such a
//     design holds no page and is not judged.
func ttlSet(s *checker.S, f *fixture, rc *redisConn) {
	ctx := s.Ctx()
	p := f.products(s, 1)[0]
	pg, err := getPage(ctx, p.ID)
	checkPage(s, fmt.Sprintf("GET /products/%d", p.ID), pg, err, p, p.Price)
	keys := mustPageKeys(s, rc, p)
	if len(keys) == 0 {
		s.Fail(fmt.Sprintf("After GET /products/%d, no key in Redis holds the page of product %d (the checker looked for a value with its SKU %s, under any key name): there is no cached page whose TTL could be checked.",
			p.ID, p.ID, p.SKU),
			"The page should be stored in Redis on a miss, with an expiration (SET key … EX <seconds>). See the step cache-used.")
	}
	afterRead := checkTTLs(s, rc, keys, "ttl_after_read", fmt.Sprintf("After GET /products/%d,", p.ID),
		"Give the page a TTL when you store it: SET with an expiration (in go-redis, the last argument of Set, e.g. 5*time.Minute).")

	// A write: a page it stores (write-through) must carry a TTL as well,
	// and so must every page left behind under another key.
	price := newPrice(map[int]bool{p.Price: true})
	pg, err = putPrice(ctx, p.ID, price)
	if err != nil {
		s.Fail(err.Error(), "curl the endpoint yourself and read the app's answer.")
	}
	p.Price = price
	afterWrite := "no page left by the write"
	if keys := mustPageKeys(s, rc, p); len(keys) > 0 {
		ttl := checkTTLs(s, rc, keys, "ttl_after_write", fmt.Sprintf("After PUT /products/%d/price,", p.ID),
			"A page the write stores in Redis needs a TTL too: set the same expiration on both paths.")
		afterWrite = fmt.Sprintf("TTL %s after the write (%s)", ttl.Round(time.Second), keyNames(keys))
	}

	// Expiry: the checker shortens the TTL of every key that holds the page
	// to 300 ms; each must go (or come back with a TTL), and the next read
	// must rebuild the page, with a TTL again.
	// (Whether this read shows the new price is fresh-after-write's business.)
	pg, err = getPage(ctx, p.ID)
	checkPage(s, fmt.Sprintf("GET /products/%d after a price change", p.ID), pg, err, p, pg.PriceCents)
	keys = mustPageKeys(s, rc, p)
	if len(keys) == 0 {
		s.Fail(fmt.Sprintf("After PUT /products/%d/price and a read, no key in Redis holds the page of product %d: the read did not store the page again.", p.ID, p.ID),
			"On a miss, build the page from the database and store it in Redis with its TTL.")
	}
	checkTTLs(s, rc, keys, "ttl_after_write_and_read", fmt.Sprintf("After PUT /products/%d/price and a read,", p.ID),
		"Give the page a TTL every time you store it.")
	for _, k := range keys {
		_, err := rc.int(ctx, "PEXPIRE", k.name, "300")
		s.Must(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, k := range keys {
		for {
			ms, err := rc.int(ctx, "PTTL", k.name)
			s.Must(err)
			if ms == -2 || ms > 1000 {
				break // gone, or written again with a TTL
			}
			if time.Now().After(deadline) {
				s.Fail(fmt.Sprintf("%s still exists 5 s after the checker set its TTL to 300 ms (PEXPIRE), with PTTL %d: something keeps writing it back without the expiry.", k.name, ms),
					"Only a read that misses should store the page, with a TTL.")
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	pg, err = getPage(ctx, p.ID)
	checkPage(s, fmt.Sprintf("GET /products/%d after its cached page expired", p.ID), pg, err, p, p.Price)
	refilled := mustPageKeys(s, rc, p)
	if len(refilled) == 0 {
		s.Fail(fmt.Sprintf("The cached page of product %d (%s) expired, and GET /products/%d answered, but no key in Redis holds the page again: the answer came from somewhere else than Redis (the app's memory?).", p.ID, keyNames(keys), p.ID),
			"On a miss in Redis, build the page from the database and store it in Redis with its TTL. A copy in the app's memory hides the expiry: serve the page from Redis.")
	}
	refill := checkTTLs(s, rc, refilled, "ttl_after_expiry", fmt.Sprintf("After the cached page expired and GET /products/%d rebuilt it,", p.ID),
		"Give the page a TTL every time you store it.")
	s.Passf("The page of product %d (%s) had a TTL of %s after a read (%s); shortened to 300 ms by the checker, it expired, and the next read rebuilt the page (%s) with a TTL of %s. Every cached page is bounded by its TTL (between %s and %s).",
		p.ID, keyNames(keys), afterRead.Round(time.Second), afterWrite, keyNames(refilled), refill.Round(time.Second), minTTL, maxTTL)
}

func mustPageKeys(s *checker.S, rc *redisConn, p *product) []pageKey {
	keys, err := pageKeys(s.Ctx(), rc, p)
	s.Must(err)
	return keys
}

// checkTTLs fails the step unless every key has a TTL within bounds (keys
// that vanished meanwhile are skipped), and returns the shortest.
func checkTTLs(s *checker.S, rc *redisConn, keys []pageKey, metric, what, hint string) time.Duration {
	var shortest time.Duration = -1
	for _, k := range keys {
		ttl, ok := checkTTL(s, rc, k.name, metric, what+" "+k.name, hint)
		if ok && (shortest < 0 || ttl < shortest) {
			shortest = ttl
		}
	}
	return shortest
}

// checkTTL fails the step unless key has a TTL within bounds, and returns
// it (false: the key is gone). It records the TTL as metric (-1: no expiry).
func checkTTL(s *checker.S, rc *redisConn, key, metric, what, hint string) (time.Duration, bool) {
	ms, err := rc.int(s.Ctx(), "PTTL", key)
	s.Must(err)
	ttl := time.Duration(ms) * time.Millisecond
	if ms >= 0 {
		s.Metric(metric, math.Round(ttl.Seconds()), "s")
	} else if ms == -1 {
		s.Metric(metric, -1, "s (no expiry)")
	}
	switch {
	case ms == -2:
		return 0, false
	case ms == -1:
		s.Fail(what+" has no expiry (PTTL -1): it stays until Redis runs out of memory, so a page that missed an invalidation stays wrong for good.",
			fmt.Sprintf("%s Every cached page needs a TTL between %s and %s: it bounds how long any stale page can live.", hint, minTTL, maxTTL))
	case ttl > maxTTL:
		s.Fail(fmt.Sprintf("%s has a TTL of %s: longer than the %s the shop accepts a stale page for.", what, ttl.Round(time.Second), maxTTL),
			fmt.Sprintf("Use a TTL between %s and %s (5 minutes is a good default).", minTTL, maxTTL))
	case ttl < minTTL-time.Second:
		s.Fail(fmt.Sprintf("%s has a TTL of %s: so short that most reads would miss.", what, ttl.Round(100*time.Millisecond)),
			fmt.Sprintf("Use a TTL between %s and %s (5 minutes is a good default).", minTTL, maxTTL))
	}
	return ttl, true
}

// ---------------------------------------------------------------------------
// stampede-guarded

// stampedeGuarded: a burst of concurrent reads of a cold page costs the
// database at most a few statements, and every reader gets the right page.
//
// How it could pass without the skill, and what stops it:
//   - Serving the burst from the app's memory (an in-process cache, a copy
//     loaded at start): the product is new, never read before, so no copy
//     can hold it; and cache-used requires pages to come from Redis.
//   - Answering the waiters with an error or an empty page: every one of the
//     50 answers must be the product's page at the right price.
//   - Moving the query where the counter does not look (COPY, a DO block, a
//     function): every statement of the app counts, whatever its verb.
//   - A burst right after a write served from the old page: the burst after
//     a price change must show the new price in all 50 answers.
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
