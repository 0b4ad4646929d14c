// Command quotes prices the store's products in the customer's currency:
// GET /quotes/{sku}?currency=EUR reads the product's price (in US dollars)
// from PostgreSQL and converts it with the live rate of the FX provider.
// The checkout page calls it for every line of every cart.
//
// Configuration comes from the environment:
//
//	DATABASE_URL  postgres://app:app@db:5432/store?sslmode=disable
//	FX_URL        http://fx:8090 (the FX provider's API)
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
	dsn := getenv("DATABASE_URL", "postgres://app:app@db:5432/store?sslmode=disable")
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		log.Fatalf("open database: %v", err)
	}
	db.SetMaxOpenConns(50)
	db.SetMaxIdleConns(50)
	db.SetConnMaxIdleTime(5 * time.Minute)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	if err := waitForDB(ctx, db); err != nil {
		log.Fatalf("database: %v", err)
	}
	cancel()

	fx := newFXClient(getenv("FX_URL", "http://fx:8090"))
	srv := &http.Server{
		Addr:              getenv("ADDR", ":8080"),
		Handler:           logRequests(routes(&catalog{db: db}, fx)),
		ReadHeaderTimeout: 5 * time.Second,
	}
	log.Printf("quotes listening on %s", srv.Addr)
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
