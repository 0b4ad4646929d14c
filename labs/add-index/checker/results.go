package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/backlab/backlab/runner/checker"
)

// sentOrder is an order as the API must show it: one the checker inserted,
// or one the database holds.
type sentOrder struct {
	ID         int64     `db:"id"`
	Status     string    `db:"status"`
	TotalCents int       `db:"total_cents"`
	Note       *string   `db:"note"`
	CreatedAt  time.Time `db:"created_at"`
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

// checkResults is the step results-unchanged (see main). It inserts a
// fresh customer with random orders, asks the app for pages of their
// orders and compares with what it inserted, then removes them; and it
// compares the page of a customer of the shop's data with the database,
// read without any index.
func checkResults(s *checker.S, db, baseline *sqlx.DB, appURL string, seedCustomer int) {
	ctx := s.Ctx()
	// The checker adds its customer as the shop would: if that fails, the
	// tables were changed (data-intact says how), which is the learner's
	// doing, not the checker's.
	insertFailed := func(what string, err error) {
		s.Fail(fmt.Sprintf("The checker could not %s: %s.", what, pgMessage(err)),
			"The fix must leave the tables as the shop uses them: it adds an index and changes no column or constraint.")
	}
	tag := checker.RandString(10)
	var customer int
	if err := db.GetContext(ctx, &customer,
		`INSERT INTO customers (name, email) VALUES ($1, $2) RETURNING id`, "Checker "+tag, "checker-"+tag+"@example.test"); err != nil {
		insertFailed("add a customer", err)
	}
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
		// Distinct random times in the last two years, to the microsecond,
		// inserted in random order.
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
		if err := tx.GetContext(ctx, &o.ID, `INSERT INTO orders (customer_id, status, total_cents, note, created_at)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`, customer, o.Status, o.TotalCents, o.Note, o.CreatedAt); err != nil {
			insertFailed("add an order", err)
		}
		sent = append(sent, o)
	}
	if err := tx.Commit(); err != nil {
		insertFailed("add its orders", err)
	}
	slices.SortFunc(sent, func(a, b sentOrder) int { return b.CreatedAt.Compare(a.CreatedAt) })

	// A page smaller than the customer's orders, the default page, and one
	// larger than all of them: a query that lost its WHERE, its ORDER BY or
	// its LIMIT $2 returns other rows on one of them.
	limit := checker.RandInt(1, n-1)
	for _, page := range []struct {
		path string
		want int
	}{
		{fmt.Sprintf("/customers/%d/orders?limit=%d", customer, limit), limit},
		{fmt.Sprintf("/customers/%d/orders", customer), pageSize},
		{fmt.Sprintf("/customers/%d/orders?limit=100", customer), n},
	} {
		got := getPage(s, appURL, page.path, fmt.Sprintf("the checker had just created this customer with %d orders", n))
		if msg := compare(got, sent[:page.want], customer); msg != "" {
			s.Fail(fmt.Sprintf("GET %s: %s (the checker created customer %d with %d random orders and expected the %d newest, newest first).",
				page.path, msg, customer, n, page.want),
				"An index never changes what a query returns: if the results differ, the query or the Go code changed. Compare orders.go with the original (the query must stay WHERE customer_id = $1 ORDER BY created_at DESC LIMIT $2).")
		}
	}

	// A new order through the API, then the default page again: it must
	// come first (an app that keeps pages or rows in memory serves the old
	// page), and GET /orders/{id} must show it.
	created := postOrder(s, appURL, customer)
	want := append([]sentOrder{created}, sent[:pageSize-1]...)
	path := fmt.Sprintf("/customers/%d/orders", customer)
	got := getPage(s, appURL, path, fmt.Sprintf("the checker had just created this customer with %d orders, and one more through POST", n))
	if msg := compare(got, want, customer); msg != "" {
		s.Fail(fmt.Sprintf("After POST %s created order %d, GET %s: %s (expected the new order first, then the %d newest of the checker's).", path, created.ID, path, msg, pageSize-1),
			"The page must show what the database holds at the time of the request: the fix is an index, not a copy of the data kept in the app.")
	}
	one := getOrder(s, appURL, created.ID)
	if msg := compare(apiOrders{Orders: one.Orders}, []sentOrder{created}, customer); msg != "" {
		s.Fail(fmt.Sprintf("GET /orders/%d: %s.", created.ID, msg), "GET /orders/{id} must show the order POST created.")
	}

	// A customer of the shop's data, against the database read without
	// indexes (whatever data-intact found about the rows themselves).
	var exists bool
	s.Must(baseline.GetContext(ctx, &exists, `SELECT EXISTS (SELECT 1 FROM customers WHERE id = $1)`, seedCustomer))
	seedNote := ""
	if exists {
		var want []sentOrder
		if err := baseline.SelectContext(ctx, &want, `SELECT id, status, total_cents, note, created_at FROM orders
			WHERE customer_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2`, seedCustomer, pageSize); err != nil {
			insertFailed(fmt.Sprintf("read the orders of customer %d", seedCustomer), err)
		}
		path := fmt.Sprintf("/customers/%d/orders", seedCustomer)
		got := getPage(s, appURL, path, fmt.Sprintf("customer %d is one of the shop's customers", seedCustomer))
		if msg := compare(got, want, seedCustomer); msg != "" {
			s.Fail(fmt.Sprintf("GET %s: %s (the database, read without any index, holds these %d newest orders of the customer).", path, msg, len(want)),
				"An index never changes what a query returns: compare orders.go with the original (WHERE customer_id = $1 ORDER BY created_at DESC LIMIT $2).")
		}
		seedNote = fmt.Sprintf("; and GET %s returned the customer's %d newest orders as the database holds them", path, len(want))
	}
	s.Passf("For a new customer with %d random orders, GET /customers/%d/orders?limit=%d, the default page and ?limit=100 returned exactly the %d, %d and %d newest orders, newest first; an order created with POST then came first on the page and GET /orders/%d showed it%s.",
		n, customer, limit, limit, pageSize, n, created.ID, seedNote)
}

// getPage GETs one page of orders, failing the step when the app does not
// answer 200 with JSON.
func getPage(s *checker.S, appURL, path, context string) apiOrders {
	var got apiOrders
	status, err := checker.GetJSON(s.Ctx(), appURL+path, &got)
	if err != nil {
		s.Fail(fmt.Sprintf("GET %s failed: %v", path, err),
			"The app did not answer as before. Run make build in ~/app and look at the app's output; then curl the endpoint yourself.")
	}
	if status != 200 {
		s.Fail(fmt.Sprintf("GET %s answered %d; 200 with the customer's orders expected (%s).", path, status, context),
			"The index should change nothing the app returns. Did the Go code change? curl the endpoint yourself.")
	}
	return got
}

// postOrder creates an order through the API, as the shop's front end
// does, and returns it as the page must show it.
func postOrder(s *checker.S, appURL string, customer int) sentOrder {
	note := "checker " + checker.RandString(8)
	o := sentOrder{Status: "pending", TotalCents: checker.RandInt(100, 99999), Note: &note}
	body, _ := json.Marshal(map[string]any{"total_cents": o.TotalCents, "note": note})
	path := fmt.Sprintf("/customers/%d/orders", customer)
	req, err := http.NewRequestWithContext(s.Ctx(), http.MethodPost, appURL+path, bytes.NewReader(body))
	s.Must(err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := checker.HTTPClient.Do(req)
	if err != nil {
		s.Fail(fmt.Sprintf("POST %s failed: %v", path, err), "The app did not answer as before: look at its output.")
	}
	defer resp.Body.Close()
	var got struct {
		ID        int64     `json:"id"`
		CreatedAt time.Time `json:"created_at"`
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(raw, &got) != nil || got.ID == 0 {
		s.Fail(fmt.Sprintf("POST %s with %s answered %d %s; 201 with the new order expected.", path, body, resp.StatusCode, strings.TrimSpace(string(raw))),
			"Creating an order must work as before: the fix adds an index and changes nothing else.")
	}
	o.ID, o.CreatedAt = got.ID, got.CreatedAt
	return o
}

// getOrder GETs /orders/{id}.
func getOrder(s *checker.S, appURL string, id int64) apiOrders {
	var one struct {
		ID         int64     `json:"id"`
		CustomerID int       `json:"customer_id"`
		Status     string    `json:"status"`
		TotalCents int       `json:"total_cents"`
		Note       *string   `json:"note"`
		CreatedAt  time.Time `json:"created_at"`
	}
	path := fmt.Sprintf("/orders/%d", id)
	status, err := checker.GetJSON(s.Ctx(), appURL+path, &one)
	if err != nil || status != 200 {
		s.Fail(fmt.Sprintf("GET %s answered %d (%v); 200 with the order just created expected.", path, status, err),
			"GET /orders/{id} must work as before: the fix adds an index and changes nothing else.")
	}
	var page apiOrders
	page.Orders = append(page.Orders, one)
	return page
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
				i+1, g.ID, g.CreatedAt.UTC().Format(time.RFC3339), w.ID, w.CreatedAt.UTC().Format(time.RFC3339))
		case g.CustomerID != customer:
			return fmt.Sprintf("order %d has customer_id %d; expected %d", g.ID, g.CustomerID, customer)
		case g.Status != w.Status || g.TotalCents != w.TotalCents:
			return fmt.Sprintf("order %d is %s for %d cents; expected %s for %d cents", g.ID, g.Status, g.TotalCents, w.Status, w.TotalCents)
		case !g.CreatedAt.Equal(w.CreatedAt):
			return fmt.Sprintf("order %d was created at %s; expected %s", g.ID, g.CreatedAt.UTC().Format(time.RFC3339Nano), w.CreatedAt.UTC().Format(time.RFC3339Nano))
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
