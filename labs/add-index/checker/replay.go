package main

// What the learner's migrations do, judged by running them: the checker
// creates a scratch database on the lab's server, gives it the schema the
// shop's production database has (the starter's migrations 001 and 002,
// which production ran long ago), then runs the learner's new files of
// migrations/ in the order and the way the app runs them (migrate.go). The
// indexes that come out are compared by definition with the one the
// query uses. Text is never evidence: a CREATE INDEX in a comment, in a
// string, in a DO block that does not run, or undone by a later file
// creates nothing here.

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/backlab/backlab/runner/checker"
)

// starterMigrations are the shop's migrations exactly as production ran
// them (images/app/src/migrations; checker_test.go keeps both in step).
// schema_migrations records them, so the app never runs them again: what
// a learner writes into these files reaches no database.
var starterMigrations = []struct{ name, sql string }{
	{"001_customers.sql", `CREATE TABLE customers (
    id         serial PRIMARY KEY,
    name       text NOT NULL,
    email      text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);
`},
	{"002_orders.sql", `CREATE TABLE orders (
    id          bigserial PRIMARY KEY,
    customer_id int NOT NULL REFERENCES customers (id),
    status      text NOT NULL CHECK (status IN ('pending', 'paid', 'shipped', 'delivered', 'cancelled')),
    total_cents int NOT NULL CHECK (total_cents >= 0),
    currency    text NOT NULL DEFAULT 'EUR',
    note        text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
`},
}

func isStarterMigration(name string) bool {
	return slices.ContainsFunc(starterMigrations, func(m struct{ name, sql string }) bool { return m.name == name })
}

// noTransaction is the first line that makes the app run a file outside a
// transaction (migrate.go).
const noTransaction = "-- migrate: no-transaction"

// ixDef is one index of orders: its name and its definition without the
// name ("CREATE INDEX ON public.orders USING btree (customer_id)"), which
// is what two databases are compared by.
type ixDef struct {
	Name  string `db:"name"`
	Def   string `db:"def"`
	Valid bool   `db:"valid"`
}

// orderIndexesSQL lists the indexes of orders, with definitions free of
// their names.
const orderIndexesSQL = `
SELECT c.relname AS name,
       replace(pg_get_indexdef(i.indexrelid), 'INDEX ' || quote_ident(c.relname) || ' ON ', 'INDEX ON ') AS def,
       i.indisvalid AS valid
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indrelid = to_regclass('public.orders')
ORDER BY c.relname`

func orderIndexes(ctx context.Context, q sqlx.QueryerContext) ([]ixDef, error) {
	var ixs []ixDef
	err := sqlx.SelectContext(ctx, q, &ixs, orderIndexesSQL)
	return ixs, err
}

// migrationRun is one learner's file run on the scratch database.
type migrationRun struct {
	File    string
	Err     error   // the file failed: the app stops there, later files do not run
	Indexes []ixDef // orders' valid indexes after the file ran
}

// replayResult is what the learner's migrations do to a copy of the
// production schema.
type replayResult struct {
	Starter        []schemaItem // the shop's schema as production has it
	StarterIndexes []ixDef
	Runs           []migrationRun // the learner's files, in the order the app runs them
	Edited         []string       // starter files whose text the learner changed
	NoFiles        bool           // migrations/ is empty or missing
}

// replayMigrations runs the replay in a scratch database and removes it.
// An error is the checker's own (the server refused a scratch database);
// a learner's file that fails is recorded in its run.
func replayMigrations(ctx context.Context, admin *sqlx.DB, dsn, dir string) (*replayResult, error) {
	dropLeftovers(ctx, admin)
	name := "backlab_replay_" + checker.RandString(12)
	password := checker.RandString(32)
	// A role of its own, not a superuser: the learner's SQL runs with no
	// more rights than the app has, and cannot reach the shop's database.
	if _, err := admin.ExecContext(ctx, fmt.Sprintf(`CREATE ROLE %s LOGIN PASSWORD '%s'`, name, password)); err != nil {
		return nil, fmt.Errorf("create the scratch role: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
		defer cancel()
		admin.ExecContext(cctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, name))
		admin.ExecContext(cctx, fmt.Sprintf(`DROP ROLE IF EXISTS %s`, name))
	}()
	if _, err := admin.ExecContext(ctx, fmt.Sprintf(`CREATE DATABASE %s OWNER %s TEMPLATE template0`, name, name)); err != nil {
		return nil, fmt.Errorf("create the scratch database: %w", err)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, fmt.Errorf("DB_DSN: %w", err)
	}
	u.User = url.UserPassword(name, password)
	u.Path = "/" + name
	q := u.Query()
	q.Set("statement_timeout", "15000") // a migration that hangs fails; it does not hang the check
	u.RawQuery = q.Encode()
	scratch, err := checker.OpenDB(ctx, u.String())
	if err != nil {
		return nil, fmt.Errorf("connect to the scratch database: %w", err)
	}
	defer scratch.Close()
	conn, err := scratch.Connx(ctx) // one session, like a migration run of the app
	if err != nil {
		return nil, fmt.Errorf("connect to the scratch database: %w", err)
	}
	defer conn.Close()

	r := &replayResult{}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    text PRIMARY KEY,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return nil, fmt.Errorf("scratch database: %w", err)
	}
	for _, m := range starterMigrations {
		if err := applyMigration(ctx, conn, m.name, m.sql); err != nil {
			return nil, fmt.Errorf("scratch database: starter migration %s: %w", m.name, err)
		}
	}
	if r.Starter, err = describeSchema(ctx, conn); err != nil {
		return nil, fmt.Errorf("scratch database: %w", err)
	}
	if r.StarterIndexes, err = validIndexes(ctx, conn); err != nil {
		return nil, fmt.Errorf("scratch database: %w", err)
	}

	files, _ := filepath.Glob(filepath.Join(dir, "*.sql"))
	sort.Strings(files) // the app's order (migrate.go)
	r.NoFiles = len(files) == 0
	for _, f := range files {
		base := filepath.Base(f)
		if !isStarterMigration(base) {
			continue
		}
		text, err := checker.ReadFile(f)
		if err == nil && strings.TrimSpace(text) != strings.TrimSpace(starterSQL(base)) {
			r.Edited = append(r.Edited, base)
		}
	}
	// Production has run 001 and 002; every other file is new to it, and
	// the app runs the new ones in the order of their names.
	for _, f := range files {
		base := filepath.Base(f)
		if isStarterMigration(base) {
			continue
		}
		run := migrationRun{File: base}
		text, err := checker.ReadFile(f)
		if err == nil {
			err = applyMigration(ctx, conn, base, text)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err != nil {
			run.Err = err
			r.Runs = append(r.Runs, run)
			break
		}
		if run.Indexes, err = validIndexes(ctx, conn); err != nil {
			return nil, fmt.Errorf("scratch database: %w", err)
		}
		r.Runs = append(r.Runs, run)
	}
	return r, nil
}

func starterSQL(name string) string {
	for _, m := range starterMigrations {
		if m.name == name {
			return m.sql
		}
	}
	return ""
}

// applyMigration runs one file as the app's migrate.go does: in a
// transaction with its record in schema_migrations, unless its first line
// asks for none.
func applyMigration(ctx context.Context, conn *sqlx.Conn, version, body string) error {
	if strings.HasPrefix(body, noTransaction) {
		if _, err := conn.ExecContext(ctx, body); err != nil {
			return err
		}
		_, err := conn.ExecContext(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, version)
		return err
	}
	tx, err := conn.BeginTxx(ctx, nil)
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

func validIndexes(ctx context.Context, q sqlx.QueryerContext) ([]ixDef, error) {
	all, err := orderIndexes(ctx, q)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(ix ixDef) bool { return !ix.Valid }), nil
}

// dropLeftovers removes scratch databases and roles a check that was
// killed left behind (the app's role cannot create databases or roles, so
// these names are the checker's).
func dropLeftovers(ctx context.Context, admin *sqlx.DB) {
	var dbs, roles []string
	admin.SelectContext(ctx, &dbs, `SELECT datname FROM pg_database WHERE datname LIKE 'backlab\_replay\_%'`)
	for _, d := range dbs {
		admin.ExecContext(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %q WITH (FORCE)`, d))
	}
	admin.SelectContext(ctx, &roles, `SELECT rolname FROM pg_roles WHERE rolname LIKE 'backlab\_replay\_%'`)
	for _, r := range roles {
		admin.ExecContext(ctx, fmt.Sprintf(`DROP ROLE IF EXISTS %q`, r))
	}
}

// summary names the files replayed, for the log.
func (r *replayResult) summary() string {
	if len(r.Runs) == 0 {
		return "no new migration"
	}
	var names []string
	for _, run := range r.Runs {
		names = append(names, run.File)
	}
	return "migrations " + strings.Join(names, ", ")
}

// failed is the learner's file that failed on the copy, if any.
func (r *replayResult) failed() *migrationRun {
	for i := range r.Runs {
		if r.Runs[i].Err != nil {
			return &r.Runs[i]
		}
	}
	return nil
}

// final is orders' indexes once every learner's file ran.
func (r *replayResult) final() []ixDef {
	if len(r.Runs) == 0 {
		return r.StarterIndexes
	}
	return r.Runs[len(r.Runs)-1].Indexes
}

func hasDef(ixs []ixDef, def string) bool {
	return slices.ContainsFunc(ixs, func(ix ixDef) bool { return ix.Def == def })
}

// credit names the learner's migration that creates an index defined as
// live (the index the query uses in the shop's database), or says why
// none does, in the learner's terms.
func (r *replayResult) credit(live ixDef) (file string, ok bool, why string) {
	if f := r.failed(); f != nil {
		return "", false, fmt.Sprintf("Replayed on a copy of the production schema (tables of 001 and 002, none of the changes made by hand here), migrations/%s fails: %s. "+
			"The app stops at a failing migration, so in production it would not start.", f.File, pgMessage(f.Err))
	}
	prev := r.StarterIndexes
	var creator, dropper string
	for _, run := range r.Runs {
		if hasDef(run.Indexes, live.Def) && !hasDef(prev, live.Def) {
			creator, dropper = run.File, ""
		}
		if creator != "" && dropper == "" && !hasDef(run.Indexes, live.Def) {
			dropper = run.File
		}
		prev = run.Indexes
	}
	if creator != "" && dropper == "" {
		// Two files may make the same index under two names (a duplicate,
		// which no-redundant-index reports): credit the one that made it
		// under the name the database has, when one did.
		prev = r.StarterIndexes
		for _, run := range r.Runs {
			if slices.Contains(run.Indexes, live) && !slices.Contains(prev, live) {
				creator = run.File
			}
			prev = run.Indexes
		}
		return creator, true, ""
	}
	var b strings.Builder
	switch {
	case r.NoFiles:
		b.WriteString("The checker found no files in migrations/.")
	case len(r.Runs) == 0:
		b.WriteString("migrations/ holds no new file besides 001 and 002, which production ran long ago.")
	case creator != "":
		fmt.Fprintf(&b, "Replayed on a copy of the production schema, migrations/%s creates it, but migrations/%s drops it again: after all your migrations, no such index exists.", creator, dropper)
	default:
		var names []string
		for _, run := range r.Runs {
			names = append(names, run.File)
		}
		fmt.Fprintf(&b, "Replayed on a copy of the production schema, your migrations (%s) run without error but create no index like it", strings.Join(names, ", "))
		i := slices.IndexFunc(r.final(), func(ix ixDef) bool { return ix.Name == live.Name })
		if i >= 0 {
			fmt.Fprintf(&b, ": they make an index of the same name, but another index: %s, where the database has %s (CREATE INDEX IF NOT EXISTS skips when an index of that name exists, whatever its columns).", r.final()[i].Def, live.Def)
			break
		}
		var made []string
		for _, ix := range r.final() {
			if !hasDef(r.StarterIndexes, ix.Def) {
				made = append(made, ix.Name+": "+ix.Def)
			}
		}
		if len(made) > 0 {
			fmt.Fprintf(&b, "; the indexes they leave on orders are %s", strings.Join(made, "; "))
		} else {
			b.WriteString(" (a CREATE INDEX in a comment, in a string, or in a block that skips it, creates nothing)")
		}
		b.WriteString(".")
	}
	if len(r.Edited) > 0 {
		fmt.Fprintf(&b, " You changed %s, but production ran it before your change and never runs it again: what you add to it reaches no database.", strings.Join(r.Edited, " and "))
	}
	return "", false, b.String()
}

// pgMessage is a database error without the driver's decoration.
func pgMessage(err error) string {
	return strings.TrimPrefix(err.Error(), "ERROR: ")
}
