// Command checker verifies the zero-downtime-migration lab: it rolls the
// learner's phases out one by one through the lab's deploy tool while it
// keeps reading and writing customers through the service, then checks
// that no request failed, that no request stalled (every request is timed;
// the bound is max(1s, 10 × the p99 of the same run's warm-up, phase 0
// alone)), that every acknowledged write is there, that the schema ended as
// required (customers.full_name text NOT NULL, no name column) and that
// every production row is intact, its full_name holding its customer's name.
//
// The traffic uses fresh random data: new customers with random names and
// emails, random renames of those and of production customers, and reads
// compared with what was written (or, for the production customers, with
// the template database the sandbox started from).
package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/backlab/backlab/runner/checker"
)

var (
	appURL     = strings.TrimRight(checker.Env("APP_URL", "http://app:8080"), "/")
	controlURL = strings.TrimRight(checker.Env("CONTROL_URL", "http://app:9090"), "/")
	codeDir    = checker.Env("CODE_DIR", "/code")
	client     = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
)

const workers = 4

func main() {
	c := checker.New()
	defer c.Exit()
	ctx := c.Context()

	db, err := checker.OpenDB(ctx, checker.Env("DB_DSN", "postgres://postgres:postgres@db:5432/accounts?sslmode=disable"))
	if err != nil {
		c.Fatal(err)
	}
	defer db.Close()
	seed, err := loadSeed(ctx, checker.Env("SEED_DSN", "postgres://postgres:postgres@db:5432/accounts_seed?sslmode=disable"))
	if err != nil {
		c.Fatal(err)
	}
	phases := listPhases()
	if err := checker.WaitHTTP(ctx, appURL+"/healthz"); err != nil {
		c.Fatal(fmt.Errorf("the service did not come up: %w", err))
	}
	// The app service resets the database and starts phase 0 when it
	// starts; make sure, in case a deploy ran in between.
	if st, err := status(ctx); err != nil || st != 0 {
		out, err := post(ctx, "/reset", nil)
		if err != nil || !strings.HasPrefix(lastLine(out), "ok:") {
			c.Fatal(fmt.Errorf("reset the sandbox to phase 0: %v\n%s", err, out))
		}
	}

	tr := newTraffic(seed)
	tctx, stopTraffic := context.WithCancel(ctx)
	go tr.run(tctx)

	// rollout: every phases/N builds, migrates and starts through the lab's
	// deploy tool, which the learner cannot change (it is in the app image;
	// the learner's volume is mounted read-only there), under the checker's
	// own traffic. Without the skill: one phase that changes nothing rolls
	// out fine, so this step proves only that the rollout ran; the schema,
	// the data and the traffic are judged by the steps below.
	var reached int // the last phase that went live
	c.Step("rollout", func(s *checker.S) {
		defer func() { time.Sleep(500 * time.Millisecond); stopTraffic(); tr.wait() }()
		time.Sleep(1500 * time.Millisecond) // phase 0 alone first: the baseline of no-stalls
		if len(phases) == 0 {
			s.Fail("~/app/phases holds no phase to roll out: phases/1, phases/2, … are expected, each with the app of its version and, when it changes the schema, a migration.sql.",
				"Start from phases/1 of the starter: copy phases/0 to phases/1 and change what this phase should change.")
		}
		start := time.Now()
		for _, n := range phases {
			tr.setPhase(n)
			t := time.Now()
			// Each line is noted as it comes: the timeline tells when a
			// stalled request was sent (during the build, the migration,
			// the overlap…).
			out, err := post(s.Ctx(), fmt.Sprintf("/rollout?phase=%d", n), func(l string) {
				tr.deployLine(l)
				s.Logf("%s", l)
			})
			if err != nil {
				s.Fail(fmt.Sprintf("The deploy tool did not answer the rollout of phase %d: %v", n, err), "")
			}
			if !strings.HasPrefix(lastLine(out), "ok:") {
				failRollout(s, n, reached, out)
			}
			reached = n
			s.Metric(fmt.Sprintf("rollout_%d_s", n), time.Since(t).Seconds(), "s")
		}
		s.Metric("phases", float64(len(phases)), "")
		s.Passf("%s rolled out one after the other in %.1fs under steady traffic; phase %d is live. Each one built, applied its migration while the previous version served, started, and served beside the previous version for 2s.",
			plural(len(phases), "phase"), time.Since(start).Seconds(), reached)
	})
	stopTraffic()
	tr.wait()
	appLog := fetchAppErrors(ctx)

	// no-failed-requests: every request of the checker's traffic, from the
	// first rollout to the last, answered 2xx with JSON (and a POST with
	// the new customer's id). Without the skill: an app that answers 200
	// whatever happened, or an empty body, would count as answered; what
	// the answers say is judged by writes-kept (every answer compared with
	// what the checker wrote), and the rows by the database itself. A
	// migration that blocks instead of breaking answers late, not wrongly:
	// no-stalls judges that.
	c.Step("no-failed-requests", func(s *checker.S) {
		checkFailures(s, tr, appLog)
	})
	// no-stalls: no request, read or write, took longer than
	// max(1s, 10 × the p99 of the same run's warm-up, phase 0 alone).
	// Without the skill: a migration that locks the table or holds row
	// locks for seconds (one big transaction, ALTER TABLE followed by a
	// backfill, LOCK TABLE, a pause inside a transaction) fails no request
	// as long as the client waits long enough; every request is timed here,
	// so such a stall shows. The baseline comes from the same run, so a
	// loaded machine raises the bound with it; the 1s floor keeps a slow
	// moment of the machine from failing a correct rollout.
	c.Step("no-stalls", func(s *checker.S) {
		checkStalls(s, tr)
	})
	// writes-kept: every customer the checker created or renamed (its own
	// and production customers) reads back with its last acknowledged name,
	// through the live version and in the table itself, with its email
	// intact; no answer during the rollout contradicted a write. Without
	// the skill: a version that answers from memory, or a migration that
	// loses writes made during the overlap, passes the API alone; the rows
	// are compared in the database as well.
	c.Step("writes-kept", func(s *checker.S) {
		checkWrites(s, db, tr)
	})
	// final-schema: the catalog, not the files: customers is a table with
	// full_name text NOT NULL, no default, and no name column. Without the
	// skill: a view named customers, or a column added as nullable and
	// never constrained, fails here.
	c.Step("final-schema", func(s *checker.S) {
		checkSchema(s, db)
	})
	// backfill-complete: every production customer's row is compared with
	// the template database the sandbox started from (email, created_at,
	// and full_name = their name, or the name the checker last gave them).
	// Without the skill: a backfill that skipped rows, copied the wrong
	// column, or a migration that deleted or rewrote rows shows here; the
	// data cannot be faked because the seed is read from the template, not
	// from the learner's files.
	c.Step("backfill-complete", func(s *checker.S) {
		checkBackfill(s, db, seed, tr.renamed)
	})
}

// failRollout explains a rollout that did not finish.
func failRollout(s *checker.S, n, live int, out string) {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) > 25 {
		lines = append([]string{"…"}, lines[len(lines)-25:]...)
	}
	msg := fmt.Sprintf("The rollout of phase %d failed, so phase %d stayed live and the later phases were not rolled out. The deploy tool said:\n%s", n, live, strings.Join(lines, "\n"))
	hint := "Run deploy reset, then deploy all (or make rehearse) in the terminal to see the same output, and fix phases/" + strconv.Itoa(n) + "."
	switch {
	case strings.Contains(out, "contains null values"):
		hint = "SET NOT NULL found rows whose new column is still NULL. Which rows were written without it? Rows the previous version wrote after your backfill ran (it did not know the new column) and rows nobody backfilled. " +
			"Backfill in a phase of its own, once every live version writes the new column, and only then add NOT NULL."
	case strings.Contains(out, "does not build"):
		hint = "Run go build in phases/" + strconv.Itoa(n) + " (or make build) and fix what the compiler says."
	case strings.Contains(out, "migration.sql failed"):
		hint = "Try the migration in psql first: BEGIN; \\i phases/" + strconv.Itoa(n) + "/migration.sql then ROLLBACK; (a DO block that COMMITs must run outside BEGIN)."
	}
	s.Fail(msg, hint)
}

// ---- traffic ----

// failure is one request that did not succeed.
type failure struct {
	Phase   string
	Request string // "GET /customers/{id} → 500"
	Detail  string
}

// wrongRead is an answer that contradicted what the checker had written.
type wrongRead struct {
	Phase, Detail string
}

// owned is a customer whose name the checker controls: one it created, or
// a production customer it renamed. Names holds the names a read may
// return: the last acknowledged one, plus any whose write failed without a
// clear answer.
type owned struct {
	ID    int64
	Email string // "" for a production customer (its email is in the seed)
	Names []string
}

// sample is one request of the checker's traffic, timed from the moment it
// was sent until its answer had been read.
type sample struct {
	At       time.Duration // when it was sent, since the traffic began
	Took     time.Duration
	Phase    string // the label of the phase then
	Request  string // "PATCH /customers/50123"
	Write    bool
	Answered bool
}

// event is a line of the deploy tool's output during a rollout, with when
// the checker received it (the deploy tool flushes each line as it says it).
type event struct {
	At   time.Duration
	Line string
}

type counts struct{ total, failed int }

type traffic struct {
	seed    map[int64]seedRow
	shares  [workers][]int64 // production customers each worker may rename and read
	started time.Time

	mu       sync.Mutex
	phase    string
	order    []string // labels in order
	byPhase  map[string]*counts
	phaseAt  map[string]time.Duration // when each label began
	events   map[string][]event       // the deploy tool's timeline of each rollout
	fails    []failure
	kinds    map[string]int
	wrong    []wrongRead
	nWrong   int
	customer []*owned         // created by the checker
	renamed  map[int64]*owned // production customers the checker renamed
	samples  []sample
	reads    int
	writes   int
	wg       sync.WaitGroup
}

const warmupLabel = "phase 0 alone"

func newTraffic(seed map[int64]seedRow) *traffic {
	t := &traffic{seed: seed, byPhase: map[string]*counts{}, kinds: map[string]int{},
		phaseAt: map[string]time.Duration{}, events: map[string][]event{}, renamed: map[int64]*owned{}, started: time.Now()}
	ids := make([]int64, 0, len(seed))
	for id := range seed {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for i, id := range ids {
		t.shares[i%workers] = append(t.shares[i%workers], id)
	}
	t.setLabel(warmupLabel)
	return t
}

func phaseLabel(n int) string { return fmt.Sprintf("rollout of phase %d", n) }

func (t *traffic) setPhase(n int) { t.setLabel(phaseLabel(n)) }

func (t *traffic) setLabel(l string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.phase = l
	t.order = append(t.order, l)
	t.byPhase[l] = &counts{}
	t.phaseAt[l] = time.Since(t.started)
}

// deployLine notes a line the deploy tool said during the current rollout.
func (t *traffic) deployLine(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.events[t.phase] = append(t.events[t.phase], event{At: time.Since(t.started), Line: line})
}

func (t *traffic) label() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.phase
}

func (t *traffic) run(ctx context.Context) {
	for w := range workers {
		t.wg.Add(1)
		go func() { defer t.wg.Done(); t.worker(ctx, w) }()
	}
}

func (t *traffic) wait() { t.wg.Wait() }

// worker sends a steady mix like the service's real clients: it creates
// customers, renames its own and production customers, and reads both
// back. Each worker renames and reads only its own share of the production
// customers, so it alone knows the name each of them must have.
func (t *traffic) worker(ctx context.Context, w int) {
	var mine []*owned
	renamed := map[int64]*owned{}
	share := t.shares[w]
	defer func() {
		t.mu.Lock()
		t.customer = append(t.customer, mine...)
		for id, c := range renamed {
			t.renamed[id] = c
		}
		t.mu.Unlock()
	}()
	rename := func(c *owned, what string) {
		name := randName()
		var got struct {
			Name string `json:"name"`
		}
		status, ok := t.callStatus(ctx, "PATCH", fmt.Sprintf("/customers/%d", c.ID), map[string]string{"name": name}, &got)
		switch {
		case ok:
			c.Names = []string{name}
			if got.Name != name {
				t.noteWrong(fmt.Sprintf("PATCH /customers/%d (%s) {\"name\": %q} answered %d with name %q", c.ID, what, name, status, got.Name))
			}
		case status == 0 || status >= 500:
			// The rename may or may not have been stored.
			c.Names = append(c.Names, name)
		}
	}
	read := func(id int64, names []string, what string) {
		var got struct {
			Name string `json:"name"`
		}
		if t.call(ctx, "GET", fmt.Sprintf("/customers/%d", id), nil, &got) && !slices.Contains(names, got.Name) {
			t.noteWrong(fmt.Sprintf("GET /customers/%d (%s) returned name %q; %q expected (the last name the service acknowledged)", id, what, got.Name, names[len(names)-1]))
		}
	}
	for ctx.Err() == nil {
		switch r := rand.IntN(100); {
		case r < 20 || len(mine) == 0:
			name := randName()
			email := "checker-" + checker.RandString(12) + "@example.test"
			var got struct {
				ID   int64  `json:"id"`
				Name string `json:"name"`
			}
			status, ok := t.callStatus(ctx, "POST", "/customers", map[string]string{"email": email, "name": name}, &got)
			switch {
			case ok && got.ID > 0:
				mine = append(mine, &owned{ID: got.ID, Email: email, Names: []string{name}})
				if got.Name != name {
					t.noteWrong(fmt.Sprintf("POST /customers {\"name\": %q} answered %d with name %q", name, status, got.Name))
				}
			case ok:
				t.noteWrong(fmt.Sprintf("POST /customers answered %d without the new customer's id", status))
			}
		case r < 35:
			rename(mine[rand.IntN(len(mine))], "a customer the checker created")
		case r < 45:
			// A production customer: a big transaction that holds its row
			// lock makes this write wait.
			id := share[rand.IntN(len(share))]
			c := renamed[id]
			if c == nil {
				c = &owned{ID: id, Names: []string{t.seed[id].Name}}
				renamed[id] = c
			}
			rename(c, "a production customer the checker renamed")
		case r < 70:
			c := mine[rand.IntN(len(mine))]
			read(c.ID, c.Names, "a customer the checker created")
		default:
			id := share[rand.IntN(len(share))]
			if c := renamed[id]; c != nil {
				read(id, c.Names, "a production customer the checker renamed")
			} else {
				read(id, []string{t.seed[id].Name}, "a customer of the production data")
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func (t *traffic) call(ctx context.Context, method, path string, in, out any) bool {
	_, ok := t.callStatus(ctx, method, path, in, out)
	return ok
}

// callStatus sends one request, times it and records it; status is 0 when
// there was no answer.
func (t *traffic) callStatus(ctx context.Context, method, path string, in, out any) (int, bool) {
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequestWithContext(ctx, method, appURL+path, body)
	req.Header.Set("Content-Type", "application/json")
	label, sent := t.label(), time.Now()
	resp, err := client.Do(req)
	var data []byte
	if err == nil {
		data, _ = io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
	}
	if ctx.Err() != nil {
		return 0, false // the traffic stopped: not the service's fault
	}
	t.time(sample{At: sent.Sub(t.started), Took: time.Since(sent), Phase: label, Request: method + " " + path, Write: method != "GET", Answered: err == nil})
	pattern := method + " " + pathPattern(path)
	if err != nil {
		t.record(label, false, pattern+" → no answer", fmt.Sprintf("%s %s: %v", method, path, err))
		return 0, false
	}
	if resp.StatusCode >= 300 {
		t.record(label, false, fmt.Sprintf("%s → %d", pattern, resp.StatusCode),
			fmt.Sprintf("%s %s → %d %s", method, path, resp.StatusCode, strings.TrimSpace(string(data))))
		return resp.StatusCode, false
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.record(label, false, pattern+" → not JSON", fmt.Sprintf("%s %s → %d %q", method, path, resp.StatusCode, data))
			return resp.StatusCode, false
		}
	}
	t.record(label, true, "", "")
	if method == "GET" {
		t.count(&t.reads)
	} else {
		t.count(&t.writes)
	}
	return resp.StatusCode, true
}

func (t *traffic) count(n *int) {
	t.mu.Lock()
	*n++
	t.mu.Unlock()
}

func (t *traffic) time(s sample) {
	t.mu.Lock()
	t.samples = append(t.samples, s)
	t.mu.Unlock()
}

// record counts a request under the phase it was sent in.
func (t *traffic) record(label string, ok bool, kind, detail string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.byPhase[label]
	c.total++
	if ok {
		return
	}
	c.failed++
	t.kinds[kind]++
	if len(t.fails) < 5 {
		t.fails = append(t.fails, failure{Phase: label, Request: kind, Detail: detail})
	}
}

func (t *traffic) noteWrong(detail string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.nWrong++
	if len(t.wrong) < 5 {
		t.wrong = append(t.wrong, wrongRead{Phase: t.phase, Detail: detail})
	}
}

func (t *traffic) totals() (total, failed int) {
	for _, c := range t.byPhase {
		total += c.total
		failed += c.failed
	}
	return
}

// ---- steps ----

func checkFailures(s *checker.S, tr *traffic, appLog []string) {
	total, failed := tr.totals()
	s.Metric("requests", float64(total), "")
	s.Metric("failed_requests", float64(failed), "")
	if total < 100 {
		s.Fail(fmt.Sprintf("Only %d requests were sent during the rollout; the checker needs the service to answer to measure anything.", total),
			"Is the service up? curl -s $APP_URL/customers/1")
	}
	if failed == 0 {
		s.Passf("0 failed of %d requests (%d reads, %d writes) sent through the rollout (%s).",
			total, tr.reads, tr.writes, phaseBreakdown(tr))
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d requests failed while the phases rolled out; 0 expected. By phase — %s.\n", failed, total, phaseBreakdown(tr))
	var kinds []string
	for k := range tr.kinds {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool { return tr.kinds[kinds[i]] > tr.kinds[kinds[j]] })
	b.WriteString("Failures:")
	for _, k := range kinds {
		fmt.Fprintf(&b, "\n  %5d × %s", tr.kinds[k], k)
	}
	b.WriteString("\nFirst failed requests:")
	for _, f := range tr.fails {
		fmt.Fprintf(&b, "\n  [%s] %s", f.Phase, f.Detail)
	}
	if len(appLog) > 0 {
		b.WriteString("\nWhat the apps logged (deploy logs shows it all):")
		for _, l := range appLog {
			b.WriteString("\n  " + l)
		}
	}
	hint := "During a rollout the old version keeps serving while the migration runs and while the new version starts: for a while, both run side by side. " +
		"Each migration must suit the version already live as well as the new one. Split the change: expand (add the new column; the app writes both), " +
		"backfill, switch reads to the new column, and drop the old column only once no live version uses it."
	s.Fail(b.String(), hint)
}

// stallFloor is the least a request may take before it counts as stalled,
// whatever the baseline: a loaded machine makes single requests slow now
// and then, but not for a second.
const stallFloor = time.Second

// stallRatio times the p99 of the warm-up is the other bound: on a machine
// so loaded that phase 0 alone answers slowly, the bound grows with it.
const stallRatio = 10

func checkStalls(s *checker.S, tr *traffic) {
	var warm []time.Duration
	for _, x := range tr.samples {
		if x.Phase == warmupLabel && x.Answered {
			warm = append(warm, x.Took)
		}
	}
	if len(warm) < 50 {
		s.Fail(fmt.Sprintf("Only %d requests were answered while phase 0 served alone, before the first rollout; the checker needs them to know how fast the service answers when nothing is deployed.", len(warm)),
			"Is the service up? curl -s $APP_URL/customers/1")
	}
	p99 := percentile(warm, 0.99)
	bound := max(stallFloor, stallRatio*p99)
	s.Metric("warmup_p99_ms", ms(p99), "ms")
	s.Metric("stall_bound_ms", ms(bound), "ms")

	// Every request sent from the first rollout on, reads and writes alike,
	// and those that never answered (the client gives up after 10s: a stall
	// at least that long).
	var during, stalled []sample
	for _, x := range tr.samples {
		if x.Phase != warmupLabel {
			during = append(during, x)
		}
	}
	for _, x := range during {
		if x.Took > bound {
			stalled = append(stalled, x)
		}
	}
	sort.SliceStable(stalled, func(i, j int) bool { return stalled[i].Took > stalled[j].Took })
	var slowest sample
	for _, x := range during {
		if x.Took > slowest.Took {
			slowest = x
		}
	}
	s.Metric("slowest_request_ms", ms(slowest.Took), "ms")
	s.Metric("stalled_requests", float64(len(stalled)), "")
	var perPhase []string
	for _, l := range tr.order {
		var d []time.Duration
		n := 0
		for _, x := range tr.samples {
			if x.Phase == l {
				d = append(d, x.Took)
				if x.Took > bound && l != warmupLabel {
					n++
				}
			}
		}
		if len(d) == 0 {
			continue
		}
		part := fmt.Sprintf("%s: p99 %s, slowest %s", l, short(percentile(d, 0.99)), short(slices.Max(d)))
		if n > 0 {
			part += fmt.Sprintf(", %d stalled", n)
		}
		perPhase = append(perPhase, part)
		if l != warmupLabel {
			s.Metric(strings.ReplaceAll(strings.TrimPrefix(l, "rollout of "), " ", "_")+"_p99_ms", ms(percentile(d, 0.99)), "ms")
		}
	}
	s.Data("latency_by_phase", perPhase)
	why := fmt.Sprintf("10 × the p99 of %s measured while phase 0 served alone, and at least %s", short(p99), short(stallFloor))
	if len(during) == 0 {
		s.Fail("No request was sent during the rollouts, so nothing shows the service kept answering.", "")
	}
	if len(stalled) == 0 {
		s.Passf("No request stalled while the phases rolled out: the slowest of %d took %s, under the bound of %s (%s). It was %s, sent %s. By phase — %s.",
			len(during), short(slowest.Took), short(bound), why, slowest.Request, tr.when(slowest), strings.Join(perPhase, "; "))
		return
	}
	writes, reads, inserts := 0, 0, 0
	for _, x := range stalled {
		switch {
		case !x.Write:
			reads++
		case strings.HasPrefix(x.Request, "POST "):
			inserts++
			writes++
		default:
			writes++
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d requests took longer than %s while the phases rolled out (%d renames, %d new customers, %d reads; the bound: %s). A request that waits this long is downtime for its user, even if it succeeds in the end.\n",
		len(stalled), short(bound), writes-inserts, inserts, reads, why)
	fmt.Fprintf(&b, "The longest stall: %s took %s%s; it was sent %s.", slowest.Request, short(slowest.Took), noAnswer(slowest), tr.when(slowest))
	if len(stalled) > 1 {
		b.WriteString("\nOther long ones:")
		for _, x := range stalled[1:min(len(stalled), 5)] {
			fmt.Fprintf(&b, "\n  %s took %s%s, sent %s", x.Request, short(x.Took), noAnswer(x), tr.when(x))
		}
	}
	fmt.Fprintf(&b, "\nBy phase — %s.", strings.Join(perPhase, "; "))
	// What waited tells which lock held it: reads wait only for a lock on
	// the whole table that forbids reading (ACCESS EXCLUSIVE: ALTER TABLE);
	// writes alone, for row locks or a table lock that forbids writing.
	// (Each worker waits on one request at a time, so a few stalled
	// requests cannot tell those two apart: the hint names both.)
	var hint string
	if reads > 0 {
		hint = "Reads waited too: something held a lock on the whole table. ALTER TABLE takes an ACCESS EXCLUSIVE lock (no reads, no writes), " +
			"and PostgreSQL keeps every lock until the transaction ends: anything slow after it in the same transaction (a backfill, a pause, a table rewrite) keeps the table locked. " +
			"Keep each DDL statement in a short transaction of its own, and backfill in batches that each commit."
	} else {
		hint = "Writes waited while reads went on: a transaction held write locks until it ended, pauses included. Either the locks of the rows it updated " +
			"(a backfill as one transaction: one big UPDATE, or batches inside BEGIN … COMMIT or in a DO block that never COMMITs), " +
			"or a lock on the whole table that forbids writing (LOCK TABLE … IN SHARE or EXCLUSIVE MODE, CREATE INDEX without CONCURRENTLY). " +
			"Commit each batch of a backfill on its own (a DO block that COMMITs after each batch, run outside BEGIN): it needs no table lock, since the versions live then write both columns."
	}
	s.Fail(b.String(), hint+" make rehearse shows the slowest requests of a rehearsal.")
}

func noAnswer(x sample) string {
	if x.Answered {
		return ""
	}
	return " and got no answer"
}

// when says when a request was sent, in the terms of the deploy tool's
// timeline: how far into which rollout, and what the deploy tool was doing
// then (from the line it said last, until the next one).
func (t *traffic) when(x sample) string {
	start, ok := t.phaseAt[x.Phase]
	if !ok {
		return "during " + x.Phase
	}
	into := x.At - start
	out := fmt.Sprintf("%s into the %s", short(into), x.Phase)
	evs := t.events[x.Phase]
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].At > x.At {
			continue
		}
		what := stage(evs[i].Line)
		if what == "" {
			continue
		}
		end := "the end"
		for _, e := range evs[i+1:] {
			if stage(e.Line) != "" {
				end = short(e.At - start)
				break
			}
		}
		return fmt.Sprintf("%s, %s (%s to %s)", out, what, short(evs[i].At-start), end)
	}
	return out
}

// stage describes what the deploy tool does after it said line, or "" for
// a line that does not begin a stage.
func stage(line string) string {
	_, rest, _ := strings.Cut(line, ": ")
	switch {
	case strings.HasPrefix(line, "ok:"):
		return "after " + strings.TrimSuffix(rest, " is live") + " went live"
	case strings.HasPrefix(rest, "building "):
		f, _, _ := strings.Cut(strings.TrimPrefix(rest, "building "), " while ")
		return "while " + f + " was being built"
	case strings.HasPrefix(rest, "applying "):
		f, _, _ := strings.Cut(strings.TrimPrefix(rest, "applying "), " while ")
		return "while " + f + " ran"
	case strings.HasPrefix(rest, "migration applied"), strings.HasPrefix(rest, "no migration.sql"):
		return "while the new version started"
	case strings.Contains(line, " both serve traffic"):
		both, _, _ := strings.Cut(line, " both serve traffic")
		return "while " + both + " both served"
	case strings.Contains(line, " takes all traffic"):
		return "after the new version took all traffic, while the old one finished its requests"
	}
	return ""
}

func percentile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	c := slices.Clone(d)
	slices.Sort(c)
	return c[min(len(c)-1, int(q*float64(len(c))))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// short renders a duration for people: 12ms, 1.4s.
func short(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	return fmt.Sprintf("%.1fs", d.Seconds())
}

func phaseBreakdown(tr *traffic) string {
	var parts []string
	for _, l := range tr.order {
		c := tr.byPhase[l]
		parts = append(parts, fmt.Sprintf("%s: %d of %d failed", l, c.failed, c.total))
	}
	return strings.Join(parts, "; ")
}

// nameColumn is the column that holds the names now: full_name once it
// exists, else name.
func nameColumn(ctx context.Context, db *sqlx.DB) (string, error) {
	var cols []string
	err := db.SelectContext(ctx, &cols, `SELECT column_name FROM information_schema.columns
		WHERE table_schema = 'public' AND table_name = 'customers' AND column_name IN ('name', 'full_name')`)
	if err != nil {
		return "", err
	}
	switch {
	case slices.Contains(cols, "full_name"):
		return "full_name", nil
	case slices.Contains(cols, "name"):
		return "name", nil
	}
	return "", nil
}

func checkWrites(s *checker.S, db *sqlx.DB, tr *traffic) {
	ctx := s.Ctx()
	var ids []int64
	for _, c := range tr.customer {
		ids = append(ids, c.ID)
	}
	// Every customer whose name the checker controls: the ones it created
	// and the production customers it renamed.
	all := slices.Clone(tr.customer)
	for _, c := range tr.renamed {
		all = append(all, c)
	}
	s.Metric("customers_created", float64(len(ids)), "")
	s.Metric("production_customers_renamed", float64(len(tr.renamed)), "")
	s.Metric("wrong_reads", float64(tr.nWrong), "")
	if tr.nWrong > 0 {
		var b strings.Builder
		fmt.Fprintf(&b, "%d answers during the rollout did not match what the checker had written; the service acknowledged each write, so every later answer must show it.", tr.nWrong)
		for _, w := range tr.wrong {
			fmt.Fprintf(&b, "\n  [%s] %s", w.Phase, w.Detail)
		}
		s.Fail(b.String(), "While two versions run side by side, one may write only the old column and the other read only the new one. "+
			"Make every version that runs beside another write both columns (or let a trigger keep them in step), and backfill rows whose columns differ, not only the NULL ones.")
	}
	// Every customer is still a row of the table, with the email the
	// checker gave it and a name it last wrote, in the column that stays
	// (full_name once it exists). While both columns exist, the rollout
	// did not finish (final-schema fails): either column may hold the name.
	var cols []string
	s.Must(db.SelectContext(ctx, &cols, `SELECT column_name FROM information_schema.columns
		WHERE table_schema = 'public' AND table_name = 'customers' AND column_name IN ('name', 'full_name') ORDER BY column_name`))
	if len(cols) == 0 {
		s.Fail("The customers table has neither a name nor a full_name column any more, so the names the service acknowledged are gone.",
			"Drop name only once full_name holds every name.")
	}
	colDesc := "customers." + strings.Join(cols, " or customers.")
	pick := func(c string) string {
		if slices.Contains(cols, c) {
			return c
		}
		return "NULL::text"
	}
	type row struct {
		ID       int64   `db:"id"`
		Email    string  `db:"email"`
		Name     *string `db:"n"`
		FullName *string `db:"fn"`
	}
	var rows []row
	s.Must(db.SelectContext(ctx, &rows, `SELECT id, email, `+pick("name")+` AS n, `+pick("full_name")+` AS fn FROM customers WHERE id = ANY($1)`, ids))
	have := map[int64]row{}
	for _, r := range rows {
		have[r.ID] = r
	}
	holds := func(p *string, names []string) bool { return p != nil && slices.Contains(names, *p) }
	var gone, changed []string
	nGone, nChanged := 0, 0
	for _, c := range tr.customer {
		r, ok := have[c.ID]
		switch {
		case !ok:
			nGone++
			if len(gone) < 5 {
				gone = append(gone, fmt.Sprintf("%d (%s)", c.ID, c.Email))
			}
		case r.Email != c.Email || !holds(r.Name, c.Names) && !holds(r.FullName, c.Names):
			nChanged++
			if len(changed) < 5 {
				var held []string
				for _, x := range []struct {
					col string
					v   *string
				}{{"name", r.Name}, {"full_name", r.FullName}} {
					if slices.Contains(cols, x.col) {
						held = append(held, x.col+" "+show(x.v))
					}
				}
				changed = append(changed, fmt.Sprintf("customer %d: email %q, %s; the service acknowledged email %q and name %q",
					c.ID, r.Email, strings.Join(held, ", "), c.Email, c.Names[len(c.Names)-1]))
			}
		}
	}
	if nGone > 0 {
		s.Fail(fmt.Sprintf("%d of the %d customers the service created (201) during the rollout are not in the customers table any more, e.g. %s.",
			nGone, len(ids), strings.Join(gone, ", ")),
			"A migration must never delete or re-create rows: change the columns in place.")
	}
	if nChanged > 0 {
		s.Fail(fmt.Sprintf("In the customers table, %d of the %d customers the checker created during the rollout do not hold what the service acknowledged (in %s):\n  %s",
			nChanged, len(ids), colDesc, strings.Join(changed, "\n  ")),
			"Which column does each version write? Every write acknowledged by any version must end up in the column that stays.")
	}
	// … and the final version of the service returns the last name written.
	type result struct {
		c      *owned
		status int
		name   string
		err    error
	}
	jobs := make(chan *owned)
	results := make(chan result)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range jobs {
				var got struct {
					Name string `json:"name"`
				}
				status, err := checker.GetJSON(ctx, fmt.Sprintf("%s/customers/%d", appURL, c.ID), &got)
				results <- result{c, status, got.Name, err}
			}
		}()
	}
	go func() {
		for _, c := range all {
			jobs <- c
		}
		close(jobs)
		wg.Wait()
		close(results)
	}()
	bad := 0
	var problems []string
	for r := range results {
		var p string
		switch {
		case r.err != nil || r.status != 200:
			p = fmt.Sprintf("GET /customers/%d answered %d (%v); 200 expected", r.c.ID, r.status, r.err)
		case !slices.Contains(r.c.Names, r.name):
			p = fmt.Sprintf("GET /customers/%d returns name %q; the last acknowledged write set %q", r.c.ID, r.name, r.c.Names[len(r.c.Names)-1])
		default:
			continue
		}
		bad++
		if len(problems) < 5 {
			problems = append(problems, p)
		}
	}
	if bad > 0 {
		s.Fail(fmt.Sprintf("After the rollout, %d of the %d customers the checker created or renamed through the service do not read back with their last acknowledged name:\n  %s",
			bad, len(all), strings.Join(problems, "\n  ")),
			"Which column does the live version read? Does it hold what every earlier version wrote, including rows an older version wrote during a rollout?")
	}
	s.Passf("All %d customers created and %d production customers renamed during the rollout hold their last acknowledged name, in %s and through the live version (%d writes acknowledged in all); the %d reads during the rollout all returned the name last written.",
		len(ids), len(tr.renamed), colDesc, tr.writes, tr.reads)
}

func show(p *string) string {
	if p == nil {
		return "NULL"
	}
	return strconv.Quote(*p)
}

type column struct {
	Name     string  `db:"column_name"`
	Type     string  `db:"data_type"`
	Nullable string  `db:"is_nullable"`
	Default  *string `db:"column_default"`
}

func checkSchema(s *checker.S, db *sqlx.DB) {
	var cols []column
	s.Must(db.SelectContext(s.Ctx(), &cols, `SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns
		WHERE table_schema = 'public' AND table_name = 'customers' ORDER BY ordinal_position`))
	var list []string
	var full *column
	hasName := false
	for i, c := range cols {
		null := ""
		if c.Nullable == "NO" {
			null = " NOT NULL"
		}
		list = append(list, c.Name+" "+c.Type+null)
		switch c.Name {
		case "full_name":
			full = &cols[i]
		case "name":
			hasName = true
		}
	}
	s.Data("columns", list)
	desc := "customers(" + strings.Join(list, ", ") + ")"
	var kind string
	err := db.QueryRowContext(s.Ctx(), `SELECT table_type FROM information_schema.tables WHERE table_schema = 'public' AND table_name = 'customers'`).Scan(&kind)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		s.Must(err)
	}
	if kind != "BASE TABLE" {
		s.Fail(fmt.Sprintf("public.customers is not a table any more (%s): %s.", strings.ToLower(cmp.Or(kind, "missing")), desc),
			"Change the table's columns in place; a view over another table is not the same schema.")
	}
	if full == nil {
		s.Fail("The customers table has no full_name column: "+desc+".", "The goal is customers.full_name text NOT NULL holding every customer's name.")
	}
	if full.Type != "text" {
		s.Fail(fmt.Sprintf("customers.full_name is %s; text expected, like name: %s.", full.Type, desc), "Keep the type of the column you replace.")
	}
	if full.Nullable != "NO" {
		s.Fail("customers.full_name allows NULL: "+desc+". Every customer has a name, and the database should guarantee it as it did for name.",
			"Once the backfill is done and every live version writes full_name, add the constraint: ALTER TABLE customers ALTER COLUMN full_name SET NOT NULL.")
	}
	if hasName {
		s.Fail("The old column customers.name is still there: "+desc+". The migration ends with the contract step: drop what no version uses any more.",
			"In a last phase, once no live version reads or writes name, ALTER TABLE customers DROP COLUMN name.")
	}
	if full.Default != nil {
		s.Fail(fmt.Sprintf("customers.full_name has a default (%s): a customer without a name would get it silently.", *full.Default),
			"Drop the default once the transition no longer needs it.")
	}
	s.Passf("%s: full_name text NOT NULL, no name column.", desc)
}

func checkBackfill(s *checker.S, db *sqlx.DB, seed map[int64]seedRow, renamed map[int64]*owned) {
	ctx := s.Ctx()
	col, err := nameColumn(ctx, db)
	s.Must(err)
	if col != "full_name" {
		s.Fail("customers has no full_name column, so nothing was backfilled.", "Add full_name, then copy name into it for every existing row.")
	}
	var total, nulls int
	s.Must(db.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE full_name IS NULL) FROM customers`).Scan(&total, &nulls))
	s.Metric("rows", float64(total), "")
	s.Metric("null_full_name", float64(nulls), "")
	type row struct {
		ID      int64   `db:"id"`
		Name    *string `db:"full_name"`
		Email   string  `db:"email"`
		Created string  `db:"created"`
	}
	var rows []row
	ids := make([]int64, 0, len(seed))
	for id := range seed {
		ids = append(ids, id)
	}
	s.Must(db.SelectContext(ctx, &rows, `SELECT id, full_name, email, created_at::text AS created FROM customers WHERE id = ANY($1)`, ids))
	wrong, altered, missing := 0, 0, len(seed)-len(rows)
	var examples, alteredEx []string
	for _, r := range rows {
		want := seed[r.ID]
		names := []string{want.Name}
		if c := renamed[r.ID]; c != nil {
			names = c.Names
		}
		if r.Name == nil || !slices.Contains(names, *r.Name) {
			wrong++
			if len(examples) < 3 {
				what := fmt.Sprintf("name was %q", want.Name)
				if renamed[r.ID] != nil {
					what = fmt.Sprintf("the checker renamed them %q", names[len(names)-1])
				}
				examples = append(examples, fmt.Sprintf("customer %d: full_name %s, %s", r.ID, show(r.Name), what))
			}
		}
		if r.Email != want.Email || r.Created != want.Created {
			altered++
			if len(alteredEx) < 3 {
				alteredEx = append(alteredEx, fmt.Sprintf("customer %d: email %q, created_at %s; it was %q, %s", r.ID, r.Email, r.Created, want.Email, want.Created))
			}
		}
	}
	s.Metric("production_rows_wrong", float64(wrong+missing+altered), "")
	if nulls > 0 || wrong > 0 || missing > 0 || altered > 0 {
		msg := fmt.Sprintf("Of %d customers, %d have no full_name (NULL).", total, nulls)
		if wrong > 0 {
			msg += fmt.Sprintf(" %d of the %d production customers do not have their name in full_name (e.g. %s).", wrong, len(seed), strings.Join(examples, "; "))
		}
		if missing > 0 {
			msg += fmt.Sprintf(" %d production customers are gone from the table.", missing)
		}
		if altered > 0 {
			msg += fmt.Sprintf(" %d production customers have another email or created_at than the data the sandbox started from (e.g. %s): the migration must change only the name columns.", altered, strings.Join(alteredEx, "; "))
		}
		s.Fail(msg, "Backfill: once every live version writes full_name, copy name into full_name for every row where they differ, in batches "+
			"(UPDATE customers SET full_name = name WHERE id BETWEEN … AND … AND full_name IS DISTINCT FROM name).")
	}
	s.Passf("All %d customers have a full_name; the %d production customers kept their rows exactly (email, created_at, and their name in full_name, or the name the checker gave %d of them during the rollout), compared with the data the sandbox started from.",
		total, len(seed), len(renamed))
}

// ---- helpers ----

// seedRow is a production customer as the sandbox started with it.
type seedRow struct {
	Name, Email, Created string
}

func loadSeed(ctx context.Context, dsn string) (map[int64]seedRow, error) {
	db, err := checker.OpenDB(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT id, name, email, created_at::text FROM customers`)
	if err != nil {
		return nil, fmt.Errorf("read the production data: %w", err)
	}
	defer rows.Close()
	seed := map[int64]seedRow{}
	for rows.Next() {
		var id int64
		var r seedRow
		if err := rows.Scan(&id, &r.Name, &r.Email, &r.Created); err != nil {
			return nil, err
		}
		seed[id] = r
	}
	if len(seed) == 0 {
		return nil, fmt.Errorf("the template database holds no customers")
	}
	return seed, rows.Err()
}

// listPhases returns 1, 2, … as long as phases/N exists.
func listPhases() []int {
	var out []int
	for n := 1; ; n++ {
		if fi, err := os.Stat(filepath.Join(codeDir, "phases", strconv.Itoa(n))); err != nil || !fi.IsDir() {
			return out
		}
		out = append(out, n)
	}
}

func status(ctx context.Context) (int, error) {
	var st struct {
		Phase *int `json:"phase"`
	}
	code, err := checker.GetJSON(ctx, controlURL+"/status", &st)
	if err != nil || code != 200 || st.Phase == nil {
		return -1, fmt.Errorf("status: %d %v", code, err)
	}
	return *st.Phase, nil
}

// post calls the control API and returns what it said; each line also goes
// to line (if not nil) as soon as it arrives.
func post(ctx context.Context, path string, line func(string)) (string, error) {
	req, _ := http.NewRequestWithContext(ctx, "POST", controlURL+path, nil)
	resp, err := (&http.Client{Timeout: 2 * time.Minute}).Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var b strings.Builder
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		b.WriteString(sc.Text() + "\n")
		if line != nil {
			line(sc.Text())
		}
	}
	return b.String(), sc.Err()
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// fetchAppErrors returns the distinct error lines the apps and the proxy
// logged, with how often each came.
func fetchAppErrors(ctx context.Context) []string {
	var lines []struct {
		Line string `json:"line"`
	}
	if code, err := checker.GetJSON(ctx, controlURL+"/logs", &lines); err != nil || code != 200 {
		return nil
	}
	count := map[string]int{}
	var order []string
	for _, l := range lines {
		if !strings.Contains(l.Line, "error:") && !strings.Contains(l.Line, "did not answer") || strings.Contains(l.Line, "context canceled") {
			continue
		}
		key := l.Line
		if i := strings.Index(key, " did not answer "); i >= 0 {
			if j := strings.Index(key[i:], ": "); j >= 0 {
				key = key[:i] + " did not answer a request" + key[i+j:]
			}
		}
		if count[key] == 0 {
			order = append(order, key)
		}
		count[key]++
	}
	var out []string
	for _, k := range order {
		if len(out) == 6 {
			out = append(out, fmt.Sprintf("… and %d other kinds of error", len(order)-6))
			break
		}
		out = append(out, fmt.Sprintf("%s (×%d)", k, count[k]))
	}
	return out
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func pathPattern(p string) string {
	if strings.HasPrefix(p, "/customers/") {
		return "/customers/{id}"
	}
	return p
}

func randName() string {
	first := []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Ken", "Radia", "Hedy"}
	last := []string{"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Thompson", "Perlman", "Lamarr"}
	return fmt.Sprintf("%s %s %s", first[rand.IntN(len(first))], last[rand.IntN(len(last))], checker.RandString(6))
}
