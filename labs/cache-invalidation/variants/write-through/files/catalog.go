package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"log"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"
)

// catalog is the shop's product service. Product pages are kept in Redis:
// a read looks there first and builds the page from PostgreSQL on a miss
// (cache-aside); a write stores the new page in Redis (write-through), so
// that even the first read after a price change is a hit.
type catalog struct {
	db     *sql.DB
	cache  *redis.Client
	builds singleflight.Group // one build per missing page at a time
}

// pageTTL bounds how long a page lives in Redis, should anything ever
// leave a wrong one there.
const pageTTL = 5 * time.Minute

// cacheKey is the Redis key of a product's page: product:42.
func cacheKey(id int64) string { return "product:" + strconv.FormatInt(id, 10) }

// Product returns a product's page, from the cache when it is there.
func (c *catalog) Product(ctx context.Context, id int64) (Product, error) {
	key := cacheKey(id)
	if p, ok := c.cached(ctx, key); ok {
		return p, nil
	}
	v, err, _ := c.builds.Do(key, func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if p, ok := c.cached(ctx, key); ok {
			return p, nil
		}
		p, err := loadProduct(ctx, c.db, id)
		if err != nil {
			return p, err
		}
		c.store(ctx, key, p)
		return p, nil
	})
	if err != nil {
		return Product{}, err
	}
	return v.(Product), nil
}

// SetPrice changes a product's price and stores the new page in Redis. The
// page is stored before the transaction commits, while the UPDATE still
// holds the product's row lock: two writers of one product therefore store
// their pages in the order their updates commit, and the last page stored
// is the last price committed.
func (c *catalog) SetPrice(ctx context.Context, id int64, priceCents int) (Product, error) {
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return Product{}, err
	}
	defer tx.Rollback()
	if err := updatePrice(ctx, tx, id, priceCents); err != nil {
		return Product{}, err
	}
	p, err := loadProduct(ctx, tx, id)
	if err != nil {
		return Product{}, err
	}
	key := cacheKey(id)
	c.store(ctx, key, p)
	if err := tx.Commit(); err != nil {
		// The page stored is not the database's: drop it.
		c.cache.Del(context.WithoutCancel(ctx), key)
		return Product{}, err
	}
	return p, nil
}

// cached returns the page stored under key, if any.
func (c *catalog) cached(ctx context.Context, key string) (Product, bool) {
	b, err := c.cache.Get(ctx, key).Bytes()
	if err != nil {
		if !errors.Is(err, redis.Nil) {
			log.Printf("cache: GET %s: %v", key, err)
		}
		return Product{}, false
	}
	var p Product
	if err := json.Unmarshal(b, &p); err != nil {
		log.Printf("cache: %s holds something else than a product page: %v", key, err)
		return Product{}, false
	}
	return p, true
}

// store keeps a page in Redis for pageTTL. If it fails, the old page must
// not stay: delete it.
func (c *catalog) store(ctx context.Context, key string, p Product) {
	b, err := json.Marshal(p)
	if err != nil {
		log.Printf("cache: encode %s: %v", key, err)
		return
	}
	if err := c.cache.Set(ctx, key, b, pageTTL).Err(); err != nil {
		log.Printf("cache: SET %s: %v", key, err)
		c.cache.Del(ctx, key)
	}
}
