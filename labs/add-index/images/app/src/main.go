// Command shop is the order service of a small web shop: it lists a
// customer's orders, shows one order and takes new ones. It keeps its data
// in PostgreSQL and applies the SQL files in migrations/ when it starts.
//
// Configuration comes from the environment:
//
//	DATABASE_URL  postgres://app:app@db:5432/shop?sslmode=disable
//	ADDR          :8080
//
// Run "shop -migrate" to apply pending migrations and exit.
package main

import (
	"context"
	"database/sql"
	"flag"
	"log"
	"net/http"
	"os"
	"time"

	_ "github.com/lib/pq"
)

func main() {
	migrateOnly := flag.Bool("migrate", false, "apply pending migrations, then exit")
	flag.Parse()

	dsn := getenv("DATABASE_URL", "postgres://app:app@db:5432/shop?sslmode=disable")
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		log.Fatalf("open database: %v", err)
	}
	db.SetMaxOpenConns(10)
	db.SetConnMaxIdleTime(5 * time.Minute)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	if err := waitForDB(ctx, db); err != nil {
		log.Fatalf("database: %v", err)
	}
	if err := migrate(ctx, db, "migrations"); err != nil {
		log.Fatalf("migrate: %v", err)
	}
	cancel()
	if *migrateOnly {
		return
	}

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
