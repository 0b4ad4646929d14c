package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/backlab/backlab/runner/checker"
)

// index is one index of orders.
type index struct {
	Name      string  `db:"name"`
	Method    string  `db:"method"`
	Primary   bool    `db:"is_primary"`
	Unique    bool    `db:"is_unique"`
	Valid     bool    `db:"is_valid"`
	Keys      string  `db:"keys"` // key columns, comma-separated
	Predicate *string `db:"predicate"`
	Def       string  `db:"def"`
}

func (ix index) columns() []string { return strings.Split(ix.Keys, ",") }

func (ix index) String() string {
	return fmt.Sprintf("%s (%s)", ix.Name, strings.ReplaceAll(ix.Keys, ",", ", "))
}

// sameScope reports whether two indexes cover the same rows the same way.
func sameScope(a, b index) bool {
	return a.Method == b.Method && (a.Predicate == nil) == (b.Predicate == nil) &&
		(a.Predicate == nil || *a.Predicate == *b.Predicate)
}

const writeCost = "Every index is updated on every INSERT and DELETE of orders (and on UPDATEs of its columns), takes disk and memory, and slows VACUUM: " +
	"keep one index per way the data is read. Remove the extra one with DROP INDEX in a new migration (a migration that already ran is not run again)."

// checkIndexes looks for duplicate, redundant and unused indexes on orders.
func checkIndexes(s *checker.S, db *sqlx.DB, lookup *checker.PlanNode) {
	ctx := s.Ctx()
	var ixs []index
	s.Must(db.SelectContext(ctx, &ixs, `
		SELECT c.relname AS name, am.amname AS method, i.indisprimary AS is_primary,
		       i.indisunique AS is_unique, i.indisvalid AS is_valid,
		       (SELECT string_agg(pg_get_indexdef(i.indexrelid, k, true), ',' ORDER BY k)
		          FROM generate_series(1, i.indnkeyatts) AS k) AS keys,
		       pg_get_expr(i.indpred, i.indrelid) AS predicate,
		       pg_get_indexdef(i.indexrelid) AS def
		FROM pg_index i
		JOIN pg_class c ON c.oid = i.indexrelid
		JOIN pg_am am ON am.oid = c.relam
		WHERE i.indrelid = to_regclass('public.orders')
		ORDER BY c.relname`))
	var list []string
	for _, ix := range ixs {
		list = append(list, ix.String())
	}
	s.Data("indexes", list)
	s.Metric("index_count", float64(len(ixs)), "")

	for _, ix := range ixs {
		if !ix.Valid {
			s.Fail(fmt.Sprintf("Index %s is INVALID: its build failed (a CREATE INDEX CONCURRENTLY that was interrupted leaves one behind). "+
				"PostgreSQL never reads it but still updates it on every write.", ix),
				"Drop it (DROP INDEX CONCURRENTLY "+ix.Name+") and create it again. "+writeCost)
		}
	}
	for i, a := range ixs {
		for _, b := range ixs[i+1:] {
			if sameScope(a, b) && a.Keys == b.Keys {
				s.Fail(fmt.Sprintf("%s and %s are the same index: both on (%s). PostgreSQL reads one of them; both are written on every insert.",
					a.Name, b.Name, strings.ReplaceAll(a.Keys, ",", ", ")),
					"Keep one of them. "+writeCost)
			}
		}
	}
	for _, a := range ixs {
		if a.Unique || a.Primary || a.Method != "btree" {
			continue // a constraint, or an access method of its own
		}
		for _, b := range ixs {
			if a.Name == b.Name || !sameScope(a, b) {
				continue
			}
			ac, bc := a.columns(), b.columns()
			if len(ac) < len(bc) && slices.Equal(ac, bc[:len(ac)]) {
				s.Fail(fmt.Sprintf("%s is redundant: %s starts with the same column(s), so it serves every query that %s serves.",
					a, b, a.Name),
					"Keep the wider index and drop "+a.Name+". "+writeCost)
			}
		}
	}
	if lookup == nil {
		s.Passf("No duplicate or redundant index on orders (indexes: %s). Whether each index is needed is judged once the query finds its rows through an index on customer_id.",
			strings.Join(list, "; "))
		return
	}
	used := lookupIndex(lookup)
	for _, ix := range ixs {
		if ix.Name == used || ix.Primary || ix.Unique || slices.Contains(starterIndexes, ix.Name) {
			continue
		}
		s.Fail(fmt.Sprintf("%s is not used by the query: the plan reads orders through %s. No other query of the shop needs %s either.",
			ix, used, ix.Name),
			"Add only the indexes a query needs. "+writeCost)
	}
	s.Passf("One index serves the query (%s) and none duplicates another. Indexes on orders: %s.", used, strings.Join(list, "; "))
}
