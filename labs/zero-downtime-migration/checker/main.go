// Command checker verifies the zero-downtime-migration lab: it rolls the
// learner's phases out one by one through the lab's deploy tool while it
// keeps reading and writing customers through the service, then checks
// that no request failed, that every acknowledged write is there, that the
// schema ended as required (customers.full_name text NOT NULL, no name
// column) and that every row's full_name holds its customer's name.
//
// The traffic uses fresh random data: new customers with random names and
// emails, random renames, and reads compared with what was written (or,
// for the production customers, with the template database the sandbox
// started from).
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
		out, err := post(ctx, "/reset")
		if err != nil || !strings.HasPrefix(lastLine(out), "ok:") {
			c.Fatal(fmt.Errorf("reset the sandbox to phase 0: %v\n%s", err, out))
		}
	}

	tr := newTraffic(seed)
	tctx, stopTraffic := context.WithCancel(ctx)
	go tr.run(tctx)

	var reached int // the last phase that went live
	c.Step("rollout", func(s *checker.S) {
		defer func() { time.Sleep(500 * time.Millisecond); stopTraffic(); tr.wait() }()
		time.Sleep(time.Second) // phase 0 alone first: the baseline
		if len(phases) == 0 {
			s.Fail("~/app/phases holds no phase to roll out: phases/1, phases/2, … are expected, each with the app of its version and, when it changes the schema, a migration.sql.",
				"Start from phases/1 of the starter: copy phases/0 to phases/1 and change what this phase should change.")
		}
		start := time.Now()
		for _, n := range phases {
			tr.setPhase(n)
			t := time.Now()
			out, err := post(s.Ctx(), fmt.Sprintf("/rollout?phase=%d", n))
			for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
				s.Logf("%s", l)
			}
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

	c.Step("no-failed-requests", func(s *checker.S) {
		checkFailures(s, tr, appLog)
	})
	c.Step("writes-kept", func(s *checker.S) {
		checkWrites(s, db, tr)
	})
	c.Step("final-schema", func(s *checker.S) {
		checkSchema(s, db)
	})
	c.Step("backfill-complete", func(s *checker.S) {
		checkBackfill(s, db, seed)
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

// wrongRead is a read that returned another name than expected.
type wrongRead struct {
	Phase, Detail string
}

// owned is a customer the checker created, with the names a read may
// return (the last acknowledged one, plus any whose write failed without a
// clear answer).
type owned struct {
	ID    int64
	Email string
	Names []string
}

type counts struct{ total, failed int }

type traffic struct {
	seed map[int64]string

	mu       sync.Mutex
	phase    string
	order    []string // labels in order
	byPhase  map[string]*counts
	fails    []failure
	kinds    map[string]int
	wrong    []wrongRead
	nWrong   int
	customer []*owned
	reads    int
	writes   int
	wg       sync.WaitGroup
}

func newTraffic(seed map[int64]string) *traffic {
	t := &traffic{seed: seed, byPhase: map[string]*counts{}, kinds: map[string]int{}}
	t.setLabel("phase 0 alone")
	return t
}

func (t *traffic) setPhase(n int) { t.setLabel(fmt.Sprintf("rollout of phase %d", n)) }

func (t *traffic) setLabel(l string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.phase = l
	t.order = append(t.order, l)
	t.byPhase[l] = &counts{}
}

func (t *traffic) run(ctx context.Context) {
	for range workers {
		t.wg.Add(1)
		go func() { defer t.wg.Done(); t.worker(ctx) }()
	}
}

func (t *traffic) wait() { t.wg.Wait() }

func (t *traffic) worker(ctx context.Context) {
	var mine []*owned
	defer func() {
		t.mu.Lock()
		t.customer = append(t.customer, mine...)
		t.mu.Unlock()
	}()
	seedIDs := len(t.seed)
	for ctx.Err() == nil {
		switch r := rand.IntN(100); {
		case r < 25 || len(mine) == 0:
			name := randName()
			email := "checker-" + checker.RandString(12) + "@example.test"
			var got struct {
				ID   int64  `json:"id"`
				Name string `json:"name"`
			}
			ok := t.call(ctx, "POST", "/customers", map[string]string{"email": email, "name": name}, &got)
			if ok && got.ID > 0 {
				mine = append(mine, &owned{ID: got.ID, Email: email, Names: []string{name}})
			}
		case r < 45:
			c := mine[rand.IntN(len(mine))]
			name := randName()
			status, ok := t.callStatus(ctx, "PATCH", fmt.Sprintf("/customers/%d", c.ID), map[string]string{"name": name}, nil)
			switch {
			case ok:
				c.Names = []string{name}
			case status == 0 || status >= 500:
				// The rename may or may not have been stored.
				c.Names = append(c.Names, name)
			}
		case r < 75:
			c := mine[rand.IntN(len(mine))]
			var got struct {
				Name string `json:"name"`
			}
			if t.call(ctx, "GET", fmt.Sprintf("/customers/%d", c.ID), nil, &got) && !slices.Contains(c.Names, got.Name) {
				t.noteWrong(fmt.Sprintf("GET /customers/%d returned name %q; the last rename the service acknowledged set %q", c.ID, got.Name, c.Names[len(c.Names)-1]))
			}
		default:
			id := int64(1 + rand.IntN(seedIDs))
			var got struct {
				Name string `json:"name"`
			}
			if t.call(ctx, "GET", fmt.Sprintf("/customers/%d", id), nil, &got) && got.Name != t.seed[id] {
				t.noteWrong(fmt.Sprintf("GET /customers/%d (a customer of the production data) returned name %q; %q expected", id, got.Name, t.seed[id]))
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

// callStatus sends one request and records it; status is 0 when there was
// no answer.
func (t *traffic) callStatus(ctx context.Context, method, path string, in, out any) (int, bool) {
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequestWithContext(ctx, method, appURL+path, body)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if ctx.Err() != nil {
		return 0, false // the traffic stopped: not the service's fault
	}
	pattern := method + " " + pathPattern(path)
	if err != nil {
		t.record(false, pattern+" → no answer", fmt.Sprintf("%s %s: %v", method, path, err))
		return 0, false
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode >= 300 {
		t.record(false, fmt.Sprintf("%s → %d", pattern, resp.StatusCode),
			fmt.Sprintf("%s %s → %d %s", method, path, resp.StatusCode, strings.TrimSpace(string(data))))
		return resp.StatusCode, false
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.record(false, pattern+" → not JSON", fmt.Sprintf("%s %s → %d %q", method, path, resp.StatusCode, data))
			return resp.StatusCode, false
		}
	}
	t.record(true, "", "")
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

func (t *traffic) record(ok bool, kind, detail string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.byPhase[t.phase]
	c.total++
	if ok {
		return
	}
	c.failed++
	t.kinds[kind]++
	if len(t.fails) < 5 {
		t.fails = append(t.fails, failure{Phase: t.phase, Request: kind, Detail: detail})
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
	byID := map[int64]*owned{}
	for _, c := range tr.customer {
		ids = append(ids, c.ID)
		byID[c.ID] = c
	}
	s.Metric("customers_created", float64(len(ids)), "")
	s.Metric("wrong_reads", float64(tr.nWrong), "")
	if tr.nWrong > 0 {
		var b strings.Builder
		fmt.Fprintf(&b, "%d reads during the rollout returned a name other than the one last written; the service acknowledged the write, so every later read must return it.", tr.nWrong)
		for _, w := range tr.wrong {
			fmt.Fprintf(&b, "\n  [%s] %s", w.Phase, w.Detail)
		}
		s.Fail(b.String(), "While two versions run side by side, one may write only the old column and the other read only the new one. "+
			"Make every version that runs beside another write both columns (or let a trigger keep them in step), and backfill rows whose columns differ, not only the NULL ones.")
	}
	// Every customer is still a row of the table …
	var present []int64
	s.Must(db.SelectContext(ctx, &present, `SELECT id FROM customers WHERE id = ANY($1)`, ids))
	if len(present) < len(ids) {
		have := map[int64]bool{}
		for _, id := range present {
			have[id] = true
		}
		var gone []string
		for _, c := range tr.customer {
			if !have[c.ID] && len(gone) < 5 {
				gone = append(gone, fmt.Sprintf("%d (%s)", c.ID, c.Email))
			}
		}
		s.Fail(fmt.Sprintf("%d of the %d customers the service created (201) during the rollout are not in the customers table any more, e.g. %s.",
			len(ids)-len(present), len(ids), strings.Join(gone, ", ")),
			"A migration must never delete or re-create rows: change the columns in place.")
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
		for _, c := range tr.customer {
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
		s.Fail(fmt.Sprintf("After the rollout, %d of the %d customers the checker created and renamed through the service do not read back with their last acknowledged name:\n  %s",
			bad, len(ids), strings.Join(problems, "\n  ")),
			"Which column does the live version read? Does it hold what every earlier version wrote, including rows an older version wrote during a rollout?")
	}
	s.Passf("All %d customers created during the rollout read back through the live version with their last acknowledged name (%d writes acknowledged in all); the %d reads during the rollout all returned the name last written.",
		len(ids), tr.writes, tr.reads)
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

func checkBackfill(s *checker.S, db *sqlx.DB, seed map[int64]string) {
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
		ID   int64   `db:"id"`
		Name *string `db:"full_name"`
	}
	var rows []row
	s.Must(db.SelectContext(ctx, &rows, `SELECT id, full_name FROM customers WHERE id <= $1`, int64(len(seed))))
	wrong, missing := 0, len(seed)-len(rows)
	var examples []string
	for _, r := range rows {
		if want := seed[r.ID]; r.Name == nil || *r.Name != want {
			wrong++
			if len(examples) < 3 {
				examples = append(examples, fmt.Sprintf("customer %d: full_name %s, name was %q", r.ID, show(r.Name), want))
			}
		}
	}
	s.Metric("production_rows_wrong", float64(wrong+missing), "")
	if nulls > 0 || wrong > 0 || missing > 0 {
		msg := fmt.Sprintf("Of %d customers, %d have no full_name (NULL).", total, nulls)
		if wrong > 0 {
			msg += fmt.Sprintf(" %d of the %d production customers do not have their name in full_name (e.g. %s).", wrong, len(seed), strings.Join(examples, "; "))
		}
		if missing > 0 {
			msg += fmt.Sprintf(" %d production customers are gone from the table.", missing)
		}
		s.Fail(msg, "Backfill: once every live version writes full_name, copy name into full_name for every row where they differ, in batches "+
			"(UPDATE customers SET full_name = name WHERE id BETWEEN … AND … AND full_name IS DISTINCT FROM name).")
	}
	s.Passf("All %d customers have a full_name; the %d production customers kept their names exactly (compared with the data the sandbox started from).", total, len(seed))
}

// ---- helpers ----

func loadSeed(ctx context.Context, dsn string) (map[int64]string, error) {
	db, err := checker.OpenDB(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT id, name FROM customers`)
	if err != nil {
		return nil, fmt.Errorf("read the production data: %w", err)
	}
	defer rows.Close()
	seed := map[int64]string{}
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, err
		}
		seed[id] = name
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

func post(ctx context.Context, path string) (string, error) {
	req, _ := http.NewRequestWithContext(ctx, "POST", controlURL+path, nil)
	resp, err := (&http.Client{Timeout: 2 * time.Minute}).Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
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
