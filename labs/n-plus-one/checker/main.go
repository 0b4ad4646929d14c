// Command checker verifies the n-plus-one lab: GET /orders must return the
// newest orders with their customers and items exactly as the database
// holds them at the moment of the request, in a small number of SQL
// statements that does not grow with the page size (counted by the
// database, in pg_stat_statements), reading only the rows of the page, and
// faster than the N+1 pattern it replaces.
//
// It connects to the database as postgres (the app and the learner's shell
// connect as app) and calls the app over HTTP, both inside the sandbox
// network. Before the steps it inserts fresh random customers, products,
// orders and items, newer than every other order so that they fill the
// pages it asks for; between rounds of requests it changes them (new
// orders, changed and deleted items, renamed customers and products); it
// removes them at the end.
//
// How a learner could pass without the skill, and what stops it (each
// step's comment says more):
//   - hard-coded or snapshot answers: the data is random, made by this run;
//   - a page cache or an in-memory copy of the shop (0 statements a
//     request): fresh-data changes the data and asks again at once, three
//     rounds, some without new orders; the counted and timed requests ask
//     for page sizes the app has never served, and a page answered with no
//     statement fails constant-queries;
//   - one statement that reads whole tables and slices in Go: reads-page
//     bounds the rows and buffers one request uses, faster times it.
package main

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/backlab/backlab/runner/checker"
)

const (
	// largePage is the page the same-response step asks for, the one the
	// back office shows; defaultPage is the app's page size without ?limit.
	largePage   = 40
	defaultPage = 20
	// maxStatements is the most statements one request may run: one
	// query a table (orders, customers, items, products) is 4; a
	// transaction around them adds BEGIN and COMMIT.
	maxStatements = 6
	// freshRounds is how many times fresh-data changes the data and asks
	// for the pages again.
	freshRounds = 3
	// Bounds of reads-page, per request, for a page of L orders holding I
	// items: rows returned by the statements at most rowsPerRow×(L+I) +
	// rowsSlack, shared buffers touched at most buffersPerRow×(L+I) +
	// buffersSlack. A page read through the indexes returns L+I to 2(L+I)
	// rows and touches 3–5 buffers a row; a scan of the small tables
	// (customers, 20,000 rows, about 210 buffers; products) fits in the
	// slack. Reading all of orders (150,000 rows, about 1,100 buffers) or of
	// order_items (370,000 rows, about 2,500 buffers) does not, even for
	// the small page.
	rowsPerRow    = 4
	rowsSlack     = 100
	buffersPerRow = 8
	buffersSlack  = 300
	// minSpeedup is how much faster than the N+1 pattern, replayed by the
	// checker over one connection, the page must be. Measured with five
	// labs testing at once on two cores, on pages of 46–75 orders: a fixed
	// page (two to four statements, HTTP and JSON included) is 2.5–8 times
	// faster; the starter, and a page that still loads items order by
	// order, 0.35–0.9 times as fast; a page that reads whole tables 0.02–0.07.
	// 2 sits between the two, with room for load on either side.
	minSpeedup = 2.0
	// rounds of the timing comparison.
	rounds = 9
)

// Page sizes are drawn from these ranges, each at most once a run, so that
// the app has never served the page before it is checked, counted or
// timed. (The checker's orders are 45–55 and grow in fresh-data: pages up
// to 45 hold only them.)
var (
	freshRange      = [2]int{10, 30} // one new page size a round of fresh-data
	smallCountRange = [2]int{2, 9}   // constant-queries' small page
	largeCountRange = [2]int{41, 45} // constant-queries' large page
	timedRange      = [2]int{46, 75} // faster: a new page size each request
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
		len(data.orders), data.empty(len(data.orders)), data.items(len(data.orders)), len(data.customers))

	// same-response: the first requests the app sees. Passing it without
	// the skill: a hard-coded or recorded answer, which the checker's random
	// data (made by this run, after the app started) defeats. A page cache
	// or an in-memory copy passes here (nothing changed yet): fresh-data is
	// there for them.
	sameOK := c.Step("same-response", func(s *checker.S) {
		checkResponses(s, appURL, data)
	})

	// fresh-data: without it, an app that keeps pages (or the whole shop)
	// in memory after the first request runs no statement at all and
	// passes every other step. The checker changes its data in a committed
	// transaction, then at once asks again for the pages the app served in
	// same-response (and GET /orders/{id}) and for one page size it never
	// served, and compares each with what it computed itself; three
	// rounds, so a copy refreshed on a timer has to be lucky three times in
	// a row (the window between commit and request is a few milliseconds),
	// and a cache with a TTL is asked again well within its TTL. Not
	// caught: a TTL shorter than that window, which is as good as fresh.
	c.Step("fresh-data", func(s *checker.S) {
		if !sameOK {
			s.Fail("Not checked: the pages were already wrong before the checker changed anything (see same-response); "+
				"this step changes the data and checks that the pages follow, once they are right.", "Fix same-response first.")
		}
		checkFresh(s, db, appURL, data)
	})

	// constant-queries and reads-page measure the same requests, for page
	// sizes the app has never served (a page cache keyed by URL misses and
	// does the real work). constant-queries: the N+1 fix itself; a page
	// served from memory (0 statements) fails too, since the count would
	// then say nothing about the queries. reads-page: one statement that
	// reads whole tables (no LIMIT, or no WHERE on the items, sliced in Go)
	// is "constant" but reads the shop, not the page; reads-page counts
	// rows returned and buffers touched, so a statement that scans a table
	// and returns a few rows (an aggregate over all items, then joined)
	// fails too. A request the learner's psql session disturbs is measured
	// again on another new page size. Not caught: loops moved into a
	// PL/pgSQL function count as one top-level statement; that removes the
	// round trips, the cost the lesson is about, and its buffers still count.
	m := &measured{}
	c.Step("constant-queries", func(s *checker.S) {
		checkStatements(s, db, appURL, appRole, data, m)
	})
	c.Step("reads-page", func(s *checker.S) {
		checkReads(s, m)
	})

	// faster: statement counts alone can be met by work the counter does
	// not see or that grows with the table; time the page against the N+1
	// pattern replayed by the checker in the same run (a ratio, robust to
	// load), each request a page size never served (so a cache cannot
	// answer it).
	c.Step("faster", func(s *checker.S) {
		large := -1
		if m.done {
			large = int(m.large.total)
		}
		checkLatency(s, db, appURL, large, data, sameOK)
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

	itemIDs []int64 // order_items.id of each item, for the checker's changes
}

func (o order) items() []item {
	if o.Items == nil {
		return nil
	}
	return *o.Items
}

// clone copies an order deeply, so that later changes leave it alone.
func (o order) clone() order {
	list := slices.Clone(o.items())
	if list == nil {
		list = []item{}
	}
	o.Items = &list
	o.itemIDs = slices.Clone(o.itemIDs)
	return o
}

type product struct {
	id        int
	sku, name string
}

// dataset is what the checker inserted and what it must look like now, the
// orders newest first.
type dataset struct {
	orders      []order
	single      int64      // the order asked for alone, GET /orders/{id}
	customers   []customer // who the checker's orders belong to, new and old
	products    []product  // the checker's own products
	customerIDs []int      // the customers the checker created
	productIDs  []int
	orderIDs    []int64 // every order the checker created, deleted ones too
	newest      time.Time
	served      map[int]bool // page sizes the app has served (0: none given)
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

// page is the expected page of n orders (0: the default page size), deep
// copied.
func (d *dataset) page(n int) []order {
	if n == 0 {
		n = defaultPage
	}
	out := make([]order, n)
	for i := range out {
		out[i] = d.orders[i].clone()
	}
	return out
}

// unseen picks a page size in r the app has not been asked for yet, and
// marks it as asked for.
func (d *dataset) unseen(r [2]int) (int, error) {
	var free []int
	for n := r[0]; n <= r[1]; n++ {
		if !d.served[n] {
			free = append(free, n)
		}
	}
	if len(free) == 0 {
		return 0, fmt.Errorf("no page size left in %d–%d", r[0], r[1])
	}
	n := free[rand.IntN(len(free))]
	d.served[n] = true
	return n, nil
}

// anyOf says whether some order of got is one of the checker's.
func (d *dataset) anyOf(got []order) bool {
	for _, o := range got {
		if slices.Contains(d.orderIDs, o.ID) {
			return true
		}
	}
	return false
}

func (d *dataset) sortOrders() {
	sort.SliceStable(d.orders, func(a, b int) bool {
		if !d.orders[a].CreatedAt.Equal(d.orders[b].CreatedAt) {
			return d.orders[a].CreatedAt.After(d.orders[b].CreatedAt)
		}
		return d.orders[a].ID > d.orders[b].ID
	})
}

func (d *dataset) find(id int64) int {
	for i, o := range d.orders {
		if o.ID == id {
			return i
		}
	}
	return -1
}

var (
	firstNames = []string{"Aino", "Bruno", "Carla", "Dmitri", "Esme", "Farid", "Greta", "Hana", "Ivo", "Jade", "Kofi", "Lucia", "Mateo", "Noor", "Otto", "Pia"}
	lastNames  = []string{"Andersen", "Bianchi", "Chen", "Diallo", "Engel", "Ferreira", "Gomez", "Holm", "Iqbal", "Jovanovic", "Kaur", "Lindqvist", "Mendes", "Nagy"}
	goods      = []string{"espresso cups", "wool socks", "desk lamp", "tote bag", "rain jacket", "olive oil", "chess set", "phone stand", "yoga mat", "herb kit"}
	statuses   = []string{"pending", "paid", "shipped", "delivered", "cancelled"}
)

func pick[T any](xs []T) T { return xs[rand.IntN(len(xs))] }

func newCustomer() customer {
	tag := checker.RandString(6)
	return customer{Name: pick(firstNames) + " " + pick(lastNames) + " " + strings.ToUpper(tag[:2]),
		Email: "checker-" + tag + "@example.test"}
}

func newProduct() product {
	return product{sku: "CHK-" + strings.ToUpper(checker.RandString(6)), name: pick(goods) + " " + checker.RandString(4)}
}

// addItem inserts an item of a random product of the checker into order i
// (ids grow, so it is the order's last item).
func (d *dataset) addItem(ctx context.Context, tx *sqlx.Tx, i int) error {
	o := &d.orders[i]
	p := pick(d.products)
	it := item{ProductID: p.id, SKU: p.sku, Name: p.name, Quantity: checker.RandInt(1, 5), UnitPriceCents: checker.RandInt(99, 9999)}
	var id int64
	if err := tx.GetContext(ctx, &id, `INSERT INTO order_items (order_id, product_id, quantity, unit_price_cents) VALUES ($1, $2, $3, $4) RETURNING id`,
		o.ID, it.ProductID, it.Quantity, it.UnitPriceCents); err != nil {
		return fmt.Errorf("insert an item: %w", err)
	}
	*o.Items = append(*o.Items, it)
	o.itemIDs = append(o.itemIDs, id)
	o.TotalCents = total(o.items())
	return nil
}

func total(items []item) int {
	sum := 0
	for _, it := range items {
		sum += it.Quantity * it.UnitPriceCents
	}
	return sum
}

// insertData creates a few customers and products and 45–55 orders with
// random items, all newer than every order in the table (so that the
// newest 45 orders are the checker's), in random id order.
func insertData(ctx context.Context, db *sqlx.DB) (*dataset, error) {
	d := &dataset{served: map[int]bool{}}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()

	for range checker.RandInt(4, 7) {
		cu := newCustomer()
		if err := tx.GetContext(ctx, &cu.ID, `INSERT INTO customers (name, email) VALUES ($1, $2) RETURNING id`, cu.Name, cu.Email); err != nil {
			return nil, fmt.Errorf("insert a customer: %w", err)
		}
		d.customerIDs = append(d.customerIDs, cu.ID)
		d.customers = append(d.customers, cu)
	}
	// Two customers of the shop's own data as well.
	var old []customer
	if err := tx.SelectContext(ctx, &old, `SELECT id, name, email FROM customers WHERE id = ANY ($1) ORDER BY id`,
		[]int{checker.RandInt(1, 20000), checker.RandInt(1, 20000)}); err != nil {
		return nil, fmt.Errorf("read customers: %w", err)
	}
	d.customers = append(d.customers, old...)

	for range checker.RandInt(5, 8) {
		p := newProduct()
		if err := tx.GetContext(ctx, &p.id, `INSERT INTO products (sku, name, price_cents) VALUES ($1, $2, $3) RETURNING id`,
			p.sku, p.name, checker.RandInt(500, 20000)); err != nil {
			return nil, fmt.Errorf("insert a product: %w", err)
		}
		d.productIDs = append(d.productIDs, p.id)
		d.products = append(d.products, p)
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
		orders[i] = order{Status: pick(statuses), CreatedAt: at.UTC(), Customer: pick(d.customers)}
		if at.After(d.newest) {
			d.newest = at
		}
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
		d.orderIDs = append(d.orderIDs, o.ID)
	}
	d.orders = orders
	d.sortOrders()

	// Items: none for a few orders of the large page, up to five for the
	// others, at a price that is not the product's price of today.
	counts := make([]int, n)
	for i := range counts {
		counts[i] = checker.RandInt(1, 5)
	}
	for _, i := range rand.Perm(largePage)[:checker.RandInt(3, 5)] {
		counts[i] = 0
	}
	counts[checker.RandInt(0, 4)] = 0 // one among the newest five too
	var lines []int
	for i, k := range counts {
		for range k {
			lines = append(lines, i)
		}
		list := []item{}
		d.orders[i].Items = &list
	}
	rand.Shuffle(len(lines), func(a, b int) { lines[a], lines[b] = lines[b], lines[a] })
	for _, i := range lines {
		if err := d.addItem(ctx, tx, i); err != nil {
			return nil, err
		}
	}
	// The order asked for alone: one of the large page with two items or
	// more (fresh-data changes one of them every round).
	for _, o := range d.orders[:largePage] {
		if len(o.items()) >= 2 {
			d.single = o.ID
			break
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	if _, err := db.ExecContext(ctx, `ANALYZE orders, order_items`); err != nil {
		return nil, err
	}
	return d, nil
}

// remove deletes what the checker created.
func (d *dataset) remove(ctx context.Context, c *checker.Check, db *sqlx.DB) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
	defer cancel()
	for _, q := range []struct {
		sql string
		arg any
	}{
		{`DELETE FROM orders WHERE id = ANY ($1)`, d.orderIDs}, // and their items (ON DELETE CASCADE)
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

func pagePath(n int) string {
	if n == 0 {
		return "/orders"
	}
	return fmt.Sprintf("/orders?limit=%d", n)
}

// getPage asks the app for GET /orders?limit=n (n = 0: no limit parameter)
// and fails the step if it does not answer 200 with JSON.
func getPage(s *checker.S, appURL string, d *dataset, n int) ([]order, string) {
	path := pagePath(n)
	d.served[n] = true
	if n == 0 || n == defaultPage {
		d.served[0], d.served[defaultPage] = true, true
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

// getOrder asks the app for GET /orders/{id}.
func getOrder(s *checker.S, appURL string, id int64) (order, string) {
	path := fmt.Sprintf("/orders/%d", id)
	var got order
	status, err := checker.GetJSON(s.Ctx(), appURL+path, &got)
	if err != nil || status != 200 {
		s.Fail(fmt.Sprintf("GET %s answered %d (%v); 200 with the order expected.", path, status, err),
			"GET /orders/{id} must keep working: it shares the helpers of the list (fill, customer, items, product in orders.go).")
	}
	return got, path
}

const sameHint = "A fix must not change a byte of the answer. Compare your query with the old code: the page must still be chosen by ORDER BY created_at DESC, id DESC LIMIT n on orders alone " +
	"(LIMIT on a JOIN with items counts item rows, not orders); an order without items must stay in the page with \"items\": [] (an inner JOIN drops it); " +
	"items keep their order (ORDER BY id) and the price paid is order_items.unit_price_cents."

func checkResponses(s *checker.S, appURL string, d *dataset) {
	small := checker.RandInt(3, 12)
	for _, n := range []int{small, 0, largePage} {
		got, path := getPage(s, appURL, d, n)
		want := d.page(n)
		if msg := comparePage(got, want); msg != "" {
			if len(got) > 0 && !d.anyOf(got) {
				s.Fail(fmt.Sprintf("GET %s: %s\nNone of the %d orders the checker had just created, newer than all others, is on the page: "+
					"the page shows the shop as it was before they were added, read before this check began (a copy of the orders loaded when the app started?).",
					path, msg, len(d.orders)),
					"Every request must read the database: the back office shows each order as it is now. Pages or rows loaded into the app's memory at startup "+
						"or on a timer show what was true then. The fix for N+1 is fewer queries a request, not none.")
			}
			s.Fail(fmt.Sprintf("GET %s: %s\n(The checker had just created %d orders, newer than all others, with random customers and items: the page must be the %d newest, newest first, each with its customer and its items in the order they were added.)",
				path, msg, len(d.orders), len(want)), sameHint)
		}
	}
	// One order alone, through the same helpers.
	got, path := getOrder(s, appURL, d.single)
	if msg := compareOrder(got, d.orders[d.find(d.single)]); msg != "" {
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

// ---- fresh-data ------------------------------------------------------------

// change makes one round of changes to the checker's data, in one
// committed transaction, and says what it changed. Every kind of change a
// stale copy would miss: an item's quantity and price (the single order's
// among them), a status, a renamed customer, a renamed product; with
// items, a deleted item and an added one; with orders, a deleted order
// and new ones (every page shifts). Rounds without new orders defeat a
// cache that checks only count(*) or max(id) of orders (or of items)
// before serving its copy.
func (d *dataset) change(ctx context.Context, db *sqlx.DB, orders, items bool) ([]string, error) {
	var did []string
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()

	// Orders with items among the first n of the page.
	withItems := func(n int, not ...int64) []int {
		var out []int
		for i, o := range d.orders[:n] {
			if len(o.items()) > 0 && !slices.Contains(not, o.ID) {
				out = append(out, i)
			}
		}
		return out
	}

	// An order to delete, not the single one: among the large page.
	var gone int64
	for orders && (gone == 0 || gone == d.single) {
		gone = d.orders[checker.RandInt(1, largePage-1)].ID
	}

	// An item of the single order and one of another order of the
	// default page: new quantity and price.
	targets := []int{d.find(d.single)}
	if others := withItems(defaultPage, d.single, gone); len(others) > 0 {
		targets = append(targets, pick(others))
	}
	for _, i := range targets {
		o := &d.orders[i]
		j := rand.IntN(len(o.items()))
		it := &(*o.Items)[j]
		q, p := it.Quantity%5+1, it.UnitPriceCents+checker.RandInt(1, 900)
		if _, err := tx.ExecContext(ctx, `UPDATE order_items SET quantity = $1, unit_price_cents = $2 WHERE id = $3`, q, p, o.itemIDs[j]); err != nil {
			return nil, fmt.Errorf("update an item: %w", err)
		}
		did = append(did, fmt.Sprintf("order %d: item #%d now %d × at %d cents (was %d × at %d)", o.ID, j+1, q, p, it.Quantity, it.UnitPriceCents))
		it.Quantity, it.UnitPriceCents = q, p
		o.TotalCents = total(o.items())
	}

	// An item deleted (maybe the order's last: then "items": []).
	if cand := withItems(largePage, d.single, gone); items && len(cand) > 0 {
		o := &d.orders[pick(cand)]
		j := rand.IntN(len(o.items()))
		if _, err := tx.ExecContext(ctx, `DELETE FROM order_items WHERE id = $1`, o.itemIDs[j]); err != nil {
			return nil, fmt.Errorf("delete an item: %w", err)
		}
		did = append(did, fmt.Sprintf("order %d: item #%d (%s) deleted", o.ID, j+1, (*o.Items)[j].SKU))
		*o.Items = slices.Delete(*o.Items, j, j+1)
		o.itemIDs = slices.Delete(o.itemIDs, j, j+1)
		o.TotalCents = total(o.items())
	}

	// An item added, and a status changed (not on the order to delete).
	other := func() int {
		for {
			if i := checker.RandInt(0, largePage-1); d.orders[i].ID != gone {
				return i
			}
		}
	}
	if items {
		i := other()
		if err := d.addItem(ctx, tx, i); err != nil {
			return nil, err
		}
		did = append(did, fmt.Sprintf("order %d: item #%d added", d.orders[i].ID, len(d.orders[i].items())))
	}
	o := &d.orders[other()]
	st := pick(statuses)
	for st == o.Status {
		st = pick(statuses)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE orders SET status = $1 WHERE id = $2`, st, o.ID); err != nil {
		return nil, fmt.Errorf("update an order: %w", err)
	}
	did = append(did, fmt.Sprintf("order %d: status %s (was %s)", o.ID, st, o.Status))
	o.Status = st

	// A customer of the checker renamed, one with an order on the page.
	var mine []int
	for _, o := range d.orders[:largePage] {
		if slices.Contains(d.customerIDs, o.Customer.ID) && !slices.Contains(mine, o.Customer.ID) {
			mine = append(mine, o.Customer.ID)
		}
	}
	if len(mine) > 0 {
		id := pick(mine)
		cu := newCustomer()
		cu.ID = id
		if _, err := tx.ExecContext(ctx, `UPDATE customers SET name = $1, email = $2 WHERE id = $3`, cu.Name, cu.Email, id); err != nil {
			return nil, fmt.Errorf("update a customer: %w", err)
		}
		did = append(did, fmt.Sprintf("customer %d renamed %q", id, cu.Name))
		for k := range d.orders {
			if d.orders[k].Customer.ID == id {
				d.orders[k].Customer = cu
			}
		}
		for k := range d.customers {
			if d.customers[k].ID == id {
				d.customers[k] = cu
			}
		}
	}

	// A product of the checker renamed, one on the page.
	var used []int
	for _, o := range d.orders[:largePage] {
		for _, it := range o.items() {
			if !slices.Contains(used, it.ProductID) {
				used = append(used, it.ProductID)
			}
		}
	}
	if len(used) > 0 {
		id := pick(used)
		p := newProduct()
		p.id = id
		if _, err := tx.ExecContext(ctx, `UPDATE products SET sku = $1, name = $2 WHERE id = $3`, p.sku, p.name, id); err != nil {
			return nil, fmt.Errorf("update a product: %w", err)
		}
		did = append(did, fmt.Sprintf("product %d renamed %s %q", id, p.sku, p.name))
		for k := range d.products {
			if d.products[k].id == id {
				d.products[k] = p
			}
		}
		for k := range d.orders {
			for j := range d.orders[k].items() {
				if it := &(*d.orders[k].Items)[j]; it.ProductID == id {
					it.SKU, it.Name = p.sku, p.name
				}
			}
		}
	}

	if !orders {
		return did, tx.Commit()
	}

	// An order deleted (its items go with it).
	if _, err := tx.ExecContext(ctx, `DELETE FROM orders WHERE id = $1`, gone); err != nil {
		return nil, fmt.Errorf("delete an order: %w", err)
	}
	did = append(did, fmt.Sprintf("order %d deleted", gone))
	d.orders = slices.Delete(d.orders, d.find(gone), d.find(gone)+1)

	// One or two new orders, the newest of all: every page shifts.
	var added []string
	for k := range checker.RandInt(1, 2) {
		d.newest = d.newest.Add(3*time.Second + time.Duration(rand.IntN(2_000_000))*time.Microsecond).Truncate(time.Microsecond)
		o := order{Status: pick(statuses), CreatedAt: d.newest.UTC(), Customer: pick(d.customers), Items: &[]item{}}
		if err := tx.GetContext(ctx, &o.ID, `INSERT INTO orders (customer_id, status, created_at) VALUES ($1, $2, $3) RETURNING id`,
			o.Customer.ID, o.Status, o.CreatedAt); err != nil {
			return nil, fmt.Errorf("insert an order: %w", err)
		}
		d.orderIDs = append(d.orderIDs, o.ID)
		d.orders = append(d.orders, o)
		d.sortOrders()
		n := checker.RandInt(1, 3)
		if k == 1 {
			n = checker.RandInt(0, 2)
		}
		for range n {
			if err := d.addItem(ctx, tx, d.find(o.ID)); err != nil {
				return nil, err
			}
		}
		added = append(added, fmt.Sprintf("%d (%s)", o.ID, plural(n, "item")))
	}
	did = append(did, "new orders "+strings.Join(added, ", "))
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return did, nil
}

func sameOrders(a, b []order) bool {
	return len(a) == len(b) && comparePage(a, b) == ""
}

func checkFresh(s *checker.S, db *sqlx.DB, appURL string, d *dataset) {
	// What each page looked like when the app last served it: the pages
	// of same-response, asked again every round (a page size new in a
	// round is not asked again: those three already show a cache keyed by
	// URL or by size, and a slow page costs a second a request).
	shown := map[int][]order{}
	for n := range d.served {
		if n != defaultPage || !d.served[0] {
			shown[n] = d.page(n)
		}
	}
	again := slices.Sorted(maps.Keys(shown))
	shownSingle := d.orders[d.find(d.single)].clone()
	hint := "Every request must read the database: the back office shows each order as it is now, and the shop changes all the time. " +
		"Pages or rows kept in the app's memory (a map filled on first use, a copy of the orders loaded at startup or on the first request, " +
		"refreshed on a timer or never, a cache with a TTL, a cache dropped only when a new order comes in) show what was true when they were read. " +
		"The fix for N+1 is fewer queries a request, not none."
	asked := 0
	var newSizes []int
	for round := 1; round <= freshRounds; round++ {
		// Round 1 adds and deletes items, not orders; round 2 adds and
		// deletes orders too; round 3 only updates rows.
		did, err := d.change(s.Ctx(), db, round == 2, round <= 2)
		s.Must(err)
		s.Logf("round %d: %s", round, strings.Join(did, "; "))
		fresh, err := d.unseen(freshRange)
		s.Must(err)
		newSizes = append(newSizes, fresh)
		sizes := append([]int{fresh}, again...)
		changed := fmt.Sprintf("Round %d of %d: the checker changed its data and committed (%s); then it asked again.", round, freshRounds, strings.Join(did, "; "))
		for _, n := range sizes {
			got, path := getPage(s, appURL, d, n)
			want := d.page(n)
			asked++
			if msg := comparePage(got, want); msg != "" {
				why := "The page does not show the database as it is now."
				if old, ok := shown[n]; ok && sameOrders(got, old) {
					why = "It is, word for word, the page the app served before the change: it came from a copy kept in the app's memory, not from the database."
				} else if !ok {
					why = "The app had never been asked for this page size, yet the page is not what the database holds now: it was cut from a copy of the orders kept in the app's memory."
				}
				s.Fail(fmt.Sprintf("%s\nGET %s: %s\n%s", changed, path, msg, why), hint)
			}
			shown[n] = want
		}
		got, path := getOrder(s, appURL, d.single)
		asked++
		want := d.orders[d.find(d.single)]
		if msg := compareOrder(got, want); msg != "" {
			why := "The order does not show the database as it is now."
			if compareOrder(got, shownSingle) == "" {
				why = "It is, word for word, the order the app served before the change: it came from a copy kept in the app's memory, not from the database."
			}
			s.Fail(fmt.Sprintf("%s\nGET %s: %s\n%s", changed, path, msg, why), hint)
		}
		shownSingle = want.clone()
	}
	s.Passf("%d rounds: the checker changed its data (each round an item's quantity and price, a status, a renamed customer and product; "+
		"round 1 also added and deleted items, round 2 added and deleted orders), "+
		"then asked at once for the pages the app had served before (limit=%v, 0 for none), one page size it had never served (limit=%v) and GET /orders/%d: "+
		"all %d answers showed the database as it was at the request.", freshRounds, again, newSizes, d.single, asked)
}

// ---- constant-queries and reads-page ---------------------------------------

// statement is one query shape in pg_stat_statements, or what it did
// during one request.
type statement struct {
	QueryID int64  `db:"queryid"`
	Calls   int64  `db:"calls"`
	Rows    int64  `db:"rows"`
	Buffers int64  `db:"buffers"`
	Query   string `db:"query"`
}

// snapshot reads the counters of the app's role in this database.
func snapshot(ctx context.Context, db *sqlx.DB, role string) (map[int64]statement, error) {
	var rows []statement
	err := db.SelectContext(ctx, &rows, `
		SELECT coalesce(queryid, 0) AS queryid, calls, rows,
		       shared_blks_hit + shared_blks_read + local_blks_hit + local_blks_read + temp_blks_read AS buffers, query
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

// counted is what one request for a page of n orders (holding items items)
// ran.
type counted struct {
	n, items             int
	total, rows, buffers int64
	stmts                []statement // during the request, most calls first
}

func (c counted) lines() []string {
	var out []string
	for _, st := range c.stmts {
		out = append(out, fmt.Sprintf("%4d × %s  (%d rows, %d buffers)", st.Calls, shorten(st.Query), st.Rows, st.Buffers))
	}
	return out
}

// bounds of reads-page for this page.
func (c counted) maxRows() int64    { return int64(rowsPerRow*(c.n+c.items) + rowsSlack) }
func (c counted) maxBuffers() int64 { return int64(buffersPerRow*(c.n+c.items) + buffersSlack) }

func (c counted) statementsOK() bool { return c.total >= 1 && c.total <= maxStatements }
func (c counted) readsOK() bool      { return c.rows <= c.maxRows() && c.buffers <= c.maxBuffers() }

func shorten(q string) string {
	q = strings.Join(strings.Fields(q), " ")
	if len(q) > 140 {
		q = q[:137] + "..."
	}
	return q
}

// count runs GET /orders?limit=n for a page size in r that the app has
// never served, and returns what the app's role ran meanwhile. A request
// above the bounds is measured again on another new page size and the
// better kept, so that a stray statement from a psql session cannot make a
// fix fail.
func count(s *checker.S, db *sqlx.DB, appURL, role string, d *dataset, r [2]int) counted {
	var best counted
	for try := range 2 {
		if try == 1 && best.statementsOK() && best.readsOK() {
			break
		}
		n, err := d.unseen(r)
		s.Must(err)
		before, err := snapshot(s.Ctx(), db, role)
		s.Must(err)
		got, path := getPage(s, appURL, d, n)
		after, err := snapshot(s.Ctx(), db, role)
		s.Must(err)
		if msg := comparePage(got, d.page(n)); msg != "" {
			// Wrong, but fresh-data says so: this step only counts.
			s.Logf("GET %s: %s", path, msg)
		}
		c := counted{n: n, items: d.items(n)}
		for id, a := range after {
			b := before[id]
			if dc := a.Calls - b.Calls; dc > 0 {
				st := statement{QueryID: id, Calls: dc, Rows: a.Rows - b.Rows, Buffers: a.Buffers - b.Buffers, Query: a.Query}
				c.total += st.Calls
				c.rows += st.Rows
				c.buffers += st.Buffers
				c.stmts = append(c.stmts, st)
			}
		}
		slices.SortFunc(c.stmts, func(a, b statement) int {
			if a.Calls != b.Calls {
				return int(b.Calls - a.Calls)
			}
			return strings.Compare(a.Query, b.Query)
		})
		better := func(a, b counted) bool { // a better than b
			if a.statementsOK() != b.statementsOK() {
				return a.statementsOK()
			}
			if a.readsOK() != b.readsOK() {
				return a.readsOK()
			}
			return a.total < b.total
		}
		if try == 0 || better(c, best) {
			best = c
		}
	}
	return best
}

// measured is what constant-queries counted, for reads-page and faster.
type measured struct {
	small, large counted
	done         bool
}

// checkStatements counts the statements of one request for a small and a
// large page, both of sizes never served before, into m.
func checkStatements(s *checker.S, db *sqlx.DB, appURL, role string, d *dataset, m *measured) {
	m.small = count(s, db, appURL, role, d, smallCountRange)
	m.large = count(s, db, appURL, role, d, largeCountRange)
	m.done = true
	small, large := m.small, m.large
	s.Metric("statements_small_page", float64(small.total), "statements")
	s.Metric("statements_large_page", float64(large.total), "statements")
	s.Data("statements_large_page", large.lines())

	breakdown := fmt.Sprintf("For limit=%d PostgreSQL ran (pg_stat_statements, calls during the request):\n%s", large.n, strings.Join(large.lines(), "\n"))
	if small.total == 0 || large.total == 0 {
		s.Fail(fmt.Sprintf("GET /orders?limit=%d ran %d SQL statements and GET /orders?limit=%d ran %d, page sizes the app had never been asked for: "+
			"a page answered without a single statement was not read from the database, but cut from a copy of the orders kept in the app's memory "+
			"(fresh-data shows what such a copy serves once the data changes). 1 to %d statements a request expected.",
			small.n, small.total, large.n, large.total, maxStatements),
			"Remove the copy and read each page from the database, in a few queries: JOIN customers into the orders query, and fetch the items of all the page's orders "+
				"(with their products) in one query, WHERE order_id = ANY($1) with pq.Array(ids), then attach them to their orders in Go.")
	}
	if large.total > maxStatements || small.total > maxStatements || large.total > small.total {
		var per []string
		for _, st := range large.stmts {
			switch st.Calls {
			case int64(large.n):
				per = append(per, fmt.Sprintf("%s runs once per order", what(st.Query)))
			case int64(large.items):
				per = append(per, fmt.Sprintf("%s runs once per item (%d items on the page)", what(st.Query), large.items))
			}
		}
		why := "the count grows with the page size"
		if len(per) > 0 {
			why = strings.Join(per, "; ")
		}
		s.Fail(fmt.Sprintf("GET /orders?limit=%d ran %d SQL statements and GET /orders?limit=%d ran %d: %s. "+
			"At most %d expected, the same for any page size.\n%s",
			small.n, small.total, large.n, large.total, why, maxStatements, breakdown),
			"Load what the page needs for all its orders at once: JOIN customers into the orders query, and fetch the items of all the page's orders "+
				"(with their products) in one query, WHERE order_id = ANY($1) with pq.Array(ids), then attach them to their orders in Go.")
	}
	s.Passf("GET /orders?limit=%d ran %d SQL statements and GET /orders?limit=%d ran %d (page sizes the app had never served; counted by PostgreSQL in pg_stat_statements): "+
		"a constant, whatever the page size.\n%s", small.n, small.total, large.n, large.total, breakdown)
}

// checkReads bounds the rows and buffers of the requests constant-queries
// measured: a page must read about its own rows, not whole tables.
func checkReads(s *checker.S, m *measured) {
	if m == nil || !m.done {
		s.Fail("Not measured: the requests of constant-queries did not complete (see that step).", "")
	}
	for _, p := range []struct {
		name string
		c    counted
	}{{"small", m.small}, {"large", m.large}} {
		s.Metric("rows_"+p.name+"_page", float64(p.c.rows), "rows")
		s.Metric("buffers_"+p.name+"_page", float64(p.c.buffers), "buffers")
	}
	for _, c := range []counted{m.small, m.large} {
		if c.readsOK() {
			continue
		}
		var big []string
		for _, st := range c.stmts {
			if st.Rows > int64(rowsPerRow*(c.n+c.items)) || st.Buffers > int64(buffersPerRow*(c.n+c.items)) {
				big = append(big, fmt.Sprintf("%s (%d rows, %d buffers)", shorten(st.Query), st.Rows, st.Buffers))
			}
		}
		s.Fail(fmt.Sprintf("GET /orders?limit=%d (a page of %d orders with %d items) made PostgreSQL return %d rows and touch %d buffers of 8 kB; "+
			"at most %d rows and %d buffers expected for a page that size. The statements that read too much:\n%s\n"+
			"They read whole tables, not the page: a constant number of statements, but each request grows with the shop instead of with the page.",
			c.n, c.n, c.items, c.rows, c.buffers, c.maxRows(), c.maxBuffers(), strings.Join(big, "\n")),
			"Let the database pick the rows: LIMIT the orders query to the page size (not a fixed or no LIMIT, sliced in Go), and select only the items of the page's orders "+
				"(WHERE order_id = ANY($1), or a JOIN with the page). EXPLAIN (ANALYZE, BUFFERS) each query in psql to see what it reads.")
	}
	what := "the page's own rows, not whole tables"
	if m.small.total == 0 || m.large.total == 0 {
		what = "nothing read from the database for some of them (constant-queries says why), and no whole table either"
	}
	s.Passf("GET /orders?limit=%d: %d rows returned, %d buffers touched; GET /orders?limit=%d: %d rows, %d buffers (pg_stat_statements): %s.",
		m.small.n, m.small.rows, m.small.buffers, m.large.n, m.large.rows, m.large.buffers, what)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
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

// replay loads a page of n orders the starter's way, one statement per
// order and per item, over one connection of the checker: the N+1
// pattern's cost without the app around it.
func replay(ctx context.Context, conn *sqlx.Conn, n int) (time.Duration, int, error) {
	start := time.Now()
	statements := 1
	type row struct {
		ID         int64     `db:"id"`
		CustomerID int       `db:"customer_id"`
		Status     string    `db:"status"`
		CreatedAt  time.Time `db:"created_at"`
	}
	var orders []row
	if err := conn.SelectContext(ctx, &orders, ordersSQL, n); err != nil {
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

// timeRequest times GET /orders?limit=n, body included, and (strict)
// checks that the page has n orders: an app whose pages are right
// elsewhere must not answer the timed ones with less. (When same-response
// failed, the page's length is already known to be wrong.)
func timeRequest(s *checker.S, appURL string, n int, strict bool) time.Duration {
	path := pagePath(n)
	start := time.Now()
	var got page
	status, err := checker.GetJSON(s.Ctx(), appURL+path, &got)
	d := time.Since(start)
	if err != nil || status != 200 {
		s.Fail(fmt.Sprintf("GET %s answered %d (%v) while it was timed; 200 expected.", path, status, err), "See the steps above.")
	}
	if len(got.Orders) != n && strict {
		s.Fail(fmt.Sprintf("GET %s returned %d orders while it was timed; %d expected.", path, len(got.Orders), n), "See the steps above.")
	}
	return d
}

// checkLatency times pages of about 60 orders against the N+1 pattern
// replayed by the checker for the same page; statements is what the app
// ran for constant-queries' large page (-1: unknown). Every timed request
// is a page size the app has never served: a page cache cannot answer it.
func checkLatency(s *checker.S, db *sqlx.DB, appURL string, statements int, d *dataset, strict bool) {
	ctx := s.Ctx()
	conn, err := db.Connx(ctx)
	s.Must(err)
	defer conn.Close()
	next := func() int {
		n, err := d.unseen(timedRange)
		s.Must(err)
		d.served[n] = true
		return n
	}
	// Warm both up, then alternate so that a burst of load on the machine
	// hits both alike. A very slow page gets fewer rounds.
	n := next()
	timeRequest(s, appURL, n, strict)
	_, _, err = replay(ctx, conn, n)
	s.Must(err)
	// The speed-up is the median of the ratios of each round: the two
	// timings of a round, taken one right after the other, share the load
	// of the machine.
	var app, base []time.Duration
	var ratios []float64
	var sizes []int
	replayed := 0
	start := time.Now()
	for len(app) < rounds && (len(app) < 3 || time.Since(start) < 3*time.Second) {
		n := next()
		a := timeRequest(s, appURL, n, strict)
		b, st, err := replay(ctx, conn, n)
		s.Must(err)
		app, base = append(app, a), append(base, b)
		ratios = append(ratios, float64(b)/float64(a))
		sizes = append(sizes, n)
		replayed += st
	}
	replayed /= len(app)
	slices.Sort(sizes)
	pages := fmt.Sprintf("pages of %d to %d orders, each a size never served before", sizes[0], sizes[len(sizes)-1])
	appMs, baseMs := ms(checker.Median(app)), ms(checker.Median(base))
	slices.Sort(ratios)
	speedup := ratios[len(ratios)/2]
	s.Metric("latency_ms_page", appMs, "ms")
	s.Metric("latency_ms_page_max", ms(slices.Max(app)), "ms")
	s.Metric("n_plus_one_ms", baseMs, "ms")
	s.Metric("speedup", speedup, "x")
	if speedup < minSpeedup {
		hint := "Count the statements first (the step above): every statement is a round trip to the database, and the page pays them one after another."
		if statements >= 1 && statements <= maxStatements {
			hint = "The statements are few, so look at what they read: EXPLAIN (ANALYZE, BUFFERS) each query of the page in psql. " +
				"A query that reads a whole table (all of order_items) and filters in Go is constant in statements but grows with the shop; " +
				"select only the rows of the page's orders (WHERE order_id = ANY($1), or a JOIN with the page)."
		}
		rel := fmt.Sprintf("%.1fx as fast", speedup)
		if speedup < 1 {
			rel = fmt.Sprintf("%.1fx slower", 1/speedup)
		}
		s.Fail(fmt.Sprintf("GET /orders takes %.1f ms (median of %d requests, %s); loading the same pages the N+1 way (%d statements a page on average, one per order and per item, "+
			"replayed by the checker over one connection) takes %.1f ms: the page is %s (median of the rounds); at least %.1fx faster expected.",
			appMs, len(app), pages, replayed, baseMs, rel, minSpeedup), hint)
	}
	s.Passf("GET /orders takes %.1f ms (median of %d requests, %s; HTTP and JSON included); the same pages loaded the N+1 way "+
		"(%d statements a page on average, replayed by the checker over one connection) take %.1f ms: %.1fx faster (median of the rounds).",
		appMs, len(app), pages, replayed, baseMs, speedup)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
