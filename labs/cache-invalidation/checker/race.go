package main

// The races of fresh-after-write, made to happen on purpose.
//
// Concurrent goroutines collide by luck; these rounds do not rely on it.
// Each round holds one step of a price change still, reads the product
// inside that window, lets the change go on, and reads it again as soon as
// the PUT has answered:
//
//   - row lock: the checker locks the product's row (SELECT … FOR UPDATE in
//     a transaction of its own), so the app's UPDATE waits. A cache that was
//     cleared before the UPDATE is refilled with the old page by the reads
//     in the window.
//   - commit held: a trigger of the checker's (on its own products only)
//     makes the app's COMMIT wait for an advisory lock the checker holds.
//     The UPDATE has run but is not visible yet: a cache cleared inside the
//     transaction, before COMMIT, is refilled with the old page.
//   - Redis writes held: the checker pauses every write to Redis (CLIENT
//     PAUSE WRITE; reads go on). A PUT that answers meanwhile has not
//     changed the cache yet: its invalidation runs after the answer (a
//     goroutine, a queue), and the read right after it gets the old page.
//   - cache writes reordered: with Redis' writes held, a second writer B
//     follows A; then the checker drops A's Redis connection, so that A's
//     client sends its held command again, behind B's. That is "A commits,
//     B commits, B writes the cache, A writes the cache", the interleaving
//     a slow network or a pause of A's process produces. A page written
//     after the commit without anything ordering the writers ends with A's
//     price while the database holds B's; a DEL, a versioned key, a
//     conditional write or a page written while the row is still locked
//     all end right.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

const (
	phaseRowLock  = "the write waiting for the product's row lock"
	phaseCommit   = "the write waiting to commit"
	phasePaused   = "the write answering while Redis took no writes"
	phaseReorder  = "two writers whose cache writes reach Redis in the other order"
	raceRounds    = 3 // of each kind
	windowReads   = 3 // reads inside each window
	blockedWithin = 3 * time.Second
)

// commitGateKey is the advisory lock the commit gate waits for.
const commitGateKey = 7_316_142_055

// installCommitGate creates the trigger that makes a COMMIT that changed a
// product of the checker's (SKU CHK-…) wait while the checker holds the
// advisory lock commitGateKey. It touches no other product, and without the
// lock held it costs nothing; removeCommitGate drops it.
func installCommitGate(ctx context.Context, db *sqlx.DB) error {
	for _, q := range []string{
		fmt.Sprintf(`CREATE OR REPLACE FUNCTION backlab_checker_commit_gate() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN PERFORM pg_advisory_xact_lock_shared(%d); RETURN NULL; END $$`, commitGateKey),
		`DROP TRIGGER IF EXISTS backlab_checker_commit_gate ON products`,
		`CREATE CONSTRAINT TRIGGER backlab_checker_commit_gate AFTER UPDATE ON products
			DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.sku LIKE 'CHK-%')
			EXECUTE FUNCTION backlab_checker_commit_gate()`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

func removeCommitGate(db *sqlx.DB) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db.ExecContext(ctx, `DROP TRIGGER IF EXISTS backlab_checker_commit_gate ON products`)
	db.ExecContext(ctx, `DROP FUNCTION IF EXISTS backlab_checker_commit_gate()`)
}

// gate holds something in PostgreSQL that the app's price change of a
// product must wait for; it returns the backend pid that holds it and how
// to let go.
type gate func(ctx context.Context, db *sqlx.DB, id int64) (pid int, release func(), err error)

// rowLock holds the product's row lock in a transaction of the checker's.
func rowLock(ctx context.Context, db *sqlx.DB, id int64) (int, func(), error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, nil, err
	}
	var pid int
	if err := tx.GetContext(ctx, &pid, `SELECT pg_backend_pid() FROM products WHERE id = $1 FOR UPDATE`, id); err != nil {
		tx.Rollback()
		return 0, nil, err
	}
	return pid, func() { tx.Rollback() }, nil
}

// commitHold holds the advisory lock the commit gate waits for.
func commitHold(ctx context.Context, db *sqlx.DB, _ int64) (int, func(), error) {
	conn, err := db.Connx(ctx)
	if err != nil {
		return 0, nil, err
	}
	var pid int
	if err := conn.GetContext(ctx, &pid, `SELECT pg_backend_pid() FROM (SELECT pg_advisory_lock($1)) l`, int64(commitGateKey)); err != nil {
		conn.Close()
		return 0, nil, err
	}
	return pid, func() {
		conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(commitGateKey))
		conn.Close()
	}, nil
}

// waitsFor says whether some backend waits for a lock that pid holds.
func waitsFor(ctx context.Context, db *sqlx.DB, pid int) (bool, error) {
	var n int
	err := db.GetContext(ctx, &n, `SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))`, pid)
	return n > 0, err
}

// appWaitsOnLock says whether a backend of the app waits for a lock.
func appWaitsOnLock(ctx context.Context, db *sqlx.DB) (bool, error) {
	var n int
	err := db.GetContext(ctx, &n, `SELECT count(*) FROM pg_stat_activity
		WHERE usename <> current_user AND cardinality(pg_blocking_pids(pid)) > 0`)
	return n > 0, err
}

type putResult struct {
	pg  page
	err error
	at  time.Time
}

func putAsync(ctx context.Context, id int64, price int) chan putResult {
	ch := make(chan putResult, 1)
	go func() {
		pg, err := putPrice(ctx, id, price)
		ch <- putResult{pg, err, time.Now()}
	}()
	return ch
}

// checkPut turns a PUT's answer into an error unless it shows price (or
// one of also: the price of a concurrent writer that committed later).
func checkPut(r putResult, p *product, price int, also ...int) error {
	if r.err != nil {
		return r.err
	}
	if differs(r.pg, p) != "" || (r.pg.PriceCents != price && !contains(also, r.pg.PriceCents)) {
		return fmt.Errorf("PUT /products/%d/price {\"price_cents\": %d} answered a page with price_cents %d: the answer to a write must show what was written", p.ID, price, r.pg.PriceCents)
	}
	return nil
}

// readNow reads p and checks the page apart from its price.
func readNow(ctx context.Context, p *product) (page, error) {
	pg, err := getPage(ctx, p.ID)
	if err == nil && differs(pg, p) != "" {
		err = fmt.Errorf("GET /products/%d: %s (the checker created product %d itself)", p.ID, differs(pg, p), p.ID)
	}
	return pg, err
}

// dbWindowRound is one round of the row lock or the commit held: read,
// hold, PUT, read inside the window, let go, read twice after the answer.
func dbWindowRound(ctx context.Context, db *sqlx.DB, log *rawLog, phase string, hold gate, p *product, used map[int]bool) {
	before, err := readNow(ctx, p)
	if err != nil {
		log.fail(err)
		return
	}
	old := before.PriceCents
	committed := dbPrice(ctx, db, p.ID) // what readers may see until the change commits
	used[old] = true
	used[committed] = true
	price := newPrice(used)
	pid, release, err := hold(ctx, db, p.ID)
	if err != nil {
		log.broke(fmt.Errorf("the checker could not hold %s: %w", phase, err))
		return
	}
	released := false
	defer func() {
		if !released {
			release()
		}
	}()
	done := putAsync(ctx, p.ID, price)
	deadline := time.Now().Add(blockedWithin)
	waiting := false
	for !waiting {
		select {
		case r := <-done:
			release()
			released = true
			if err := checkPut(r, p, price); err != nil {
				log.fail(err)
				return
			}
			log.fail(fmt.Errorf("PUT /products/%d/price {\"price_cents\": %d} answered 200 while the checker held %s: the answer came before the database had the new price (it cannot have, the change had to wait). "+
				"The back office must get its answer once the price is committed", p.ID, price, lockName(phase)))
			return
		default:
		}
		w, err := waitsFor(ctx, db, pid)
		if err != nil {
			log.broke(err)
			return
		}
		waiting = w
		if !waiting && time.Now().After(deadline) {
			break
		}
		if !waiting {
			time.Sleep(5 * time.Millisecond)
		}
	}
	// Reads inside the window: the change is not committed, so the old
	// price is right; the new one is accepted too (a page written before
	// COMMIT by a writer that holds the row lock).
	window := 0
	if waiting {
		for range windowReads {
			rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			pg, err := readNow(rctx, p)
			cancel()
			if err != nil {
				if errors.Is(rctx.Err(), context.DeadlineExceeded) {
					break // the read waits for the write: nothing to refill the cache with
				}
				log.fail(err)
				return
			}
			// The committed price, the price being written, or the page
			// shown before (stale if a previous round left it so: that
			// round's read is counted already).
			if pg.PriceCents != committed && pg.PriceCents != price && pg.PriceCents != old {
				log.fail(fmt.Errorf("GET /products/%d while a PUT of price_cents %d waited for %s showed price_cents %d; %d (committed) or %d (being written) expected", p.ID, price, lockName(phase), pg.PriceCents, committed, price))
				return
			}
			window++
		}
	}
	log.count(window, 0)
	release()
	released = true
	var r putResult
	select {
	case r = <-done:
	case <-ctx.Done():
		log.broke(ctx.Err())
		return
	}
	if err := checkPut(r, p, price); err != nil {
		log.fail(err)
		return
	}
	log.wrote()
	p.Price = price
	for range 2 {
		got, err := readNow(ctx, p)
		if err != nil {
			log.fail(err)
			return
		}
		log.add(readAfterWrite{phase: phase, id: p.ID, before: committed, written: []int{price}, truth: price, got: got.PriceCents, window: window})
	}
}

func lockName(phase string) string {
	if phase == phaseCommit {
		return "the commit (a trigger of the checker's waited for its lock)"
	}
	return "the product's row lock"
}

// redisRound is one round with Redis' writes held: writer A; if A answers
// before its cache write, a read right away (phasePaused); otherwise writer
// B, then A's held command is replayed behind B's (phaseReorder).
func redisRound(ctx context.Context, db *sqlx.DB, rc *redisConn, log *rawLog, p *product, used map[int]bool) {
	before, err := readNow(ctx, p)
	if err != nil {
		log.fail(err)
		return
	}
	old := before.PriceCents
	used[old] = true
	a, b := newPrice(used), newPrice(used)
	if err := rc.pauseWrites(ctx, 15000); err != nil {
		log.broke(err)
		return
	}
	paused := true
	unpause := func() {
		if paused {
			rc.unpauseWrites(context.WithoutCancel(ctx))
			paused = false
		}
	}
	defer unpause()
	// Clients blocked before A's write (a worker waiting in BRPOP, say)
	// are not A's: they are left out of every count and never dropped.
	base, err := rc.heldClients(ctx)
	if err != nil {
		log.broke(err)
		return
	}
	held := func() (map[string]string, error) {
		h, err := rc.heldClients(ctx)
		for id := range base {
			delete(h, id)
		}
		return h, err
	}
	doneA := putAsync(ctx, p.ID, a)
	var heldA map[string]string
	var answerA *putResult
	deadline := time.Now().Add(blockedWithin)
	for answerA == nil && len(heldA) == 0 && time.Now().Before(deadline) {
		select {
		case r := <-doneA:
			answerA = &r
			continue
		default:
		}
		h, err := held()
		if err != nil {
			log.broke(err)
			return
		}
		heldA = h
		if len(heldA) == 0 {
			time.Sleep(5 * time.Millisecond)
		}
	}
	if answerA == nil && len(heldA) > 0 {
		// A write that waits for its cache write cannot answer now; one
		// that left it to a goroutine or a queue answers in its usual time.
		select {
		case r := <-doneA:
			answerA = &r
		case <-time.After(log.answerWait()):
		}
	}
	if answerA != nil || len(heldA) == 0 {
		// A answered while Redis took no writes (or is still busy without
		// any write reaching Redis): the read right after the answer shows
		// whether the cache had changed before it.
		if answerA == nil {
			unpause()
			r := <-doneA
			answerA = &r
		}
		answeredPaused := paused
		if err := checkPut(*answerA, p, a); err != nil {
			log.fail(err)
			return
		}
		log.wrote()
		p.Price = a
		got, err := readWhilePaused(ctx, p, unpause)
		if err != nil {
			log.fail(err)
			return
		}
		log.add(readAfterWrite{phase: phasePaused, id: p.ID, before: old, written: []int{a}, truth: dbPrice(ctx, db, p.ID), got: got.PriceCents, pausedAnswer: answeredPaused})
		return
	}
	// A's cache write is held. Writer B: its cache write is held behind
	// A's, or B waits in the database for A (a write-through under the row
	// lock), or B answers.
	doneB := putAsync(ctx, p.ID, b)
	var answerB *putResult
	deadline = time.Now().Add(3 * time.Second) // B is held in milliseconds, unless the app serialises writers in its memory

	for time.Now().Before(deadline) {
		select {
		case r := <-doneB:
			answerB = &r
		default:
		}
		if answerB != nil {
			break
		}
		h, err := held()
		if err != nil {
			log.broke(err)
			return
		}
		if len(h) > len(heldA) {
			break
		}
		if w, err := appWaitsOnLock(ctx, db); err != nil {
			log.broke(err)
			return
		} else if w {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Replay A's held command behind B's: drop A's connection; its Redis
	// client sends the command again on another one.
	heldNow, err := held()
	if err != nil {
		log.broke(err)
		return
	}
	for id := range heldA {
		if _, ok := heldNow[id]; ok {
			if rc.killClient(ctx, id) == nil {
				log.count(0, 1)
			}
		}
	}
	deadline = time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		now, err := held()
		if err != nil {
			log.broke(err)
			return
		}
		if len(now) >= len(heldNow) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	unpause()
	ra := <-doneA
	if err := checkPut(ra, p, a, b); err != nil {
		log.fail(err)
		return
	}
	var rb putResult
	if answerB != nil {
		rb = *answerB
	} else {
		rb = <-doneB
	}
	if err := checkPut(rb, p, b, a); err != nil {
		log.fail(err)
		return
	}
	log.wrote()
	log.wrote()
	truth := dbPrice(ctx, db, p.ID)
	p.Price = truth
	got, err := readNow(ctx, p)
	if err != nil {
		log.fail(err)
		return
	}
	log.add(readAfterWrite{phase: phaseReorder, id: p.ID, before: old, written: []int{a, b}, truth: truth, got: got.PriceCents})
}

// readWhilePaused reads p while Redis' writes are still held. A read that
// must write to Redis (a miss that stores the page) waits for them; after
// half a second the checker lets the writes go and takes the answer then.
func readWhilePaused(ctx context.Context, p *product, unpause func()) (page, error) {
	type res struct {
		pg  page
		err error
	}
	ch := make(chan res, 1)
	go func() {
		pg, err := readNow(ctx, p)
		ch <- res{pg, err}
	}()
	select {
	case r := <-ch:
		unpause()
		return r.pg, r.err
	case <-time.After(500 * time.Millisecond):
	}
	unpause()
	r := <-ch
	return r.pg, r.err
}
