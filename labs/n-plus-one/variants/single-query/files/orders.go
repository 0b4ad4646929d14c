package main

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Order is one order as the API shows it: with its customer, its line
// items (in the order they were added) and its total.
type Order struct {
	ID         int64     `json:"id"`
	Status     string    `json:"status"`
	CreatedAt  time.Time `json:"created_at"`
	Customer   Customer  `json:"customer"`
	Items      []Item    `json:"items"`
	TotalCents int       `json:"total_cents"`

	customerID int
}

// Customer is who placed an order.
type Customer struct {
	ID    int    `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

// Item is one line of an order. UnitPriceCents is the price the customer
// paid, which may differ from the product's price today.
type Item struct {
	ProductID      int    `json:"product_id"`
	SKU            string `json:"sku"`
	Name           string `json:"name"`
	Quantity       int    `json:"quantity"`
	UnitPriceCents int    `json:"unit_price_cents"`
}

// store holds the SQL of the service.
type store struct {
	db *sql.DB
}

var errNotFound = errors.New("not found")

// recentOrders returns the newest orders, newest first, each with its
// customer and items. It backs the back office's "Recent orders" screen,
// which asks for 50 at a time.
//
// One statement: the page of orders is chosen first (LIMIT counts orders,
// not rows of the join), then joined with customers, and LEFT JOINed with
// items and products so that an order without items stays in the page.
func (s *store) recentOrders(ctx context.Context, limit int) ([]Order, error) {
	rows, err := s.db.QueryContext(ctx, `
		WITH page AS (
			SELECT id, customer_id, status, created_at
			FROM orders
			ORDER BY created_at DESC, id DESC
			LIMIT $1
		)
		SELECT o.id, o.status, o.created_at, c.id, c.name, c.email,
		       p.id, p.sku, p.name, oi.quantity, oi.unit_price_cents
		FROM page o
		JOIN customers c ON c.id = o.customer_id
		LEFT JOIN order_items oi ON oi.order_id = o.id
		LEFT JOIN products p ON p.id = oi.product_id
		ORDER BY o.created_at DESC, o.id DESC, oi.id`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	orders := []Order{}
	for rows.Next() {
		var o Order
		var productID, quantity, price sql.NullInt64
		var sku, name sql.NullString
		if err := rows.Scan(&o.ID, &o.Status, &o.CreatedAt, &o.Customer.ID, &o.Customer.Name, &o.Customer.Email,
			&productID, &sku, &name, &quantity, &price); err != nil {
			return nil, err
		}
		if n := len(orders); n == 0 || orders[n-1].ID != o.ID {
			o.customerID = o.Customer.ID
			o.Items = []Item{}
			orders = append(orders, o)
		}
		if productID.Valid {
			last := &orders[len(orders)-1]
			last.Items = append(last.Items, Item{ProductID: int(productID.Int64), SKU: sku.String, Name: name.String,
				Quantity: int(quantity.Int64), UnitPriceCents: int(price.Int64)})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range orders {
		orders[i].TotalCents = total(orders[i].Items)
	}
	return orders, nil
}

// order returns one order by its id, with its customer and items.
func (s *store) order(ctx context.Context, id int64) (Order, error) {
	var o Order
	err := s.db.QueryRowContext(ctx, `
		SELECT id, customer_id, status, created_at
		FROM orders
		WHERE id = $1`, id).Scan(&o.ID, &o.customerID, &o.Status, &o.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return o, errNotFound
	}
	if err != nil {
		return o, err
	}
	return o, s.fill(ctx, &o)
}

// fill loads an order's customer and items and computes its total.
func (s *store) fill(ctx context.Context, o *Order) error {
	var err error
	if o.Customer, err = s.customer(ctx, o.customerID); err != nil {
		return err
	}
	if o.Items, err = s.items(ctx, o.ID); err != nil {
		return err
	}
	o.TotalCents = total(o.Items)
	return nil
}

// customer returns one customer by id.
func (s *store) customer(ctx context.Context, id int) (Customer, error) {
	var c Customer
	err := s.db.QueryRowContext(ctx, `
		SELECT id, name, email
		FROM customers
		WHERE id = $1`, id).Scan(&c.ID, &c.Name, &c.Email)
	return c, err
}

// items returns the line items of one order, in the order they were added.
func (s *store) items(ctx context.Context, orderID int64) ([]Item, error) {
	rows, err := s.db.QueryContext(ctx, `
		SELECT product_id, quantity, unit_price_cents
		FROM order_items
		WHERE order_id = $1
		ORDER BY id`, orderID)
	if err != nil {
		return nil, err
	}
	items := []Item{}
	for rows.Next() {
		var it Item
		if err := rows.Scan(&it.ProductID, &it.Quantity, &it.UnitPriceCents); err != nil {
			rows.Close()
			return nil, err
		}
		items = append(items, it)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range items {
		if items[i].SKU, items[i].Name, err = s.product(ctx, items[i].ProductID); err != nil {
			return nil, err
		}
	}
	return items, nil
}

// product returns the SKU and name of one product.
func (s *store) product(ctx context.Context, id int) (sku, name string, err error) {
	err = s.db.QueryRowContext(ctx, `
		SELECT sku, name
		FROM products
		WHERE id = $1`, id).Scan(&sku, &name)
	return sku, name, err
}

// total is what an order costs: quantity times the price paid, summed.
func total(items []Item) int {
	sum := 0
	for _, it := range items {
		sum += it.Quantity * it.UnitPriceCents
	}
	return sum
}
