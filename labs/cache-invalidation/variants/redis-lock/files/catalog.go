package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// catalog is the shop's product service. Product pages are kept in Redis
// (cache-aside) for pageTTL; a write deletes the page. When a page is
// missing, a short Redis lock lets one request (of any app instance) build
// it while the others wait for it to appear.
type catalog struct {
	db    *sql.DB
	cache *redis.Client
}

const (
	pageTTL  = 5 * time.Minute
	lockTTL  = 2 * time.Second       // a crashed builder's lock frees itself
	lockWait = 3 * time.Second       // then waiters give up and build it themselves
	pollStep = 10 * time.Millisecond // how often waiters look for the page
)

// cacheKey is the Redis key of a product's page: product:42.
func cacheKey(id int64) string { return "product:" + strconv.FormatInt(id, 10) }

// unlockScript deletes the lock only if it is still ours: it may have
// expired and been taken by another request meanwhile.
var unlockScript = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
	return redis.call("DEL", KEYS[1])
end
return 0`)

// Product returns a product's page, from the cache when it is there.
func (c *catalog) Product(ctx context.Context, id int64) (Product, error) {
	key := cacheKey(id)
	if p, ok := c.cached(ctx, key); ok {
		return p, nil
	}
	lock := "lock:" + key
	token := newToken()
	deadline := time.Now().Add(lockWait)
	for {
		got, err := c.cache.SetNX(ctx, lock, token, lockTTL).Result()
		if err != nil {
			log.Printf("cache: lock %s: %v", lock, err)
			return loadProduct(ctx, c.db, id) // Redis is down: serve from the database
		}
		if got {
			defer unlockScript.Run(context.WithoutCancel(ctx), c.cache, []string{lock}, token)
			if p, ok := c.cached(ctx, key); ok { // built while this one waited
				return p, nil
			}
			p, err := loadProduct(ctx, c.db, id)
			if err != nil {
				return p, err
			}
			c.store(ctx, key, p)
			return p, nil
		}
		// Another request builds the page: wait for it.
		select {
		case <-ctx.Done():
			return Product{}, ctx.Err()
		case <-time.After(pollStep):
		}
		if p, ok := c.cached(ctx, key); ok {
			return p, nil
		}
		if time.Now().After(deadline) {
			return loadProduct(ctx, c.db, id)
		}
	}
}

// SetPrice changes a product's price, deletes its cached page, and returns
// the updated page.
func (c *catalog) SetPrice(ctx context.Context, id int64, priceCents int) (Product, error) {
	if err := updatePrice(ctx, c.db, id, priceCents); err != nil {
		return Product{}, err
	}
	if err := c.cache.Del(ctx, cacheKey(id)).Err(); err != nil {
		log.Printf("cache: DEL %s after a price change: %v", cacheKey(id), err)
	}
	return loadProduct(ctx, c.db, id)
}

func newToken() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
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

// store keeps a page in Redis for pageTTL.
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
