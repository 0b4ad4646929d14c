package main

import (
	"context"
	"database/sql"
	"errors"
)

// Product is one product of the catalog.
type Product struct {
	SKU        string
	Name       string
	PriceCents int64  // in Currency
	Currency   string // the catalog's currency: USD
}

// catalog reads products from PostgreSQL.
type catalog struct {
	db *sql.DB
}

var errNotFound = errors.New("not found")

// product returns the product with the given SKU.
func (c *catalog) product(ctx context.Context, sku string) (Product, error) {
	var p Product
	err := c.db.QueryRowContext(ctx,
		`SELECT sku, name, price_cents, currency FROM products WHERE sku = $1`, sku,
	).Scan(&p.SKU, &p.Name, &p.PriceCents, &p.Currency)
	if errors.Is(err, sql.ErrNoRows) {
		return p, errNotFound
	}
	return p, err
}
