// Command shop is the order service of a small web shop. Its busiest
// endpoint feeds the back office's "Recent orders" screen: the newest
// orders, each with its customer and its line items.
//
// Configuration comes from the environment:
//
//	DATABASE_URL  postgres://app:app@db:5432/shop?sslmode=disable
//	ADDR          :8080
package main

import (
	"context"
	"database/sql"
	"log"
	"net/http"
	"os"
	"time"

	_ "github.com/lib/pq"
)

func main() {
	dsn := getenv("DATABASE_URL", "postgres://app:app@db:5432/shop?sslmode=disable")
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		log.Fatalf("open database: %v", err)
	}
	db.SetMaxOpenConns(10)
	db.SetMaxIdleConns(10)
	db.SetConnMaxIdleTime(5 * time.Minute)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	if err := waitForDB(ctx, db); err != nil {
		log.Fatalf("database: %v", err)
	}
	cancel()

	srv := &http.Server{
		Addr:              getenv("ADDR", ":8080"),
		Handler:           logRequests(routes(&store{db: db})),
		ReadHeaderTimeout: 5 * time.Second,
	}
	log.Printf("shop listening on %s", srv.Addr)
	log.Fatal(srv.ListenAndServe())
}

// waitForDB pings the database until it answers: the database may still be
// starting when the app does.
func waitForDB(ctx context.Context, db *sql.DB) error {
	for {
		err := db.PingContext(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
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
