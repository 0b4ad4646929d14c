package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The checker replays the learner's migrations on top of its own copy of
// the starter's 001 and 002: it must be the text the starter ships.
func TestStarterMigrationsMatchTheStarter(t *testing.T) {
	for _, m := range starterMigrations {
		b, err := os.ReadFile(filepath.Join("..", "images", "app", "src", "migrations", m.name))
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != m.sql {
			t.Errorf("starterMigrations[%s] differs from images/app/src/migrations/%s:\n%s", m.name, m.name, b)
		}
	}
}

// data-intact compares the seed rows with the fingerprint the db image
// records: both must hash rows alike.
func TestSeedFingerprintUsesTheCheckersExpressions(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "images", "db", "seed.sql"))
	if err != nil {
		t.Fatal(err)
	}
	seed := string(b)
	for _, want := range []string{
		"(id - 1) / 10000, count(*), sum(" + ordersRowHash + ") FROM orders",
		"(id - 1) / 1000, count(*), sum(" + customersRowHash + ") FROM customers",
	} {
		if !strings.Contains(seed, want) {
			t.Errorf("seed.sql does not record the fingerprint as the checker computes it: no %q", want)
		}
	}
	if ordersChunk != 10000 || customersChunk != 1000 {
		t.Errorf("block sizes %d and %d differ from seed.sql's", ordersChunk, customersChunk)
	}
}

func TestCredit(t *testing.T) {
	pkey := ixDef{Name: "orders_pkey", Def: "CREATE UNIQUE INDEX ON public.orders USING btree (id)", Valid: true}
	byCustomer := ixDef{Name: "orders_customer_id_idx", Def: "CREATE INDEX ON public.orders USING btree (customer_id)", Valid: true}
	byDate := ixDef{Name: "orders_customer_id_idx", Def: "CREATE INDEX ON public.orders USING btree (created_at)", Valid: true}
	for _, tc := range []struct {
		name string
		runs []migrationRun
		file string
		why  string
	}{
		{"created", []migrationRun{{File: "003_a.sql", Indexes: []ixDef{pkey, byCustomer}}}, "003_a.sql", ""},
		{"comment only", []migrationRun{{File: "003_a.sql", Indexes: []ixDef{pkey}}}, "", "create no index like it"},
		{"dropped later", []migrationRun{{File: "003_a.sql", Indexes: []ixDef{pkey, byCustomer}}, {File: "004_b.sql", Indexes: []ixDef{pkey}}}, "", "004_b.sql drops it"},
		{"dropped and made again", []migrationRun{{File: "003_a.sql", Indexes: []ixDef{pkey, byCustomer}}, {File: "004_b.sql", Indexes: []ixDef{pkey}}, {File: "005_c.sql", Indexes: []ixDef{pkey, byCustomer}}}, "005_c.sql", ""},
		{"same name, other columns", []migrationRun{{File: "003_a.sql", Indexes: []ixDef{pkey, byDate}}}, "", "same name, but another index"},
		{"fails on a copy", []migrationRun{{File: "003_a.sql", Indexes: []ixDef{pkey, byCustomer}}, {File: "004_b.sql", Err: errString("ERROR: index \"x\" does not exist")}}, "", "004_b.sql fails: index \"x\" does not exist"},
		{"no new file", nil, "", "no new file"},
		{"made twice, credited under its name", []migrationRun{{File: "003_a.sql", Indexes: []ixDef{pkey, {Name: "other", Def: byCustomer.Def, Valid: true}}}, {File: "004_b.sql", Indexes: []ixDef{pkey, {Name: "other", Def: byCustomer.Def, Valid: true}, byCustomer}}}, "004_b.sql", ""},
	} {
		r := &replayResult{StarterIndexes: []ixDef{pkey}, Runs: tc.runs}
		file, ok, why := r.credit(byCustomer)
		if file != tc.file || ok != (tc.file != "") || (tc.why != "" && !strings.Contains(why, tc.why)) {
			t.Errorf("%s: credit = %q, %v, %q; want %q and a reason with %q", tc.name, file, ok, why, tc.file, tc.why)
		}
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func TestCompareSchema(t *testing.T) {
	starter := []schemaItem{
		{"orders", "table", "orders", "a table"},
		{"orders", "column", "total_cents", "integer NOT NULL"},
		{"orders", "constraint", "orders_customer_id_fkey", "FOREIGN KEY (customer_id) REFERENCES customers(id)"},
	}
	live := []schemaItem{
		{"orders", "table", "orders", "a table, UNLOGGED"},
		{"orders", "column", "total_cents", "bigint NOT NULL"},
		{"orders", "constraint", "fk_renamed", "FOREIGN KEY (customer_id) REFERENCES customers(id)"},
		{"orders", "disabled trigger", "RI_ConstraintTrigger_c_1", ""},
	}
	got := strings.Join(compareSchema(starter, live), "\n")
	for _, want := range []string{"orders is now a table, UNLOGGED", "total_cents is now bigint", "RI_ConstraintTrigger_c_1 of orders is disabled"} {
		if !strings.Contains(got, want) {
			t.Errorf("compareSchema: no %q in\n%s", want, got)
		}
	}
	if strings.Contains(got, "lost") {
		t.Errorf("compareSchema: a renamed constraint counts as lost:\n%s", got)
	}
	if got := compareSchema(starter, starter); len(got) != 0 {
		t.Errorf("compareSchema of the starter with itself: %v", got)
	}
}
