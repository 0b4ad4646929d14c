// Command checker verifies the add-index lab: the shop's "My orders" query
// must find a customer's orders through an index, run at least 10x faster
// than the starter's plan on the same data, still return the right orders,
// and the fix must not leave duplicate, redundant or unused indexes behind.
//
// It connects to the database as postgres (the learner's shell connects as
// app) and calls the app over HTTP, both inside the sandbox network.
package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/backlab/backlab/runner/checker"
)

// query is the SQL behind GET /customers/{id}/orders (orders.go).
const query = `SELECT id, customer_id, status, total_cents, currency, note, created_at
FROM orders
WHERE customer_id = $1
ORDER BY created_at DESC
LIMIT $2`

// pageSize is the app's default limit.
const pageSize = 20

// minSpeedup is how much faster than the starter's plan the query must be.
// An index lookup is hundreds of times faster than reading a million rows;
// 10x leaves room for a busy machine.
const minSpeedup = 10.0

// codeDir is where the lab mounts the app's code (read-only) for the
// checker; starterMigrations are the files it holds at start.
var (
	codeDir           = checker.Env("CODE_DIR", "/code")
	starterMigrations = []string{"001_customers.sql", "002_orders.sql"}
)

// starterIndexes exist before the learner's work; they serve other queries.
var starterIndexes = []string{"orders_pkey"}

// noIndexes makes PostgreSQL plan as if orders had no index to read it
// through: the starter's plan on the same data.
var noIndexes = map[string]string{
	"enable_indexscan": "off", "enable_bitmapscan": "off", "enable_indexonlyscan": "off",
}

func main() {
	c := checker.New()
	defer c.Exit()
	ctx := c.Context()

	dsn := checker.Env("DB_DSN", "postgres://postgres:postgres@db:5432/shop?sslmode=disable")
	appURL := strings.TrimRight(checker.Env("APP_URL", "http://app:8080"), "/")
	db, err := checker.OpenDB(ctx, dsn)
	if err != nil {
		c.Fatal(err)
	}
	defer db.Close()
	baseline, err := checker.OpenDB(ctx, withParams(dsn, noIndexes))
	if err != nil {
		c.Fatal(err)
	}
	defer baseline.Close()

	customer, err := pickCustomer(ctx, db)
	if err != nil {
		c.Fatal(err)
	}
	c.Logf("measuring with customer %d: %s", customer, strings.Join(strings.Fields(query), " "))

	var good *checker.PlanNode // the scan that finds the customer's rows by index
	c.Step("uses-index", func(s *checker.S) {
		plan, err := checker.ExplainAnalyze(s.Ctx(), db, query, customer, pageSize)
		s.Must(err)
		s.Data("plan", plan.String())
		s.Metric("execution_ms", plan.ExecutionTime, "ms")
		good = customerLookup(plan)
		if good != nil {
			name := lookupIndex(good)
			file, ok := migrationFor(name)
			if !ok {
				s.Fail(fmt.Sprintf("The plan uses %s (Index Cond: %s), but no file in migrations/ creates it: it was made by hand, so it would not exist in production or in a teammate's database. %s",
					name, lookupCond(plan, good), file),
					"Put the CREATE INDEX statement in a new migration file, e.g. migrations/003_orders_customer_id_index.sql, and run make migrate. "+
						"As the index already exists, write CREATE INDEX IF NOT EXISTS, or drop it in psql first.")
			}
			s.Passf("%s (Index Cond: %s), created by migrations/%s: %.0f rows read to return %.0f, in %.2f ms.\n%s",
				good.Describe(), lookupCond(plan, good), file, good.ActualRows, plan.Root.ActualRows, plan.ExecutionTime, plan.String())
			return
		}
		if seq := plan.SeqScans("orders"); len(seq) > 0 {
			n := seq[0]
			s.Fail(fmt.Sprintf("The plan reads the whole orders table: %s with Filter %s threw away %.0f rows to keep %.0f (%.0f ms). "+
				"Expected an Index Scan or Bitmap Index Scan on orders whose Index Cond is on customer_id.\n%s",
				n.Describe(), n.Filter, n.RowsRemoved, n.ActualRows, plan.ExecutionTime, plan.String()),
				"Look at the WHERE clause of the query and at the indexes of orders (\\d orders in psql): nothing lets PostgreSQL jump to one customer's rows. "+
					"Add the index in a new migration file and run make migrate.")
		}
		for _, n := range plan.Scans("orders") {
			if n.IndexName != "" || n.NodeType == "Bitmap Heap Scan" {
				s.Fail(fmt.Sprintf("The plan uses an index, but not to find the customer: %s walks orders in index order and checks %s row by row "+
					"(Rows Removed by Filter: %.0f, %.0f ms). Expected an Index Cond on customer_id.\n%s",
					n.Describe(), filterOf(n), n.RowsRemoved, plan.ExecutionTime, plan.String()),
					"An index helps a WHERE clause when it starts with the column the WHERE clause compares. Which column picks the customer's rows? "+
						"Index that one (drop the index that does not help in another migration).")
			}
		}
		s.Fail(fmt.Sprintf("The plan does not read orders through an index on customer_id.\n%s", plan.String()),
			"Add a B-tree index on the column the WHERE clause filters on, in a new migration file.")
	})

	c.Step("faster", func(s *checker.S) {
		ctx := s.Ctx()
		// Warm the cache for both plans, then time them alternately so that
		// a burst of load on the machine hits both alike.
		_, err := checker.TimeQuery(ctx, db, 1, query, customer, pageSize)
		s.Must(err)
		_, err = checker.TimeQuery(ctx, baseline, 1, query, customer, pageSize)
		s.Must(err)
		var now, before []time.Duration
		for range 5 {
			d, err := checker.TimeQuery(ctx, db, 3, query, customer, pageSize)
			s.Must(err)
			now = append(now, d)
			d, err = checker.TimeQuery(ctx, baseline, 1, query, customer, pageSize)
			s.Must(err)
			before = append(before, d)
		}
		nowMs, beforeMs := ms(checker.Median(now)), ms(checker.Median(before))
		speedup := beforeMs / nowMs
		s.Metric("query_ms_before", beforeMs, "ms")
		s.Metric("query_ms_after", nowMs, "ms")
		s.Metric("speedup", speedup, "x")
		if speedup < minSpeedup {
			hint := "The query still does about the same work as before. Make the plan use an index on customer_id first (see the step above)."
			if good != nil {
				hint = "The plan uses an index but gains little: look at the EXPLAIN (ANALYZE, BUFFERS) output for how many rows and buffers it still reads."
			}
			s.Fail(fmt.Sprintf("The query takes %.2f ms (median) against %.2f ms for the starter's plan without indexes on the same data: %.1fx faster; at least %.0fx expected.",
				nowMs, beforeMs, speedup, minSpeedup), hint)
		}
		s.Passf("%.2f ms now against %.2f ms for the starter's plan (Seq Scan) on the same data: %.0fx faster (medians, measured in the sandbox).",
			nowMs, beforeMs, speedup)
	})

	c.Step("results-unchanged", func(s *checker.S) {
		checkResults(s, db, appURL)
	})

	c.Step("no-redundant-index", func(s *checker.S) {
		checkIndexes(s, db, good)
	})
}

// pickCustomer returns a random customer who has orders.
func pickCustomer(ctx context.Context, db *sqlx.DB) (int, error) {
	var id int
	for range 20 {
		id = checker.RandInt(1, 20000)
		var n int
		if err := db.GetContext(ctx, &n, `SELECT count(*) FROM (SELECT 1 FROM customers WHERE id = $1) c`, id); err != nil {
			return 0, fmt.Errorf("pick a customer: %w", err)
		}
		if n == 1 {
			return id, nil
		}
	}
	return 0, fmt.Errorf("pick a customer: customers 1–20000 of the seed data are missing")
}

// customerLookup returns the scan of orders that finds rows by an index
// condition on customer_id: an Index (Only) Scan, or a Bitmap Heap Scan fed
// by such a Bitmap Index Scan.
func customerLookup(plan *checker.Plan) *checker.PlanNode {
	for _, n := range plan.Scans("orders") {
		switch n.NodeType {
		case "Index Scan", "Index Only Scan":
			if strings.Contains(n.IndexCond, "customer_id") {
				return n
			}
		case "Bitmap Heap Scan":
			var found bool
			n.Walk(func(c *checker.PlanNode) {
				if c.NodeType == "Bitmap Index Scan" && strings.Contains(c.IndexCond, "customer_id") {
					found = true
				}
			})
			if found {
				return n
			}
		}
	}
	return nil
}

// lookupCond is the index condition of the lookup node (for a bitmap scan,
// that of its Bitmap Index Scan, whose index it names).
func lookupCond(plan *checker.Plan, n *checker.PlanNode) string {
	if n.IndexCond != "" {
		return n.IndexCond
	}
	cond := n.RecheckCond
	n.Walk(func(c *checker.PlanNode) {
		if c.NodeType == "Bitmap Index Scan" && c.IndexCond != "" {
			cond = c.IndexCond + " via " + c.IndexName
		}
	})
	return cond
}

// lookupIndex is the name of the index the lookup node reads.
func lookupIndex(n *checker.PlanNode) string {
	name := n.IndexName
	n.Walk(func(c *checker.PlanNode) {
		if c.IndexName != "" {
			name = c.IndexName
		}
	})
	return name
}

// migrationFor reports whether a migration the learner added creates the
// index: its file names the index, or creates an index on customer_id (an
// index created without a name gets one like orders_customer_id_idx). When
// not, the string says what migrations/ holds.
func migrationFor(index string) (string, bool) {
	files, _ := filepath.Glob(filepath.Join(codeDir, "migrations", "*.sql"))
	var added []string
	for _, f := range files {
		base := filepath.Base(f)
		if slices.Contains(starterMigrations, base) {
			continue
		}
		added = append(added, base)
		text, err := checker.ReadFile(f)
		if err != nil {
			continue
		}
		text = strings.ToLower(text)
		if strings.Contains(text, strings.ToLower(index)) ||
			(strings.Contains(text, "create index") || strings.Contains(text, "create unique index")) && strings.Contains(text, "customer_id") {
			return base, true
		}
	}
	if len(files) == 0 {
		return fmt.Sprintf("(The checker found no migrations in %s.)", codeDir), false
	}
	if len(added) == 0 {
		return "migrations/ holds only the original 001 and 002.", false
	}
	return "New files in migrations/: " + strings.Join(added, ", ") + ".", false
}

func filterOf(n *checker.PlanNode) string {
	if n.Filter != "" {
		return n.Filter
	}
	return "customer_id"
}

// sentOrder is an order the checker inserted, as the API must show it.
type sentOrder struct {
	ID         int64
	Status     string
	TotalCents int
	Note       *string
	CreatedAt  time.Time
}

// apiOrders is the JSON of GET /customers/{id}/orders.
type apiOrders struct {
	CustomerID int `json:"customer_id"`
	Orders     []struct {
		ID         int64     `json:"id"`
		CustomerID int       `json:"customer_id"`
		Status     string    `json:"status"`
		TotalCents int       `json:"total_cents"`
		Note       *string   `json:"note"`
		CreatedAt  time.Time `json:"created_at"`
	} `json:"orders"`
}

// checkResults inserts a fresh customer with random orders, asks the app
// for their orders and compares with what it inserted; then removes them.
func checkResults(s *checker.S, db *sqlx.DB, appURL string) {
	ctx := s.Ctx()
	tag := checker.RandString(10)
	var customer int
	s.Must(db.GetContext(ctx, &customer,
		`INSERT INTO customers (name, email) VALUES ($1, $2) RETURNING id`, "Checker "+tag, "checker-"+tag+"@example.test"))
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
		defer cancel()
		if _, err := db.ExecContext(cctx, `DELETE FROM orders WHERE customer_id = $1`, customer); err != nil {
			s.Logf("could not remove the checker's orders of customer %d: %v", customer, err)
		}
		if _, err := db.ExecContext(cctx, `DELETE FROM customers WHERE id = $1`, customer); err != nil {
			s.Logf("could not remove the checker's customer %d: %v", customer, err)
		}
	}()

	statuses := []string{"pending", "paid", "shipped", "delivered", "cancelled"}
	n := checker.RandInt(25, 45)
	seen := map[int64]bool{}
	var sent []sentOrder
	tx, err := db.BeginTxx(ctx, nil)
	s.Must(err)
	defer tx.Rollback()
	for len(sent) < n {
		// Distinct random times in the last two years, to the microsecond.
		at := time.Now().Add(-time.Duration(rand.Int64N(int64(2 * 365 * 24 * time.Hour)))).Truncate(time.Microsecond).UTC()
		if seen[at.UnixMicro()] {
			continue
		}
		seen[at.UnixMicro()] = true
		o := sentOrder{Status: statuses[rand.IntN(len(statuses))], TotalCents: checker.RandInt(100, 99999), CreatedAt: at}
		if rand.IntN(3) == 0 {
			note := "note " + checker.RandString(8)
			o.Note = &note
		}
		s.Must(tx.GetContext(ctx, &o.ID, `INSERT INTO orders (customer_id, status, total_cents, note, created_at)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`, customer, o.Status, o.TotalCents, o.Note, o.CreatedAt))
		sent = append(sent, o)
	}
	s.Must(tx.Commit())
	slices.SortFunc(sent, func(a, b sentOrder) int { return b.CreatedAt.Compare(a.CreatedAt) })

	limit := checker.RandInt(5, 15)
	for _, page := range []struct {
		path string
		want int
	}{
		{fmt.Sprintf("/customers/%d/orders?limit=%d", customer, limit), limit},
		{fmt.Sprintf("/customers/%d/orders", customer), pageSize},
	} {
		var got apiOrders
		status, err := checker.GetJSON(ctx, appURL+page.path, &got)
		if err != nil {
			s.Fail(fmt.Sprintf("GET %s failed: %v", page.path, err),
				"The app did not answer as before. Run make build in ~/app and look at the app's output; then curl the endpoint yourself.")
		}
		if status != 200 {
			s.Fail(fmt.Sprintf("GET %s answered %d; 200 with the customer's orders expected (the checker had just created this customer with %d orders).", page.path, status, n),
				"The index should change nothing the app returns. Did the Go code change? curl the endpoint yourself.")
		}
		if msg := compare(got, sent[:page.want], customer); msg != "" {
			s.Fail(fmt.Sprintf("GET %s: %s (the checker created customer %d with %d random orders and expected the %d newest, newest first).",
				page.path, msg, customer, n, page.want),
				"An index never changes what a query returns: if the results differ, the query or the Go code changed. Compare orders.go with the original (the query must stay WHERE customer_id = $1 ORDER BY created_at DESC LIMIT $2).")
		}
	}
	s.Passf("For a new customer with %d random orders, GET /customers/%d/orders?limit=%d and the default page returned exactly the %d and %d newest orders, newest first.",
		n, customer, limit, limit, pageSize)
}

// compare says how the API's page differs from want, or "".
func compare(got apiOrders, want []sentOrder, customer int) string {
	if len(got.Orders) != len(want) {
		return fmt.Sprintf("got %d orders, expected %d", len(got.Orders), len(want))
	}
	for i, w := range want {
		g := got.Orders[i]
		switch {
		case g.ID != w.ID:
			return fmt.Sprintf("order #%d of the list is %d (created %s); expected %d (created %s)",
				i+1, g.ID, g.CreatedAt.UTC().Format(time.RFC3339), w.ID, w.CreatedAt.Format(time.RFC3339))
		case g.CustomerID != customer:
			return fmt.Sprintf("order %d has customer_id %d; expected %d", g.ID, g.CustomerID, customer)
		case g.Status != w.Status || g.TotalCents != w.TotalCents:
			return fmt.Sprintf("order %d is %s for %d cents; expected %s for %d cents", g.ID, g.Status, g.TotalCents, w.Status, w.TotalCents)
		case !g.CreatedAt.Equal(w.CreatedAt):
			return fmt.Sprintf("order %d was created at %s; expected %s", g.ID, g.CreatedAt.UTC().Format(time.RFC3339Nano), w.CreatedAt.Format(time.RFC3339Nano))
		case (g.Note == nil) != (w.Note == nil) || (g.Note != nil && *g.Note != *w.Note):
			return fmt.Sprintf("order %d has note %s; expected %s", g.ID, noteText(g.Note), noteText(w.Note))
		}
	}
	return ""
}

func noteText(p *string) string {
	if p == nil {
		return "null"
	}
	return fmt.Sprintf("%q", *p)
}

// index is one index of orders.
type index struct {
	Name      string  `db:"name"`
	Method    string  `db:"method"`
	Primary   bool    `db:"is_primary"`
	Unique    bool    `db:"is_unique"`
	Valid     bool    `db:"is_valid"`
	Keys      string  `db:"keys"` // key columns, comma-separated
	Predicate *string `db:"predicate"`
	Def       string  `db:"def"`
}

func (ix index) columns() []string { return strings.Split(ix.Keys, ",") }

func (ix index) String() string {
	return fmt.Sprintf("%s (%s)", ix.Name, strings.ReplaceAll(ix.Keys, ",", ", "))
}

// sameScope reports whether two indexes cover the same rows the same way.
func sameScope(a, b index) bool {
	return a.Method == b.Method && (a.Predicate == nil) == (b.Predicate == nil) &&
		(a.Predicate == nil || *a.Predicate == *b.Predicate)
}

const writeCost = "Every index is updated on every INSERT and DELETE of orders (and on UPDATEs of its columns), takes disk and memory, and slows VACUUM: " +
	"keep one index per way the data is read. Remove the extra one with DROP INDEX in a new migration (a migration that already ran is not run again)."

// checkIndexes looks for duplicate, redundant and unused indexes on orders.
func checkIndexes(s *checker.S, db *sqlx.DB, lookup *checker.PlanNode) {
	ctx := s.Ctx()
	var ixs []index
	s.Must(db.SelectContext(ctx, &ixs, `
		SELECT c.relname AS name, am.amname AS method, i.indisprimary AS is_primary,
		       i.indisunique AS is_unique, i.indisvalid AS is_valid,
		       (SELECT string_agg(pg_get_indexdef(i.indexrelid, k, true), ',' ORDER BY k)
		          FROM generate_series(1, i.indnkeyatts) AS k) AS keys,
		       pg_get_expr(i.indpred, i.indrelid) AS predicate,
		       pg_get_indexdef(i.indexrelid) AS def
		FROM pg_index i
		JOIN pg_class c ON c.oid = i.indexrelid
		JOIN pg_am am ON am.oid = c.relam
		WHERE i.indrelid = 'public.orders'::regclass
		ORDER BY c.relname`))
	var list []string
	for _, ix := range ixs {
		list = append(list, ix.String())
	}
	s.Data("indexes", list)
	s.Metric("index_count", float64(len(ixs)), "")

	for _, ix := range ixs {
		if !ix.Valid {
			s.Fail(fmt.Sprintf("Index %s is INVALID: its build failed (a CREATE INDEX CONCURRENTLY that was interrupted leaves one behind). "+
				"PostgreSQL never reads it but still updates it on every write.", ix),
				"Drop it (DROP INDEX CONCURRENTLY "+ix.Name+") and create it again. "+writeCost)
		}
	}
	for i, a := range ixs {
		for _, b := range ixs[i+1:] {
			if sameScope(a, b) && a.Keys == b.Keys {
				s.Fail(fmt.Sprintf("%s and %s are the same index: both on (%s). PostgreSQL reads one of them; both are written on every insert.",
					a.Name, b.Name, strings.ReplaceAll(a.Keys, ",", ", ")),
					"Keep one of them. "+writeCost)
			}
		}
	}
	for _, a := range ixs {
		if a.Unique || a.Primary || a.Method != "btree" {
			continue // a constraint, or an access method of its own
		}
		for _, b := range ixs {
			if a.Name == b.Name || !sameScope(a, b) {
				continue
			}
			ac, bc := a.columns(), b.columns()
			if len(ac) < len(bc) && slices.Equal(ac, bc[:len(ac)]) {
				s.Fail(fmt.Sprintf("%s is redundant: %s starts with the same column(s), so it serves every query that %s serves.",
					a, b, a.Name),
					"Keep the wider index and drop "+a.Name+". "+writeCost)
			}
		}
	}
	if lookup == nil {
		s.Passf("No duplicate or redundant index on orders (indexes: %s). Whether each index is needed is judged once the query finds its rows through an index on customer_id.",
			strings.Join(list, "; "))
		return
	}
	used := lookupIndex(lookup)
	for _, ix := range ixs {
		if ix.Name == used || ix.Primary || ix.Unique || slices.Contains(starterIndexes, ix.Name) {
			continue
		}
		s.Fail(fmt.Sprintf("%s is not used by the query: the plan reads orders through %s. No other query of the shop needs %s either.",
			ix, used, ix.Name),
			"Add only the indexes a query needs. "+writeCost)
	}
	s.Passf("One index serves the query (%s) and none duplicates another. Indexes on orders: %s.", used, strings.Join(list, "; "))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// withParams adds run-time parameters to a postgres:// URL (pgx sends
// unknown URL parameters to the server as settings of the session).
func withParams(dsn string, params map[string]string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return dsn
	}
	q := u.Query()
	for k, v := range params {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	return u.String()
}
