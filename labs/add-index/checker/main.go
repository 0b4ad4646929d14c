// Command checker verifies the add-index lab: the shop's data and schema
// must be intact; the "My orders" query must find a customer's orders
// through an index that the learner's migrations create (judged by
// replaying them on a copy of the production schema); it must run at
// least 10x faster than the starter's plan on the same data; the page must
// still return the right orders; and the fix must not leave duplicate,
// redundant or unused indexes behind.
//
// It connects to the database as postgres (the learner's shell connects as
// app) and calls the app over HTTP, both inside the sandbox network.
package main

import (
	"net/url"
	"path/filepath"
	"strings"
	"time"

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
// checker, to replay its migrations.
var codeDir = checker.Env("CODE_DIR", "/code")

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
	// The fingerprint of the seed data, recorded at image build in the
	// postgres database (the app's role can neither read nor change it).
	pg, err := checker.OpenDB(ctx, withDatabase(dsn, "postgres"))
	if err != nil {
		c.Fatal(err)
	}
	fingerprint, err := seedFingerprint(ctx, pg)
	pg.Close()
	if err != nil {
		c.Fatal(err)
	}
	// What the learner's migrations do, on a scratch copy of the schema.
	start := time.Now()
	replay, err := replayMigrations(ctx, db, dsn, filepath.Join(codeDir, "migrations"))
	if err != nil {
		c.Fatal(err)
	}
	c.Logf("replayed %s on a scratch copy of the production schema in %s", replay.summary(), time.Since(start).Round(time.Millisecond))

	// A random customer of the shop's data (whether it still exists is
	// data-intact's business: the plan is read either way).
	customer := checker.RandInt(1, int(fingerprint["customers"][0].MaxID))
	c.Logf("measuring with customer %d: %s", customer, strings.Join(strings.Fields(query), " "))

	// data-intact. Without the skill: make every figure look good by
	// shrinking the table (delete or "archive" most orders, TRUNCATE and
	// reload a part, VACUUM FULL after a delete), by weakening it (drop the
	// foreign key or a CHECK, disable its triggers, make it UNLOGGED, change
	// a column's type), or by re-sorting it on disk by customer (CLUSTER),
	// which speeds up any lookup of one customer beyond what the index
	// gives. What stops it: checksums of every original row, block by
	// block, against the fingerprint taken at image build; the tables'
	// kind, columns and constraints compared with a copy of the production
	// schema made by the starter's own migrations; and a sample of the
	// original rows, which must still lie on disk in the order the shop
	// wrote them. The steps that measure speed are judged only on intact
	// data.
	var rowsIntact bool
	c.Step("data-intact", func(s *checker.S) {
		checkIntact(s, db, replay, fingerprint, &rowsIntact)
	})

	// uses-index. Without the skill: create the index by hand in psql and
	// add a migration that only mentions it (in a comment, a string, a DO
	// block that never runs, a CREATE INDEX that a later file drops, an
	// edit of 002 that production never runs again, or a CREATE INDEX IF
	// NOT EXISTS of the same name but other columns); or a partial index
	// that covers the customer the checker happens to pick. What stops it:
	// the learner's migrations are run on a scratch copy of the production
	// schema and the index the plan uses must come out of them, compared by
	// definition (pg_get_indexdef without the name); and the plan must find
	// the rows by index for other customers too, one of them newer than the
	// seed data.
	var good *checker.PlanNode // the scan that finds the customer's rows by index
	c.Step("uses-index", func(s *checker.S) {
		good = checkUsesIndex(s, db, replay, customer, int(fingerprint["customers"][0].MaxID))
	})

	// faster. Without the skill: shrink or re-sort the table so that any
	// plan is quick (data-intact fails such a fix, and this step is then
	// not judged: only a schema change leaves the rows to measure), or rely
	// on one lucky timing. What stops it: the baseline is
	// the starter's plan (no index) on the same data, measured in the same
	// run, alternating with the new plan, medians of several runs and a
	// generous 10x ratio (an index gives hundreds).
	c.Step("faster", func(s *checker.S) {
		if !rowsIntact {
			s.Fail("Not measured: the shop's rows are not all there as they were, or not stored as they were (see the first step). A speed-up measured on other data says nothing about the shop's page.",
				"Get the shop's data back (Reset the lab, keeping a copy of your migration), then fix the page with the index alone.")
		}
		checkFaster(s, db, baseline, customer, good != nil)
	})

	// results-unchanged. Without the skill: change the app's query instead
	// of the schema (drop the ORDER BY, cap the LIMIT, show only recent
	// orders, ignore the customer), or answer from a snapshot. What stops
	// it: the checker creates a new customer with random orders of its own
	// (random times over two years), asks the app for pages of random,
	// default and larger-than-everything sizes and compares each order with
	// what it inserted; and it compares a customer of the shop's data with
	// what the database holds, read without any index.
	c.Step("results-unchanged", func(s *checker.S) {
		checkResults(s, db, baseline, appURL, customer)
	})

	// no-redundant-index. Without the skill: add several indexes "to be
	// sure" (a duplicate, a prefix of another, one on an unrelated column),
	// by hand or by migration. What stops it: every index of orders in the
	// shop's database is compared with the others by columns and scope, and
	// each one beyond the primary key and unique constraints must be the
	// one the query uses.
	c.Step("no-redundant-index", func(s *checker.S) {
		checkIndexes(s, db, good)
	})
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

// withDatabase is dsn with another database name.
func withDatabase(dsn, name string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return dsn
	}
	u.Path = "/" + name
	return u.String()
}
