package main

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Order is one order as the API shows it.
type Order struct {
	ID         int64     `json:"id"`
	CustomerID int       `json:"customer_id"`
	Status     string    `json:"status"`
	TotalCents int       `json:"total_cents"`
	Currency   string    `json:"currency"`
	Note       *string   `json:"note"`
	CreatedAt  time.Time `json:"created_at"`
}

// store holds the SQL of the service.
type store struct {
	db *sql.DB
}

var errNotFound = errors.New("not found")

// recentOrders returns a customer's latest orders, newest first. It backs
// the "My orders" page of the shop, the busiest page after the home page.
func (s *store) recentOrders(ctx context.Context, customerID, limit int) ([]Order, error) {
	rows, err := s.db.QueryContext(ctx, `
		SELECT id, customer_id, status, total_cents, currency, note, created_at
		FROM orders
		WHERE customer_id = $1
		ORDER BY created_at DESC
		LIMIT $2`, customerID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	orders := []Order{}
	for rows.Next() {
		var o Order
		if err := rows.Scan(&o.ID, &o.CustomerID, &o.Status, &o.TotalCents, &o.Currency, &o.Note, &o.CreatedAt); err != nil {
			return nil, err
		}
		orders = append(orders, o)
	}
	return orders, rows.Err()
}

// customerExists reports whether the customer is known.
func (s *store) customerExists(ctx context.Context, id int) (bool, error) {
	var exists bool
	err := s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM customers WHERE id = $1)`, id).Scan(&exists)
	return exists, err
}

// order returns one order by its id.
func (s *store) order(ctx context.Context, id int64) (Order, error) {
	var o Order
	err := s.db.QueryRowContext(ctx, `
		SELECT id, customer_id, status, total_cents, currency, note, created_at
		FROM orders
		WHERE id = $1`, id).
		Scan(&o.ID, &o.CustomerID, &o.Status, &o.TotalCents, &o.Currency, &o.Note, &o.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return o, errNotFound
	}
	return o, err
}

// createOrder stores a new pending order.
func (s *store) createOrder(ctx context.Context, customerID, totalCents int, note *string) (Order, error) {
	o := Order{CustomerID: customerID, Status: "pending", TotalCents: totalCents, Currency: "EUR", Note: note}
	err := s.db.QueryRowContext(ctx, `
		INSERT INTO orders (customer_id, status, total_cents, currency, note)
		VALUES ($1, 'pending', $2, 'EUR', $3)
		RETURNING id, created_at`, customerID, totalCents, note).Scan(&o.ID, &o.CreatedAt)
	return o, err
}
