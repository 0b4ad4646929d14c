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

// catalog is the shop's product service. Product pages are read thousands
// of times for each price change, and building one aggregates all of the
// product's reviews, so pages are kept in Redis ("cache-aside"): a read
// looks in Redis first, and only on a miss builds the page from PostgreSQL
// and stores it there for the next readers.
type catalog struct {
	db    *sql.DB
	cache *redis.Client
	// builds lets one request per product build a missing page while the
	// others wait for it, instead of all of them querying the database.
	builds singleflight.Group
}

// pageTTL bounds how long a page lives in Redis: after a price change, the
// old page is shown for a minute at most.
const pageTTL = time.Minute

// cacheKey is the Redis key of a product's page: product:42.
func cacheKey(id int64) string { return "product:" + strconv.FormatInt(id, 10) }

// Product returns a product's page, from the cache when it is there.
func (c *catalog) Product(ctx context.Context, id int64) (Product, error) {
	key := cacheKey(id)
	if p, ok := c.cached(ctx, key); ok {
		return p, nil
	}
	// A miss: one request builds the page, the others that miss meanwhile
	// wait for its result. The build must not end when the request that
	// started it is cancelled, as others may wait on it.
	v, err, _ := c.builds.Do(key, func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if p, ok := c.cached(ctx, key); ok { // built while this one waited
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

// SetPrice changes a product's price and returns the updated page. The
// cached page catches up within pageTTL.
func (c *catalog) SetPrice(ctx context.Context, id int64, priceCents int) (Product, error) {
	if err := updatePrice(ctx, c.db, id, priceCents); err != nil {
		return Product{}, err
	}
	return loadProduct(ctx, c.db, id)
}

// cached returns the page stored under key, if any. When Redis fails, the
// page is built from the database: a slow page beats an error page.
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

// store keeps a page in Redis for the next readers, for pageTTL.
func (c *catalog) store(ctx context.Context, key string, p Product) {
	b, err := json.Marshal(p)
	if err != nil {
		log.Printf("cache: encode %s: %v", key, err)
		return
	}
	if err := c.cache.Set(ctx, key, b, pageTTL).Err(); err != nil {
		log.Printf("cache: SET %s: %v", key, err)
	}
}
