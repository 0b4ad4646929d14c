package main

import (
	"context"
	"database/sql"

	"github.com/redis/go-redis/v9"
)

// catalog is the shop's product service. The cache served stale prices, so
// it is gone: every page comes straight from the database.
type catalog struct {
	db    *sql.DB
	cache *redis.Client // only pinged by /healthz now
}

// Product returns a product's page.
func (c *catalog) Product(ctx context.Context, id int64) (Product, error) {
	return loadProduct(ctx, c.db, id)
}

// SetPrice changes a product's price and returns the updated page.
func (c *catalog) SetPrice(ctx context.Context, id int64, priceCents int) (Product, error) {
	if err := updatePrice(ctx, c.db, id, priceCents); err != nil {
		return Product{}, err
	}
	return loadProduct(ctx, c.db, id)
}
