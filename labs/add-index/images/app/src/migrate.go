package main

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// migrate applies the .sql files of dir that are not yet recorded in the
// schema_migrations table, in the order of their names (001_…, 002_…), and
// records each one. A file runs in a transaction together with its record,
// so a failing migration leaves nothing behind, unless its first line is
//
//	-- migrate: no-transaction
//
// which statements such as CREATE INDEX CONCURRENTLY need (they cannot run
// inside a transaction). Such a file must hold a single statement.
func migrate(ctx context.Context, db *sql.DB, dir string) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    text PRIMARY KEY,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return err
	}
	applied := map[string]bool{}
	rows, err := db.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return err
		}
		applied[v] = true
	}
	if err := rows.Close(); err != nil {
		return err
	}

	files, err := filepath.Glob(filepath.Join(dir, "*.sql"))
	if err != nil {
		return err
	}
	sort.Strings(files)
	for _, file := range files {
		version := filepath.Base(file)
		if applied[version] {
			continue
		}
		body, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		start := time.Now()
		if err := apply(ctx, db, version, string(body)); err != nil {
			return fmt.Errorf("%s: %w", version, err)
		}
		log.Printf("migration %s applied in %s", version, time.Since(start).Round(time.Millisecond))
	}
	return nil
}

func apply(ctx context.Context, db *sql.DB, version, body string) error {
	if strings.HasPrefix(body, "-- migrate: no-transaction") {
		if _, err := db.ExecContext(ctx, body); err != nil {
			return err
		}
		_, err := db.ExecContext(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, version)
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, body); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, version); err != nil {
		return err
	}
	return tx.Commit()
}
