// Command catalog serves the product pages of a small web shop and takes
// price changes from the shop's back office. It keeps its data in
// PostgreSQL and its product pages in Redis.
//
// Configuration comes from the environment:
//
//	DATABASE_URL  postgres://app:app@db:5432/shop?sslmode=disable
//	REDIS_ADDR    redis:6379
//	ADDR          :8080
package main

import (
	"context"
	"database/sql"
	"errors"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	_ "github.com/lib/pq"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"
)

func main() {
	db, err := sql.Open("postgres", getenv("DATABASE_URL", "postgres://app:app@db:5432/shop?sslmode=disable"))
	if err != nil {
		log.Fatalf("open database: %v", err)
	}
	db.SetMaxOpenConns(10)
	db.SetMaxIdleConns(10)
	cache := redis.NewClient(&redis.Options{Addr: getenv("REDIS_ADDR", "redis:6379")})

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := waitFor(ctx, "database", db.PingContext); err != nil {
		log.Fatal(err)
	}
	if err := waitFor(ctx, "redis", func(ctx context.Context) error { return cache.Ping(ctx).Err() }); err != nil {
		log.Fatal(err)
	}

	c := &catalog{db: db, cache: cache}
	srv := &http.Server{
		Addr:              getenv("ADDR", ":8080"),
		Handler:           logRequests(routes(c)),
		ReadHeaderTimeout: 5 * time.Second,
	}
	// Serve until SIGTERM, then let the requests in flight finish.
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		log.Printf("catalog listening on %s", srv.Addr)
		if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	g.Go(func() error {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(shutdown)
	})
	if err := g.Wait(); err != nil {
		log.Fatal(err)
	}
}

// waitFor retries ping until it succeeds: the database and Redis may still
// be starting when the app does.
func waitFor(ctx context.Context, what string, ping func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for {
		err := ping(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.New(what + ": " + err.Error())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func getenv(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
