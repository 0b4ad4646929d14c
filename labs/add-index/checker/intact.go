package main

// Proof that the fix kept the shop's data and schema: every speed figure
// of this lab is measured on the orders table, so a "fix" that deletes
// most of it, drops its foreign key, changes its columns or re-sorts it on
// disk would make the numbers look good for the wrong reason.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"
)

// The row expressions and block sizes of the fingerprint that
// images/db/seed.sql records at image build (checker_test.go checks that
// the seed uses these very expressions).
const (
	ordersRowHash    = `hash_record_extended(ROW(id, customer_id, status, total_cents, currency, note, created_at), 0)`
	customersRowHash = `hash_record_extended(ROW(id, name, email, created_at), 0)`
	ordersChunk      = 10000
	customersChunk   = 1000
)

// chunkSum is one block of ids of a table: how many rows, and the sum of
// their hashes (as text: a numeric).
type chunkSum struct {
	Tbl   string `db:"tbl"`
	MaxID int64  `db:"max_id"`
	Chunk int64  `db:"chunk"`
	N     int64  `db:"n"`
	Hash  string `db:"hash"`
}

// seedFingerprint reads what the image recorded about the seed data.
func seedFingerprint(ctx context.Context, pg *sqlx.DB) (map[string][]chunkSum, error) {
	var rows []chunkSum
	if err := pg.SelectContext(ctx, &rows, `SELECT tbl, max_id, chunk, n, hash::text AS hash FROM backlab_seed_fingerprint ORDER BY tbl, chunk`); err != nil {
		return nil, fmt.Errorf("read the seed data's fingerprint: %w", err)
	}
	out := map[string][]chunkSum{}
	for _, r := range rows {
		out[r.Tbl] = append(out[r.Tbl], r)
	}
	if len(out["orders"]) == 0 || len(out["customers"]) == 0 {
		return nil, fmt.Errorf("the seed data's fingerprint is incomplete (%d blocks of orders, %d of customers)", len(out["orders"]), len(out["customers"]))
	}
	return out, nil
}

// compareData checks the seed rows of one table against the fingerprint
// and describes what differs ("" when nothing does). err is set when the
// table cannot be read at all (it was dropped, a column is gone).
func compareData(ctx context.Context, db *sqlx.DB, tbl, rowHash string, size int64, want []chunkSum) (missing, changed int64, problem string, err error) {
	maxID := want[0].MaxID
	var got []chunkSum
	err = db.SelectContext(ctx, &got, fmt.Sprintf(`SELECT (id - 1) / %d AS chunk, count(*) AS n, sum(%s)::text AS hash
		FROM %s WHERE id BETWEEN 1 AND $1 GROUP BY 1`, size, rowHash, tbl), maxID)
	if err != nil {
		return 0, 0, "", err
	}
	have := map[int64]chunkSum{}
	var total int64
	for _, g := range got {
		have[g.Chunk] = g
		total += g.N
	}
	var expected int64
	var changedBlocks []string
	for _, w := range want {
		expected += w.N
		g := have[w.Chunk]
		if g.N == w.N && g.Hash != w.Hash {
			changedBlocks = append(changedBlocks, fmt.Sprintf("%d–%d", w.Chunk*size+1, min((w.Chunk+1)*size, maxID)))
		}
	}
	var parts []string
	if total < expected {
		missing = expected - total
		parts = append(parts, fmt.Sprintf("%s holds %s of its %s original rows (ids 1–%s): %s are gone",
			tbl, thousands(total), thousands(expected), thousands(maxID), thousands(missing)))
	}
	if len(changedBlocks) > 0 {
		changed = int64(len(changedBlocks))
		shown := changedBlocks
		if len(shown) > 3 {
			shown = append(slices.Clone(shown[:3]), fmt.Sprintf("%d more blocks", len(changedBlocks)-3))
		}
		parts = append(parts, fmt.Sprintf("the values of original %s rows changed (ids %s)", tbl, strings.Join(shown, ", ")))
	}
	return missing, changed, strings.Join(parts, "; "), nil
}

// schemaItem is one property of the shop's tables: the table itself (its
// kind and whether it is logged; storage parameters such as autovacuum
// settings are left alone, as they change no row), a column, a constraint,
// or a trigger that was switched off.
type schemaItem struct {
	Tbl  string `db:"tbl"`
	Kind string `db:"kind"`
	Name string `db:"name"`
	Def  string `db:"def"`
}

const schemaSQL = `
WITH t AS (SELECT oid FROM pg_class WHERE oid IN (to_regclass('public.orders'), to_regclass('public.customers')))
SELECT c.relname AS tbl, 'table' AS kind, c.relname AS name,
       CASE c.relkind WHEN 'r' THEN 'a table' WHEN 'p' THEN 'a partitioned table' WHEN 'v' THEN 'a view'
                      WHEN 'm' THEN 'a materialized view' WHEN 'f' THEN 'a foreign table' ELSE 'relkind ' || c.relkind::text END
       || CASE c.relpersistence WHEN 'u' THEN ', UNLOGGED' WHEN 't' THEN ', TEMPORARY' ELSE '' END AS def
FROM pg_class c JOIN t ON t.oid = c.oid
UNION ALL
SELECT c.relname, 'column', a.attname,
       format_type(a.atttypid, a.atttypmod)
       || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
       || coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '')
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN t ON t.oid = c.oid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT c.relname, 'constraint', con.conname, pg_get_constraintdef(con.oid)
FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN t ON t.oid = c.oid
UNION ALL
SELECT c.relname, 'disabled trigger', tg.tgname, ''
FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid JOIN t ON t.oid = c.oid
WHERE tg.tgenabled = 'D'
ORDER BY 1, 2, 3`

func describeSchema(ctx context.Context, q sqlx.QueryerContext) ([]schemaItem, error) {
	var items []schemaItem
	err := sqlx.SelectContext(ctx, q, &items, schemaSQL)
	return items, err
}

// compareSchema lists how the live tables differ from the shop's schema
// (as a copy of production has it): what was removed or changed. What was
// added (a column, a constraint) is not collateral damage, and indexes are
// judged by the other steps.
func compareSchema(starter, live []schemaItem) []string {
	find := func(items []schemaItem, tbl, kind, name string) *schemaItem {
		for i := range items {
			if items[i].Tbl == tbl && items[i].Kind == kind && items[i].Name == name {
				return &items[i]
			}
		}
		return nil
	}
	var out []string
	gone := map[string]bool{}
	for _, s := range starter {
		switch s.Kind {
		case "table":
			l := find(live, s.Tbl, "table", s.Name)
			switch {
			case l == nil:
				out = append(out, fmt.Sprintf("the table %s is gone", s.Tbl))
				gone[s.Tbl] = true
			case l.Def != s.Def:
				why := ""
				if strings.Contains(l.Def, "UNLOGGED") {
					why = " (an UNLOGGED table skips the write-ahead log: a crash empties it, and replicas and backups never see its rows)"
				}
				out = append(out, fmt.Sprintf("%s is now %s; it was %s%s", s.Tbl, l.Def, s.Def, why))
			}
		case "column":
			if gone[s.Tbl] {
				continue
			}
			l := find(live, s.Tbl, "column", s.Name)
			switch {
			case l == nil:
				out = append(out, fmt.Sprintf("the column %s.%s (%s) was dropped", s.Tbl, s.Name, s.Def))
			case l.Def != s.Def:
				out = append(out, fmt.Sprintf("the column %s.%s is now %s; it was %s", s.Tbl, s.Name, l.Def, s.Def))
			}
		case "constraint":
			if gone[s.Tbl] {
				continue
			}
			// By definition, not name: renaming a constraint harms nothing.
			if !slices.ContainsFunc(live, func(l schemaItem) bool { return l.Tbl == s.Tbl && l.Kind == "constraint" && l.Def == s.Def }) {
				out = append(out, fmt.Sprintf("%s lost its constraint %s (%s)%s", s.Tbl, s.Name, s.Def, constraintRole(s.Def)))
			}
		}
	}
	for _, l := range live {
		if l.Kind == "disabled trigger" {
			out = append(out, fmt.Sprintf("the trigger %s of %s is disabled (ALTER TABLE … DISABLE TRIGGER): the checks it makes, such as a foreign key's, no longer run", l.Name, l.Tbl))
		}
	}
	return out
}

func constraintRole(def string) string {
	switch {
	case strings.HasPrefix(def, "FOREIGN KEY"):
		return ": an order may now point to a customer who does not exist"
	case strings.HasPrefix(def, "PRIMARY KEY"):
		return ": rows are no longer guaranteed a unique id, and its index is gone with it"
	case strings.HasPrefix(def, "UNIQUE"):
		return ": duplicates are now accepted"
	case strings.HasPrefix(def, "CHECK"):
		return ": values it rejected are now accepted"
	}
	return ""
}

// layoutProblem samples original orders and reports whether they are no
// longer stored in the order the shop wrote them (id order, as the seed
// inserted them). CLUSTER on another index, or copying the table sorted by
// customer, puts each customer's orders side by side: any lookup of one
// customer then reads a few pages instead of one page per order, which
// would make the measured speed-up larger than the index alone gives, and
// new orders are not kept in that order. VACUUM FULL keeps the order.
func layoutProblem(ctx context.Context, db *sqlx.DB, maxID int64) (string, error) {
	const samples = 200
	ids := make([]int64, 0, samples)
	for range samples {
		ids = append(ids, 1+rand.Int64N(maxID))
	}
	var rows []struct {
		ID    int64 `db:"id"`
		Block int64 `db:"block"`
	}
	if err := db.SelectContext(ctx, &rows, `SELECT id, (ctid::text::point)[0]::bigint AS block FROM orders WHERE id = ANY($1) ORDER BY id`, ids); err != nil {
		return "", err
	}
	var pairs, inversions int
	for i := 1; i < len(rows); i++ {
		pairs++
		if rows[i].Block < rows[i-1].Block {
			inversions++
		}
	}
	// Rows that were merely updated may move; a re-sorted table puts about
	// half of such neighbours out of order.
	if pairs >= 20 && inversions*10 > pairs {
		return fmt.Sprintf("orders is no longer stored in the order the shop wrote it: of %d random orders taken in id order, %d sit on an earlier page than the order before them. "+
			"The table was rewritten sorted by another column (CLUSTER, or a copy made with ORDER BY)", len(rows), inversions), nil
	}
	return "", nil
}

// thousands writes n with thousands separators: 1,000,000.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
