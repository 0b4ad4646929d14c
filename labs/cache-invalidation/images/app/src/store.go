package main

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Product is a product page as the API shows it.
type Product struct {
	ID         int64     `json:"id"`
	SKU        string    `json:"sku"`
	Name       string    `json:"name"`
	PriceCents int       `json:"price_cents"`
	Currency   string    `json:"currency"`
	Rating     Rating    `json:"rating"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Rating sums up a product's reviews.
type Rating struct {
	Average float64 `json:"average"` // 0 when there is no review
	Count   int     `json:"count"`
}

var errNotFound = errors.New("not found")

// productPageSQL builds a product page: the product and the summary of all
// its reviews. Popular products have thousands of reviews, which makes this
// the most expensive query of the shop, and the product page is by far its
// busiest page: hence the cache in catalog.go.
const productPageSQL = `
	SELECT p.id, p.sku, p.name, p.price_cents, p.currency, p.updated_at,
	       coalesce(round(avg(r.rating), 2), 0)::float8, count(r.id)
	FROM products p
	LEFT JOIN reviews r ON r.product_id = p.id
	WHERE p.id = $1
	GROUP BY p.id`

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// loadProduct reads a product page from the database.
func loadProduct(ctx context.Context, q querier, id int64) (Product, error) {
	var p Product
	err := q.QueryRowContext(ctx, productPageSQL, id).Scan(
		&p.ID, &p.SKU, &p.Name, &p.PriceCents, &p.Currency, &p.UpdatedAt, &p.Rating.Average, &p.Rating.Count)
	if errors.Is(err, sql.ErrNoRows) {
		return p, errNotFound
	}
	return p, err
}

// updatePrice changes a product's price in the database.
func updatePrice(ctx context.Context, q querier, id int64, priceCents int) error {
	var found int64
	err := q.QueryRowContext(ctx, `
		UPDATE products SET price_cents = $2, updated_at = now()
		WHERE id = $1
		RETURNING id`, id, priceCents).Scan(&found)
	if errors.Is(err, sql.ErrNoRows) {
		return errNotFound
	}
	return err
}
