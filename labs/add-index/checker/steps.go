package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/backlab/backlab/runner/checker"
)

// checkIntact is the step data-intact (see main for what it guards
// against). It sets *rowsIntact when every original row is there,
// unchanged and in its place on disk: what the speed steps are measured
// on (a dropped constraint or a changed column type fails this step, but
// leaves the rows as they were).
func checkIntact(s *checker.S, db *sqlx.DB, replay *replayResult, fingerprint map[string][]chunkSum, rowsIntact *bool) {
	ctx := s.Ctx()
	live, err := describeSchema(ctx, db)
	s.Must(err)
	problems := compareSchema(replay.Starter, live)
	exists := func(tbl string) bool {
		for _, l := range live {
			if l.Kind == "table" && l.Tbl == tbl {
				return true
			}
		}
		return false
	}
	start := time.Now()
	defer func() { s.Metric("data_check_ms", ms(time.Since(start)), "ms") }()
	var lost, schema, layout bool
	schema = len(problems) > 0
	readable := map[string]bool{}
	for _, t := range []struct {
		name, hash string
		size       int64
	}{{"orders", ordersRowHash, ordersChunk}, {"customers", customersRowHash, customersChunk}} {
		if !exists(t.name) {
			continue
		}
		missing, changed, problem, err := compareData(ctx, db, t.name, t.hash, t.size, fingerprint[t.name])
		if err != nil {
			problems = append(problems, fmt.Sprintf("the checker cannot read the rows of %s: %s", t.name, pgMessage(err)))
			continue
		}
		readable[t.name] = true
		if changed > 0 && columnsChanged(replay.Starter, live, t.name) {
			// A column of another type hashes differently: the schema
			// problem above says what happened, not "values changed".
			changed, problem = 0, ""
			if missing > 0 {
				missing, _, problem, _ = compareData(ctx, db, t.name, "0", t.size, zeroHashes(fingerprint[t.name]))
			}
		}
		if problem != "" {
			problems = append(problems, problem)
			lost = lost || missing > 0 || changed > 0
		}
	}
	if readable["orders"] {
		problem, err := layoutProblem(ctx, db, fingerprint["orders"][0].MaxID)
		s.Must(err)
		if problem != "" {
			problems = append(problems, problem)
			layout = true
		}
	}
	*rowsIntact = readable["orders"] && !lost && !layout
	if len(problems) > 0 {
		var hints []string
		if lost {
			hints = append(hints, "Rows that are gone cannot come back in this sandbox: Reset the lab to get the shop's data back (keep a copy of your migration first). A shop cannot delete or archive its customers' orders to make a page fast; the index alone does it.")
		}
		if schema {
			hint := "Adding an index changes no column, constraint or table: undo what the list names in a new migration"
			if slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, "FOREIGN KEY") }) {
				hint += " (for a dropped foreign key: ALTER TABLE orders ADD FOREIGN KEY (customer_id) REFERENCES customers (id))"
			}
			hints = append(hints, hint+", or Reset the lab.")
		}
		if layout {
			hints = append(hints, "CLUSTER rewrites the whole table under a lock that blocks every read and write, and new orders are not kept in its order, so its speed-up fades. Put the rows back with CLUSTER orders USING orders_pkey (once, by hand), or Reset the lab.")
		}
		s.Fail("The fix changed the shop's data or tables, which adding an index never does:\n- "+strings.Join(problems, "\n- ")+".",
			strings.Join(hints, " "))
	}
	s.Passf("All %s orders and %s customers of the shop's data are there with their values unchanged (checksums of every row), orders are stored as the shop wrote them, and the tables keep their columns and constraints.",
		thousands(sum(fingerprint["orders"])), thousands(sum(fingerprint["customers"])))
}

// columnsChanged reports whether a column of tbl that the shop's schema
// has is gone or of another type now.
func columnsChanged(starter, live []schemaItem, tbl string) bool {
	for _, st := range starter {
		if st.Tbl != tbl || st.Kind != "column" {
			continue
		}
		if !slices.ContainsFunc(live, func(l schemaItem) bool { return l == st }) {
			return true
		}
	}
	return false
}

// zeroHashes is the fingerprint with its hashes blanked out, to count rows
// alone.
func zeroHashes(chunks []chunkSum) []chunkSum {
	out := slices.Clone(chunks)
	for i := range out {
		out[i].Hash = "0"
	}
	return out
}

func sum(chunks []chunkSum) int64 {
	var n int64
	for _, c := range chunks {
		n += c.N
	}
	return n
}

// checkUsesIndex is the step uses-index (see main); it returns the plan
// node that finds the customer's rows by index, or nil.
func checkUsesIndex(s *checker.S, db *sqlx.DB, replay *replayResult, customer, maxCustomer int) *checker.PlanNode {
	ctx := s.Ctx()
	plan, err := checker.ExplainAnalyze(ctx, db, query, customer, pageSize)
	if err != nil {
		s.Fail(fmt.Sprintf("The shop's query fails in the database: %s.", pgMessage(err)),
			"The query of orders.go must run as it did: the fix adds an index and changes no table or column.")
	}
	s.Data("plan", plan.String())
	s.Metric("execution_ms", plan.ExecutionTime, "ms")
	good := customerLookup(plan)
	if good == nil {
		failNoLookup(s, plan)
	}
	name := lookupIndex(good)
	cond := lookupCond(plan, good)

	// The index must serve every customer, not the one picked: another
	// customer of the shop, and a customer newer than the seed data (as
	// the page's new customers are).
	for _, other := range []struct {
		id   int
		what string
	}{
		{checker.RandInt(1, maxCustomer), "another customer of the shop"},
		{maxCustomer + checker.RandInt(1, 100000), "a customer newer than the shop's data"},
	} {
		p, err := checker.Explain(ctx, db, query, other.id, pageSize)
		if err != nil {
			s.Fail(fmt.Sprintf("The shop's query fails in the database for customer %d: %s.", other.id, pgMessage(err)), "")
		}
		if customerLookup(p) == nil {
			s.Fail(fmt.Sprintf("For customer %d the plan uses %s (Index Cond: %s), but for customer %d (%s) it does not find the rows by index:\n%s"+
				"The index covers only some customers.", customer, name, cond, other.id, other.what, p.String()),
				"Index the column for every row: a partial index (CREATE INDEX … WHERE …) serves only the rows its WHERE clause names, and the page must be fast for every customer, including new ones.")
		}
	}

	ixs, err := orderIndexes(ctx, db)
	s.Must(err)
	var live ixDef
	for _, ix := range ixs {
		if ix.Name == name {
			live = ix
		}
	}
	if live.Def == "" {
		s.Must(fmt.Errorf("index %s of the plan is not among the indexes of orders", name))
	}
	file, ok, why := replay.credit(live)
	if !ok {
		s.Fail(fmt.Sprintf("The plan uses %s (Index Cond: %s), but your migrations do not create it: it would not exist in production or in a teammate's database. %s\nThe index in the database: %s.",
			name, cond, why, live.Def),
			"The check runs your migration files on an empty copy of the production schema, the way the app runs them: the CREATE INDEX must be a statement that runs there (not a comment, a string, or a block that skips it) and that no later file undoes. "+
				"Put it in a new file such as migrations/003_orders_customer_id_index.sql; as the index already exists here, write CREATE INDEX IF NOT EXISTS with the same name and columns, or drop it in psql first.")
	}
	s.Passf("%s (Index Cond: %s), created by migrations/%s (replayed on a copy of the production schema, it makes the same index: %s): %.0f rows read to return %.0f, in %.2f ms. Other customers, new ones included, use it too.\n%s",
		good.Describe(), cond, file, live.Def, good.ActualRows, plan.Root.ActualRows, plan.ExecutionTime, plan.String())
	return good
}

// failNoLookup explains a plan that does not find the customer's rows by
// an index on customer_id.
func failNoLookup(s *checker.S, plan *checker.Plan) {
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
}

// checkFaster is the step faster (see main).
func checkFaster(s *checker.S, db, baseline *sqlx.DB, customer int, indexed bool) {
	ctx := s.Ctx()
	timeQuery := func(db *sqlx.DB, runs int) time.Duration {
		d, err := checker.TimeQuery(ctx, db, runs, query, customer, pageSize)
		if err != nil {
			s.Fail(fmt.Sprintf("The shop's query fails in the database: %s.", pgMessage(err)), "")
		}
		return d
	}
	// Warm the cache for both plans, then time them alternately so that a
	// burst of load on the machine hits both alike.
	timeQuery(db, 1)
	timeQuery(baseline, 1)
	var now, before []time.Duration
	for range 5 {
		now = append(now, timeQuery(db, 3))
		before = append(before, timeQuery(baseline, 1))
	}
	nowMs, beforeMs := ms(checker.Median(now)), ms(checker.Median(before))
	speedup := beforeMs / nowMs
	s.Metric("query_ms_before", beforeMs, "ms")
	s.Metric("query_ms_after", nowMs, "ms")
	s.Metric("speedup", speedup, "x")
	if speedup < minSpeedup {
		hint := "The query still does about the same work as before. Make the plan use an index on customer_id first (see the step above)."
		if indexed {
			hint = "The plan uses an index but gains little: look at the EXPLAIN (ANALYZE, BUFFERS) output for how many rows and buffers it still reads."
		}
		s.Fail(fmt.Sprintf("The query takes %.2f ms (median) against %.2f ms for the starter's plan without indexes on the same data: %.1fx faster; at least %.0fx expected.",
			nowMs, beforeMs, speedup, minSpeedup), hint)
	}
	s.Passf("%.2f ms now against %.2f ms for the starter's plan (Seq Scan) on the same data: %.0fx faster (medians, measured in the sandbox).",
		nowMs, beforeMs, speedup)
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

func filterOf(n *checker.PlanNode) string {
	if n.Filter != "" {
		return n.Filter
	}
	return "customer_id"
}
