// Command accounts is the customer accounts service of a small web shop: it
// creates customers, shows one and renames one. It keeps its data in
// PostgreSQL.
//
// Configuration comes from the environment (the deploy tool sets both):
//
//	DATABASE_URL  postgres://app:app@db:5432/accounts?sslmode=disable
//	ADDR          127.0.0.1:8101
package main

import (
	"context"
	"database/sql"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	_ "github.com/lib/pq"
)

func main() {
	log.SetFlags(0) // the deploy tool stamps each line with the time and the phase
	db, err := sql.Open("postgres", getenv("DATABASE_URL", "postgres://app:app@db:5432/accounts?sslmode=disable"))
	if err != nil {
		log.Fatalf("open database: %v", err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)

	srv := &http.Server{
		Addr:              getenv("ADDR", ":8080"),
		Handler:           routes(&store{db: db}),
		ReadHeaderTimeout: 5 * time.Second,
	}
	stopped := make(chan struct{})
	go func() {
		// Stop gracefully when the deploy tool retires this version:
		// finish the requests in flight, then exit.
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
		<-stop
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		close(stopped)
	}()
	log.Printf("accounts listening on %s", srv.Addr)
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		log.Fatal(err)
	}
	<-stopped
}

func getenv(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
