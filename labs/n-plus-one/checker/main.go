// Command checker verifies the n-plus-one lab: GET /orders must return the
// newest orders with their customers and items exactly as before, in a
// small number of SQL statements that does not grow with the page size
// (counted by the database, in pg_stat_statements), and faster than the
// N+1 pattern it replaces.
//
// It connects to the database as postgres (the app and the learner's shell
// connect as app) and calls the app over HTTP, both inside the sandbox
// network. Before the steps it inserts fresh random customers, products,
// orders and items, newer than every other order so that they fill the
// pages it asks for; it removes them at the end.
package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/backlab/backlab/runner/checker"
)

const (
	// smallPage and largePage are the page sizes whose statements are
	// counted: a fix must run as few for 40 orders as for 5.
	smallPage = 5
	largePage = 40
	// defaultPage is the app's page size without ?limit.
	defaultPage = 20
	// maxStatements is the most statements one request may run: one
	// query a table (orders, customers, items, products) is 4; a
	// transaction around them adds BEGIN and COMMIT.
	maxStatements = 6
	// minSpeedup is how much faster than the N+1 pattern, replayed by the
	// checker over one connection, the page must be. A fixed page is 5–15
	// times faster; the starter, and a page that still loads items order by
	// order, take 0.4–0.7 times as long as the replay.
	minSpeedup = 2.5
	// rounds of the timing comparison.
	rounds = 9
)

// The starter's statements, as the checker replays them for the baseline.
const (
	ordersSQL = `SELECT id, customer_id, status, created_at
		FROM orders
		ORDER BY created_at DESC, id DESC
		LIMIT $1`
	customerSQL = `SELECT id, name, email
		FROM customers
		WHERE id = $1`
	itemsSQL = `SELECT product_id, quantity, unit_price_cents
		FROM order_items
		WHERE order_id = $1
		ORDER BY id`
	productSQL = `SELECT sku, name
		FROM products
		WHERE id = $1`
)

func main() {
	c := checker.New()
	defer c.Exit()
	ctx := c.Context()

	dsn := checker.Env("DB_DSN", "postgres://postgres:postgres@db:5432/shop?sslmode=disable")
	appURL := strings.TrimRight(checker.Env("APP_URL", "http://app:8080"), "/")
	appRole := checker.Env("APP_ROLE", "app")
	db, err := checker.OpenDB(ctx, dsn)
	if err != nil {
		c.Fatal(err)
	}
	defer db.Close()

	data, err := insertData(ctx, db)
	if err != nil {
		c.Fatal(err)
	}
	defer data.remove(ctx, c, db)
	c.Logf("inserted %d random orders (%d without items, %d items in all) for %d customers, newer than every other order",
		len(data.orders), data.empty(len(data.orders)), data.items(len(data.orders)), data.customers)

	c.Step("same-response", func(s *checker.S) {
		checkResponses(s, appURL, data)
	})

	appStatements := -1 // statements of one request for the large page, once counted
	c.Step("constant-queries", func(s *checker.S) {
		appStatements = checkStatements(s, db, appURL, appRole, data)
	})

	c.Step("faster", func(s *checker.S) {
		checkLatency(s, db, appURL, appStatements)
	})
}

// ---- the checker's data ----------------------------------------------------

type customer struct {
	ID    int    `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

type item struct {
	ProductID      int    `json:"product_id"`
	SKU            string `json:"sku"`
	Name           string `json:"name"`
	Quantity       int    `json:"quantity"`
	UnitPriceCents int    `json:"unit_price_cents"`
}

// order is an order as the API must show it.
type order struct {
	ID         int64     `json:"id"`
	Status     string    `json:"status"`
	CreatedAt  time.Time `json:"created_at"`
	Customer   customer  `json:"customer"`
	Items      *[]item   `json:"items"`
	TotalCents int       `json:"total_cents"`
}

func (o order) items() []item {
	if o.Items == nil {
		return nil
	}
	return *o.Items
}

// dataset is what the checker inserted, the orders newest first.
type dataset struct {
	orders      []order
	customerIDs []int // the ones the checker created
	productIDs  []int
	customers   int // customers with orders, new and old
}

func (d *dataset) empty(n int) int {
	k := 0
	for _, o := range d.orders[:n] {
		if len(o.items()) == 0 {
			k++
		}
	}
	return k
}

func (d *dataset) items(n int) int {
	k := 0
	for _, o := range d.orders[:n] {
		k += len(o.items())
	}
	return k
}

var (
	firstNames = []string{"Aino", "Bruno", "Carla", "Dmitri", "Esme", "Farid", "Greta", "Hana", "Ivo", "Jade", "Kofi", "Lucia", "Mateo", "Noor", "Otto", "Pia"}
	lastNames  = []string{"Andersen", "Bianchi", "Chen", "Diallo", "Engel", "Ferreira", "Gomez", "Holm", "Iqbal", "Jovanovic", "Kaur", "Lindqvist", "Mendes", "Nagy"}
	goods      = []string{"espresso cups", "wool socks", "desk lamp", "tote bag", "rain jacket", "olive oil", "chess set", "phone stand", "yoga mat", "herb kit"}
	statuses   = []string{"pending", "paid", "shipped", "delivered", "cancelled"}
)

func pick[T any](xs []T) T { return xs[rand.IntN(len(xs))] }

// insertData creates a few customers and products and 45–55 orders with
// random items, all newer than every order in the table (so that the
// newest 40 orders are the checker's), in random id order.
func insertData(ctx context.Context, db *sqlx.DB) (*dataset, error) {
	d := &dataset{}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()

	var customers []customer
	for range checker.RandInt(4, 7) {
		tag := checker.RandString(6)
		cu := customer{Name: pick(firstNames) + " " + pick(lastNames) + " " + strings.ToUpper(tag[:2]),
			Email: "checker-" + tag + "@example.test"}
		if err := tx.GetContext(ctx, &cu.ID, `INSERT INTO customers (name, email) VALUES ($1, $2) RETURNING id`, cu.Name, cu.Email); err != nil {
			return nil, fmt.Errorf("insert a customer: %w", err)
		}
		d.customerIDs = append(d.customerIDs, cu.ID)
		customers = append(customers, cu)
	}
	// Two customers of the shop's own data as well.
	var old []customer
	if err := tx.SelectContext(ctx, &old, `SELECT id, name, email FROM customers WHERE id = ANY ($1) ORDER BY id`,
		[]int{checker.RandInt(1, 20000), checker.RandInt(1, 20000)}); err != nil {
		return nil, fmt.Errorf("read customers: %w", err)
	}
	customers = append(customers, old...)
	d.customers = len(customers)

	type product struct {
		id        int
		sku, name string
	}
	var products []product
	for range checker.RandInt(5, 8) {
		p := product{sku: "CHK-" + strings.ToUpper(checker.RandString(6)), name: pick(goods) + " " + checker.RandString(4)}
		if err := tx.GetContext(ctx, &p.id, `INSERT INTO products (sku, name, price_cents) VALUES ($1, $2, $3) RETURNING id`,
			p.sku, p.name, checker.RandInt(500, 20000)); err != nil {
			return nil, fmt.Errorf("insert a product: %w", err)
		}
		d.productIDs = append(d.productIDs, p.id)
		products = append(products, p)
	}

	var newest time.Time
	if err := tx.GetContext(ctx, &newest, `SELECT greatest(max(created_at), now()) FROM orders`); err != nil {
		return nil, fmt.Errorf("read the newest order: %w", err)
	}
	n := checker.RandInt(45, 55)
	orders := make([]order, n)
	for i := range orders {
		// Distinct times a few seconds apart, to the microsecond, except
		// two orders at the same instant: ties go to the higher id.
		at := newest.Add(time.Duration(i+1)*3*time.Second + time.Duration(rand.IntN(2_000_000))*time.Microsecond).Truncate(time.Microsecond)
		orders[i] = order{Status: pick(statuses), CreatedAt: at.UTC(), Customer: pick(customers)}
	}
	tie := n - 1 - checker.RandInt(3, 12) // among the newest 40
	orders[tie-1].CreatedAt = orders[tie].CreatedAt
	// Insert in random order, so that ids do not follow the times.
	for _, i := range rand.Perm(n) {
		o := &orders[i]
		if err := tx.GetContext(ctx, &o.ID, `INSERT INTO orders (customer_id, status, created_at) VALUES ($1, $2, $3) RETURNING id`,
			o.Customer.ID, o.Status, o.CreatedAt); err != nil {
			return nil, fmt.Errorf("insert an order: %w", err)
		}
	}
	sort.SliceStable(orders, func(a, b int) bool {
		if !orders[a].CreatedAt.Equal(orders[b].CreatedAt) {
			return orders[a].CreatedAt.After(orders[b].CreatedAt)
		}
		return orders[a].ID > orders[b].ID
	})

	// Items: none for a few orders of the large page, up to five for the
	// others, at a price that is not the product's price of today.
	counts := make([]int, n)
	for i := range counts {
		counts[i] = checker.RandInt(1, 5)
	}
	for _, i := range rand.Perm(largePage)[:checker.RandInt(3, 5)] {
		counts[i] = 0
	}
	counts[checker.RandInt(0, smallPage-1)] = 0 // one in the small page too
	type line struct{ order int }
	var lines []line
	for i, k := range counts {
		for range k {
			lines = append(lines, line{i})
		}
		list := []item{}
		orders[i].Items = &list
	}
	rand.Shuffle(len(lines), func(a, b int) { lines[a], lines[b] = lines[b], lines[a] })
	for _, l := range lines {
		o := &orders[l.order]
		p := pick(products)
		it := item{ProductID: p.id, SKU: p.sku, Name: p.name, Quantity: checker.RandInt(1, 5), UnitPriceCents: checker.RandInt(99, 9999)}
		if _, err := tx.ExecContext(ctx, `INSERT INTO order_items (order_id, product_id, quantity, unit_price_cents) VALUES ($1, $2, $3, $4)`,
			o.ID, it.ProductID, it.Quantity, it.UnitPriceCents); err != nil {
			return nil, fmt.Errorf("insert an item: %w", err)
		}
		*o.Items = append(*o.Items, it) // ids grow in insertion order
		o.TotalCents += it.Quantity * it.UnitPriceCents
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	if _, err := db.ExecContext(ctx, `ANALYZE orders, order_items`); err != nil {
		return nil, err
	}
	d.orders = orders
	return d, nil
}

// remove deletes what insertData created.
func (d *dataset) remove(ctx context.Context, c *checker.Check, db *sqlx.DB) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
	defer cancel()
	var ids []int64
	for _, o := range d.orders {
		ids = append(ids, o.ID)
	}
	for _, q := range []struct {
		sql string
		arg any
	}{
		{`DELETE FROM orders WHERE id = ANY ($1)`, ids}, // and their items (ON DELETE CASCADE)
		{`DELETE FROM customers WHERE id = ANY ($1)`, d.customerIDs},
		{`DELETE FROM products WHERE id = ANY ($1)`, d.productIDs},
	} {
		if _, err := db.ExecContext(ctx, q.sql, q.arg); err != nil {
			c.Logf("could not remove the checker's data (%s): %v", q.sql, err)
		}
	}
}

// ---- same-response ---------------------------------------------------------

type page struct {
	Orders []order `json:"orders"`
}

// getPage asks the app for GET /orders?limit=n (n = 0: no limit parameter)
// and fails the step if it does not answer 200 with JSON.
func getPage(s *checker.S, appURL string, n int) ([]order, string) {
	path := "/orders"
	if n > 0 {
		path = fmt.Sprintf("/orders?limit=%d", n)
	}
	var got page
	status, err := checker.GetJSON(s.Ctx(), appURL+path, &got)
	if err != nil {
		s.Fail(fmt.Sprintf("GET %s failed: %v", path, err),
			"The app did not answer with the page of orders. Run make build in ~/app for compile errors, try your copy with make run, and curl it yourself.")
	}
	if status != 200 {
		s.Fail(fmt.Sprintf("GET %s answered %d; 200 with the newest orders expected.", path, status),
			"The app answers 500 when a query fails. Run make run in ~/app and curl localhost:8081"+path+": the error is printed in the app's output.")
	}
	return got.Orders, path
}

func checkResponses(s *checker.S, appURL string, d *dataset) {
	small := checker.RandInt(3, 12)
	for _, n := range []int{small, 0, largePage} {
		got, path := getPage(s, appURL, n)
		want := n
		if n == 0 {
			want = defaultPage
		}
		if msg := comparePage(got, d.orders[:want]); msg != "" {
			s.Fail(fmt.Sprintf("GET %s: %s\n(The checker had just created %d orders, newer than all others, with random customers and items: the page must be the %d newest, newest first, each with its customer and its items in the order they were added.)",
				path, msg, len(d.orders), want),
				"A fix must not change a byte of the answer. Compare your query with the old code: the page must still be chosen by ORDER BY created_at DESC, id DESC LIMIT n on orders alone "+
					"(LIMIT on a JOIN with items counts item rows, not orders); an order without items must stay in the page with \"items\": [] (an inner JOIN drops it); "+
					"items keep their order (ORDER BY id) and the price paid is order_items.unit_price_cents.")
		}
	}
	// One order alone, through the same helpers.
	var one order
	for _, o := range d.orders[:largePage] {
		if len(o.items()) >= 2 {
			one = o
			break
		}
	}
	path := fmt.Sprintf("/orders/%d", one.ID)
	var got order
	status, err := checker.GetJSON(s.Ctx(), appURL+path, &got)
	if err != nil || status != 200 {
		s.Fail(fmt.Sprintf("GET %s answered %d (%v); 200 with the order expected.", path, status, err),
			"GET /orders/{id} must keep working: it shares the helpers of the list (fill, customer, items, product in orders.go).")
	}
	if msg := compareOrder(got, one); msg != "" {
		s.Fail(fmt.Sprintf("GET %s: %s", path, msg),
			"GET /orders/{id} must keep working: it shares the helpers of the list (fill, customer, items, product in orders.go).")
	}
	s.Passf("GET /orders?limit=%d, GET /orders (%d) and GET /orders?limit=%d returned exactly the newest orders the checker had just created: "+
		"ids, statuses, times, customers, %d items with SKUs, names, quantities and prices paid, totals, and %d orders without items (\"items\": []). GET %s too.",
		small, defaultPage, largePage, d.items(largePage), d.empty(largePage), path)
}

// comparePage says how the page differs from want, or "".
func comparePage(got, want []order) string {
	if len(got) != len(want) {
		msg := fmt.Sprintf("got %d orders; %d expected.", len(got), len(want))
		seen := map[int64]bool{}
		for _, o := range got {
			seen[o.ID] = true
		}
		var missing []string
		emptyMissing := 0
		for _, w := range want {
			if !seen[w.ID] {
				desc := fmt.Sprintf("%d (%d items)", w.ID, len(w.items()))
				if len(w.items()) == 0 {
					emptyMissing++
				}
				missing = append(missing, desc)
			}
		}
		if len(missing) > 0 {
			if len(missing) > 6 {
				missing = append(missing[:6], "…")
			}
			msg += " Missing: " + strings.Join(missing, ", ") + "."
		}
		if emptyMissing > 0 && emptyMissing == len(want)-len(got) {
			msg += " Exactly the orders without items are missing."
		}
		return msg
	}
	for i, w := range want {
		g := got[i]
		if g.ID != w.ID {
			return fmt.Sprintf("order #%d of the page is %d (created %s); expected %d (created %s).",
				i+1, g.ID, g.CreatedAt.UTC().Format(time.RFC3339Nano), w.ID, w.CreatedAt.Format(time.RFC3339Nano))
		}
		if msg := compareOrder(g, w); msg != "" {
			return fmt.Sprintf("order #%d of the page: %s", i+1, msg)
		}
	}
	return ""
}

// compareOrder says how one order differs from want, or "".
func compareOrder(g, w order) string {
	switch {
	case g.ID != w.ID:
		return fmt.Sprintf("order %d answered; %d expected.", g.ID, w.ID)
	case g.Status != w.Status:
		return fmt.Sprintf("order %d has status %q; %q expected.", g.ID, g.Status, w.Status)
	case !g.CreatedAt.Equal(w.CreatedAt):
		return fmt.Sprintf("order %d was created at %s; %s expected.", g.ID, g.CreatedAt.UTC().Format(time.RFC3339Nano), w.CreatedAt.Format(time.RFC3339Nano))
	case g.Customer != w.Customer:
		return fmt.Sprintf("order %d has customer %+v; %+v expected.", g.ID, g.Customer, w.Customer)
	case g.Items == nil && len(w.items()) == 0:
		return fmt.Sprintf("order %d has \"items\": null; \"items\": [] expected for an order without items, as before (a client looping over the items would break on null).", g.ID)
	case g.Items == nil:
		return fmt.Sprintf("order %d has \"items\": null; %d items expected: %s.", g.ID, len(w.items()), describeItems(w.items()))
	case len(g.items()) != len(w.items()):
		return fmt.Sprintf("order %d has %d items; %d expected: %s.", g.ID, len(g.items()), len(w.items()), describeItems(w.items()))
	}
	for j, wi := range w.items() {
		if gi := g.items()[j]; gi != wi {
			return fmt.Sprintf("item #%d of order %d is %s; %s expected (items in the order they were added: %s).",
				j+1, g.ID, describeItem(gi), describeItem(wi), describeItems(w.items()))
		}
	}
	if g.TotalCents != w.TotalCents {
		return fmt.Sprintf("order %d totals %d cents; %d expected (quantity × price paid, summed).", g.ID, g.TotalCents, w.TotalCents)
	}
	return ""
}

func describeItem(it item) string {
	return fmt.Sprintf("%d × %s %q (product %d) at %d cents", it.Quantity, it.SKU, it.Name, it.ProductID, it.UnitPriceCents)
}

func describeItems(items []item) string {
	if len(items) == 0 {
		return "none"
	}
	var parts []string
	for _, it := range items {
		parts = append(parts, describeItem(it))
	}
	return strings.Join(parts, "; ")
}

// ---- constant-queries ------------------------------------------------------

// statement is one query shape in pg_stat_statements.
type statement struct {
	QueryID int64  `db:"queryid"`
	Calls   int64  `db:"calls"`
	Query   string `db:"query"`
}

// snapshot reads the counters of the app's role in this database.
func snapshot(ctx context.Context, db *sqlx.DB, role string) (map[int64]statement, error) {
	var rows []statement
	err := db.SelectContext(ctx, &rows, `
		SELECT coalesce(queryid, 0) AS queryid, calls, query
		FROM pg_stat_statements
		WHERE userid = (SELECT oid FROM pg_roles WHERE rolname = $1)
		  AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())`, role)
	if err != nil {
		return nil, fmt.Errorf("read pg_stat_statements: %w", err)
	}
	m := make(map[int64]statement, len(rows))
	for _, r := range rows {
		m[r.QueryID] = r
	}
	return m, nil
}

// counted is what one request ran.
type counted struct {
	total int64
	stmts []statement // calls during the request, most first
}

func (c counted) lines() []string {
	var out []string
	for _, st := range c.stmts {
		out = append(out, fmt.Sprintf("%4d × %s", st.Calls, shorten(st.Query)))
	}
	return out
}

func shorten(q string) string {
	q = strings.Join(strings.Fields(q), " ")
	if len(q) > 140 {
		q = q[:137] + "..."
	}
	return q
}

// count runs GET /orders?limit=n and returns what the app's role ran
// meanwhile. A count above maxStatements is measured twice and the least
// kept, so that a stray statement from a psql session cannot make a fix
// fail.
func count(s *checker.S, db *sqlx.DB, appURL, role string, n int) counted {
	var best counted
	for try := range 2 {
		if try == 1 && best.total <= maxStatements {
			break
		}
		before, err := snapshot(s.Ctx(), db, role)
		s.Must(err)
		got, _ := getPage(s, appURL, n)
		after, err := snapshot(s.Ctx(), db, role)
		s.Must(err)
		if len(got) != n {
			// Wrong, but the step above says so: this one only counts.
			s.Logf("GET /orders?limit=%d returned %d orders; %d expected", n, len(got), n)
		}
		var c counted
		for id, a := range after {
			if d := a.Calls - before[id].Calls; d > 0 {
				c.total += d
				c.stmts = append(c.stmts, statement{QueryID: id, Calls: d, Query: a.Query})
			}
		}
		slices.SortFunc(c.stmts, func(a, b statement) int {
			if a.Calls != b.Calls {
				return int(b.Calls - a.Calls)
			}
			return strings.Compare(a.Query, b.Query)
		})
		if try == 0 || c.total < best.total {
			best = c
		}
	}
	return best
}

// checkStatements counts the statements of one request for two page sizes
// and returns the count for the large one.
func checkStatements(s *checker.S, db *sqlx.DB, appURL, role string, d *dataset) (large int) {
	smallN := count(s, db, appURL, role, smallPage)
	largeN := count(s, db, appURL, role, largePage)
	large = int(largeN.total)
	s.Metric(fmt.Sprintf("statements_limit_%d", smallPage), float64(smallN.total), "statements")
	s.Metric(fmt.Sprintf("statements_limit_%d", largePage), float64(largeN.total), "statements")
	s.Data(fmt.Sprintf("statements_limit_%d", largePage), largeN.lines())

	breakdown := "For limit=" + fmt.Sprint(largePage) + " PostgreSQL ran (pg_stat_statements, calls during the request):\n" + strings.Join(largeN.lines(), "\n")
	if largeN.total > maxStatements || smallN.total > maxStatements || largeN.total > smallN.total {
		var per []string
		for _, st := range largeN.stmts {
			switch st.Calls {
			case largePage:
				per = append(per, fmt.Sprintf("%s runs once per order", what(st.Query)))
			case int64(d.items(largePage)):
				per = append(per, fmt.Sprintf("%s runs once per item (%d items on the page)", what(st.Query), d.items(largePage)))
			}
		}
		why := "the count grows with the page size"
		if len(per) > 0 {
			why = strings.Join(per, "; ")
		}
		s.Fail(fmt.Sprintf("GET /orders?limit=%d ran %d SQL statements and GET /orders?limit=%d ran %d: %s. "+
			"At most %d expected, the same for any page size.\n%s",
			smallPage, smallN.total, largePage, largeN.total, why, maxStatements, breakdown),
			"Load what the page needs for all its orders at once: JOIN customers into the orders query, and fetch the items of all the page's orders "+
				"(with their products) in one query, WHERE order_id = ANY($1) with pq.Array(ids), then attach them to their orders in Go.")
	}
	s.Passf("GET /orders?limit=%d ran %d SQL statements and GET /orders?limit=%d ran %d (counted by PostgreSQL in pg_stat_statements): "+
		"a constant, whatever the page size.\n%s", smallPage, smallN.total, largePage, largeN.total, breakdown)
	return large
}

// what names a statement by the table it reads.
func what(q string) string {
	q = strings.ToLower(strings.Join(strings.Fields(q), " "))
	for _, t := range []string{"order_items", "customers", "products", "orders"} {
		if strings.Contains(q, "from "+t) {
			return "the query on " + t
		}
	}
	return "a statement"
}

// ---- faster ----------------------------------------------------------------

// replay loads the large page the starter's way, one statement per order
// and per item, over one connection of the checker: the N+1 pattern's cost
// without the app around it.
func replay(ctx context.Context, conn *sqlx.Conn) (time.Duration, int, error) {
	start := time.Now()
	statements := 1
	type row struct {
		ID         int64     `db:"id"`
		CustomerID int       `db:"customer_id"`
		Status     string    `db:"status"`
		CreatedAt  time.Time `db:"created_at"`
	}
	var orders []row
	if err := conn.SelectContext(ctx, &orders, ordersSQL, largePage); err != nil {
		return 0, 0, err
	}
	for _, o := range orders {
		var cu customer
		if err := conn.GetContext(ctx, &cu, customerSQL, o.CustomerID); err != nil {
			return 0, 0, err
		}
		var items []struct {
			ProductID      int `db:"product_id"`
			Quantity       int `db:"quantity"`
			UnitPriceCents int `db:"unit_price_cents"`
		}
		if err := conn.SelectContext(ctx, &items, itemsSQL, o.ID); err != nil {
			return 0, 0, err
		}
		statements += 2
		for _, it := range items {
			var p struct {
				SKU  string `db:"sku"`
				Name string `db:"name"`
			}
			if err := conn.GetContext(ctx, &p, productSQL, it.ProductID); err != nil {
				return 0, 0, err
			}
			statements++
		}
	}
	return time.Since(start), statements, nil
}

// timeRequest times GET path, body included.
func timeRequest(s *checker.S, url string) time.Duration {
	start := time.Now()
	status, _, err := checker.GetText(s.Ctx(), url)
	d := time.Since(start)
	if err != nil || status != 200 {
		s.Fail(fmt.Sprintf("GET %s answered %d (%v) while it was timed; 200 expected.", url, status, err), "See the steps above.")
	}
	return d
}

// checkLatency times the large page against the N+1 pattern replayed by
// the checker; statements is what the app ran for that page (-1: unknown).
func checkLatency(s *checker.S, db *sqlx.DB, appURL string, statements int) {
	ctx := s.Ctx()
	conn, err := db.Connx(ctx)
	s.Must(err)
	defer conn.Close()
	url := fmt.Sprintf("%s/orders?limit=%d", appURL, largePage)
	// Warm both up, then alternate so that a burst of load on the machine
	// hits both alike. A very slow page gets fewer rounds.
	timeRequest(s, url)
	_, replayed, err := replay(ctx, conn)
	s.Must(err)
	// The speed-up is the median of the ratios of each round: the two
	// timings of a round, taken one right after the other, share the load
	// of the machine.
	var app, base []time.Duration
	var ratios []float64
	start := time.Now()
	for len(app) < rounds && (len(app) < 3 || time.Since(start) < 3*time.Second) {
		a := timeRequest(s, url)
		b, _, err := replay(ctx, conn)
		s.Must(err)
		app, base = append(app, a), append(base, b)
		ratios = append(ratios, float64(b)/float64(a))
	}
	appMs, baseMs := ms(checker.Median(app)), ms(checker.Median(base))
	slices.Sort(ratios)
	speedup := ratios[len(ratios)/2]
	s.Metric(fmt.Sprintf("latency_ms_limit_%d", largePage), appMs, "ms")
	s.Metric(fmt.Sprintf("latency_ms_limit_%d_max", largePage), ms(slices.Max(app)), "ms")
	s.Metric("n_plus_one_ms", baseMs, "ms")
	s.Metric("speedup", speedup, "x")
	if speedup < minSpeedup {
		hint := "Count the statements first (the step above): every statement is a round trip to the database, and the page pays them one after another."
		if statements >= 0 && statements <= maxStatements {
			hint = "The statements are few, so look at what they read: EXPLAIN (ANALYZE, BUFFERS) each query of the page in psql. " +
				"A query that reads a whole table (all of order_items) and filters in Go is constant in statements but grows with the shop; " +
				"select only the rows of the page's orders (WHERE order_id = ANY($1), or a JOIN with the page)."
		}
		rel := fmt.Sprintf("%.1fx as fast", speedup)
		if speedup < 1 {
			rel = fmt.Sprintf("%.1fx slower", 1/speedup)
		}
		s.Fail(fmt.Sprintf("GET /orders?limit=%d takes %.1f ms (median of %d); loading the same page the N+1 way (%d statements, one per order and per item, "+
			"replayed by the checker over one connection) takes %.1f ms: the page is %s (median of the rounds); at least %.1fx faster expected.",
			largePage, appMs, len(app), replayed, baseMs, rel, minSpeedup), hint)
	}
	s.Passf("GET /orders?limit=%d takes %.1f ms (median of %d requests, HTTP and JSON included); the same page loaded the N+1 way "+
		"(%d statements, replayed by the checker over one connection) takes %.1f ms: %.1fx faster (median of the rounds).",
		largePage, appMs, len(app), replayed, baseMs, speedup)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
