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
// Two statements: the page of orders with their customers, then every
// item with its product, kept for the orders of the page. (Wrong: a
// constant number of statements, but the second one reads all of
// order_items, and grows with the shop instead of with the page.)
func (s *store) recentOrders(ctx context.Context, limit int) ([]Order, error) {
	rows, err := s.db.QueryContext(ctx, `
		SELECT o.id, o.status, o.created_at, c.id, c.name, c.email
		FROM orders o
		JOIN customers c ON c.id = o.customer_id
		ORDER BY o.created_at DESC, o.id DESC
		LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	orders := []Order{}
	byID := map[int64]int{}
	for rows.Next() {
		o := Order{Items: []Item{}}
		if err := rows.Scan(&o.ID, &o.Status, &o.CreatedAt, &o.Customer.ID, &o.Customer.Name, &o.Customer.Email); err != nil {
			rows.Close()
			return nil, err
		}
		o.customerID = o.Customer.ID
		byID[o.ID] = len(orders)
		orders = append(orders, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	rows, err = s.db.QueryContext(ctx, `
		SELECT oi.order_id, oi.product_id, p.sku, p.name, oi.quantity, oi.unit_price_cents
		FROM order_items oi
		JOIN products p ON p.id = oi.product_id
		ORDER BY oi.order_id, oi.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var orderID int64
		var it Item
		if err := rows.Scan(&orderID, &it.ProductID, &it.SKU, &it.Name, &it.Quantity, &it.UnitPriceCents); err != nil {
			return nil, err
		}
		if i, ok := byID[orderID]; ok {
			orders[i].Items = append(orders[i].Items, it)
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
