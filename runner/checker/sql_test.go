package checker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/backlab/backlab/internal/testenv"
	"github.com/backlab/backlab/runner/checker"
)

// TestSQLOnPostgres runs the SQL helpers against a real PostgreSQL.
func TestSQLOnPostgres(t *testing.T) {
	dsn := testenv.Postgres(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	db, err := checker.OpenDB(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.MustExecContext(ctx, `CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id int NOT NULL, total int NOT NULL)`)
	db.MustExecContext(ctx, `INSERT INTO orders (customer_id, total) SELECT g % 5000, g % 977 FROM generate_series(1, 200000) g`)
	db.MustExecContext(ctx, `ANALYZE orders`)
	const q = `SELECT id, total FROM orders WHERE customer_id = $1 ORDER BY id`

	before, err := checker.Explain(ctx, db, q, 42)
	if err != nil {
		t.Fatal(err)
	}
	if len(before.SeqScans("orders")) == 0 {
		t.Fatalf("without an index the plan should scan orders sequentially:\n%s", before)
	}
	if before.ExecutionTime != 0 || before.Root.ActualLoops != 0 {
		t.Errorf("plain EXPLAIN has no actual figures, got %v / %v", before.ExecutionTime, before.Root.ActualLoops)
	}
	slow, err := checker.TimeQuery(ctx, db, 3, q, 42)
	if err != nil {
		t.Fatal(err)
	}

	db.MustExecContext(ctx, `CREATE INDEX orders_customer_idx ON orders (customer_id)`)
	after, err := checker.ExplainAnalyze(ctx, db, q, 42)
	if err != nil {
		t.Fatal(err)
	}
	if n := after.SeqScans("orders"); len(n) != 0 {
		t.Fatalf("with the index there should be no Seq Scan:\n%s", after)
	}
	if got := after.Indexes(); len(got) != 1 || got[0] != "orders_customer_idx" {
		t.Errorf("Indexes() = %q, want [orders_customer_idx]\n%s", got, after)
	}
	scans := after.Scans("orders")
	if len(scans) == 0 || scans[0].ActualLoops < 1 {
		t.Fatalf("ANALYZE plan lacks actual figures:\n%s", after)
	}
	if rows := scans[0].ActualRows; rows != 40 {
		t.Errorf("actual rows on orders = %v, want 40 (200000 rows / 5000 customers)", rows)
	}
	if after.ExecutionTime <= 0 || after.Root.SharedHitBlocks+after.Root.SharedReadBlocks == 0 {
		t.Errorf("ANALYZE, BUFFERS plan lacks time or buffers: %+v", after.Root)
	}
	text := after.String()
	for _, want := range []string{"Index Scan using orders_customer_idx on orders", "Index Cond: (customer_id = 42)", "Execution Time:"} {
		if !strings.Contains(text, want) && !strings.Contains(text, "Bitmap Index Scan using orders_customer_idx") {
			t.Errorf("plan text lacks %q:\n%s", want, text)
		}
	}
	fast, err := checker.TimeQuery(ctx, db, 3, q, 42)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("median without index %s, with %s", slow, fast)

	if _, err := checker.Explain(ctx, db, `SELECT * FROM no_such_table`); err == nil || !strings.Contains(err.Error(), "no_such_table") {
		t.Errorf("EXPLAIN of a bad query: err = %v, want one naming the table", err)
	}
}

func TestOpenDBGivesUp(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 600*time.Millisecond)
	defer cancel()
	_, err := checker.OpenDB(ctx, "postgres://u:p@127.0.0.1:1/x?sslmode=disable")
	if err == nil || !strings.Contains(err.Error(), "did not answer") {
		t.Fatalf("err = %v, want 'did not answer'", err)
	}
}

func TestParsePlan(t *testing.T) {
	tests := []struct {
		name, in string
		seq      int
		err      string
	}{
		{"nested loop", `[{"Plan":{"Node Type":"Nested Loop","Plans":[{"Node Type":"Seq Scan","Relation Name":"orders","Alias":"o"},{"Node Type":"Index Scan","Relation Name":"customers","Index Name":"customers_pkey"}]},"Execution Time":1.5}]`, 1, ""},
		{"parallel", `[{"Plan":{"Node Type":"Gather","Plans":[{"Node Type":"Parallel Seq Scan","Relation Name":"orders"}]}}]`, 1, ""},
		{"not json", `nope`, 0, "parse EXPLAIN"},
		{"empty", `[]`, 0, "no plan"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := checker.ParsePlan([]byte(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := len(p.SeqScans("orders")); got != tt.seq {
				t.Errorf("SeqScans = %d, want %d", got, tt.seq)
			}
		})
	}
}

func TestMedian(t *testing.T) {
	ms := func(n ...int) []time.Duration {
		var d []time.Duration
		for _, v := range n {
			d = append(d, time.Duration(v)*time.Millisecond)
		}
		return d
	}
	tests := []struct {
		in   []time.Duration
		want time.Duration
	}{
		{nil, 0}, {ms(5), 5 * time.Millisecond}, {ms(9, 1, 5), 5 * time.Millisecond}, {ms(4, 1, 3, 2), 2 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := checker.Median(tt.in); got != tt.want {
			t.Errorf("Median(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
