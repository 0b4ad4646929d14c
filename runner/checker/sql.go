package checker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/jmoiron/sqlx"
)

// OpenDB connects to PostgreSQL at dsn (a URL or key=value string) and
// waits until it answers a query or ctx ends, so a checker can start while
// a freshly restarted database is still coming up.
func OpenDB(ctx context.Context, dsn string) (*sqlx.DB, error) {
	db, err := sqlx.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	db.SetMaxOpenConns(4)
	var last error
	for {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		last = db.PingContext(pctx)
		cancel()
		if last == nil {
			return db, nil
		}
		select {
		case <-ctx.Done():
			db.Close()
			return nil, fmt.Errorf("database did not answer: %w", errors.Join(ctx.Err(), last))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Plan is a query plan from EXPLAIN (FORMAT JSON).
type Plan struct {
	Root *PlanNode
	// PlanningTime and ExecutionTime are in milliseconds; set only by
	// [ExplainAnalyze].
	PlanningTime  float64
	ExecutionTime float64
}

// PlanNode is one node of a plan. Actual* and block fields are set only
// when the plan was made with ANALYZE (and BUFFERS).
type PlanNode struct {
	NodeType         string      `json:"Node Type"`
	RelationName     string      `json:"Relation Name,omitempty"`
	Alias            string      `json:"Alias,omitempty"`
	IndexName        string      `json:"Index Name,omitempty"`
	IndexCond        string      `json:"Index Cond,omitempty"`
	RecheckCond      string      `json:"Recheck Cond,omitempty"`
	Filter           string      `json:"Filter,omitempty"`
	SortKey          []string    `json:"Sort Key,omitempty"`
	StartupCost      float64     `json:"Startup Cost"`
	TotalCost        float64     `json:"Total Cost"`
	PlanRows         float64     `json:"Plan Rows"`
	ActualRows       float64     `json:"Actual Rows,omitempty"`
	ActualTotalTime  float64     `json:"Actual Total Time,omitempty"`
	ActualLoops      float64     `json:"Actual Loops,omitempty"`
	RowsRemoved      float64     `json:"Rows Removed by Filter,omitempty"`
	SharedHitBlocks  int64       `json:"Shared Hit Blocks,omitempty"`
	SharedReadBlocks int64       `json:"Shared Read Blocks,omitempty"`
	Plans            []*PlanNode `json:"Plans,omitempty"`
}

// ParsePlan reads the output of EXPLAIN (FORMAT JSON).
func ParsePlan(data []byte) (*Plan, error) {
	var doc []struct {
		Plan          *PlanNode `json:"Plan"`
		PlanningTime  float64   `json:"Planning Time"`
		ExecutionTime float64   `json:"Execution Time"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse EXPLAIN output: %w", err)
	}
	if len(doc) != 1 || doc[0].Plan == nil {
		return nil, errors.New("parse EXPLAIN output: no plan in it")
	}
	return &Plan{Root: doc[0].Plan, PlanningTime: doc[0].PlanningTime, ExecutionTime: doc[0].ExecutionTime}, nil
}

// Querier is what EXPLAIN runs on: a *sqlx.DB, *sqlx.Conn or *sqlx.Tx.
type Querier interface {
	QueryRowxContext(ctx context.Context, query string, args ...any) *sqlx.Row
}

// Explain returns the plan PostgreSQL chooses for query, without running it.
func Explain(ctx context.Context, q Querier, query string, args ...any) (*Plan, error) {
	return explain(ctx, q, "FORMAT JSON", query, args...)
}

// ExplainAnalyze runs query and returns its plan with actual rows, times
// and buffers. The query really runs: wrap statements that write in a
// transaction that is rolled back.
func ExplainAnalyze(ctx context.Context, q Querier, query string, args ...any) (*Plan, error) {
	return explain(ctx, q, "ANALYZE, BUFFERS, FORMAT JSON", query, args...)
}

func explain(ctx context.Context, q Querier, opts, query string, args ...any) (*Plan, error) {
	var out []byte
	if err := q.QueryRowxContext(ctx, "EXPLAIN ("+opts+") "+query, args...).Scan(&out); err != nil {
		return nil, fmt.Errorf("EXPLAIN %s: %w", oneLine(query), err)
	}
	return ParsePlan(out)
}

// Nodes returns every node of the plan, depth first.
func (p *Plan) Nodes() []*PlanNode {
	var all []*PlanNode
	p.Root.Walk(func(n *PlanNode) { all = append(all, n) })
	return all
}

// Scans returns the nodes that read table: sequential, index, index-only
// and bitmap heap scans on it.
func (p *Plan) Scans(table string) []*PlanNode {
	var out []*PlanNode
	for _, n := range p.Nodes() {
		if n.RelationName == table {
			out = append(out, n)
		}
	}
	return out
}

// SeqScans returns the sequential scans of table.
func (p *Plan) SeqScans(table string) []*PlanNode {
	var out []*PlanNode
	for _, n := range p.Scans(table) {
		if n.NodeType == "Seq Scan" || n.NodeType == "Parallel Seq Scan" {
			out = append(out, n)
		}
	}
	return out
}

// Indexes returns the names of the indexes the plan uses, in order of
// appearance, each once.
func (p *Plan) Indexes() []string {
	var names []string
	for _, n := range p.Nodes() {
		if n.IndexName != "" && !slices.Contains(names, n.IndexName) {
			names = append(names, n.IndexName)
		}
	}
	return names
}

// String renders the plan as an indented tree, like EXPLAIN's text format.
func (p *Plan) String() string {
	var b strings.Builder
	p.Root.write(&b, 0)
	if p.ExecutionTime > 0 {
		fmt.Fprintf(&b, "Planning Time: %.3f ms\nExecution Time: %.3f ms\n", p.PlanningTime, p.ExecutionTime)
	}
	return b.String()
}

// Walk calls fn for n and every node below it, depth first.
func (n *PlanNode) Walk(fn func(*PlanNode)) {
	if n == nil {
		return
	}
	fn(n)
	for _, c := range n.Plans {
		c.Walk(fn)
	}
}

// Describe is one line naming the node, e.g. "Index Scan using
// orders_customer_idx on orders".
func (n *PlanNode) Describe() string {
	s := n.NodeType
	if n.IndexName != "" {
		s += " using " + n.IndexName
	}
	if n.RelationName != "" {
		s += " on " + n.RelationName
		if n.Alias != "" && n.Alias != n.RelationName {
			s += " " + n.Alias
		}
	}
	return s
}

func (n *PlanNode) write(b *strings.Builder, depth int) {
	indent := strings.Repeat("  ", depth)
	arrow := ""
	if depth > 0 {
		arrow = "->  "
	}
	fmt.Fprintf(b, "%s%s%s  (cost=%.2f..%.2f rows=%.0f)", indent, arrow, n.Describe(), n.StartupCost, n.TotalCost, n.PlanRows)
	if n.ActualLoops > 0 {
		fmt.Fprintf(b, " (actual time=%.3f rows=%.0f loops=%.0f)", n.ActualTotalTime, n.ActualRows, n.ActualLoops)
	}
	b.WriteByte('\n')
	for _, kv := range [][2]string{{"Index Cond", n.IndexCond}, {"Recheck Cond", n.RecheckCond}, {"Filter", n.Filter}} {
		if kv[1] != "" {
			fmt.Fprintf(b, "%s      %s: %s\n", indent, kv[0], kv[1])
		}
	}
	if n.RowsRemoved > 0 {
		fmt.Fprintf(b, "%s      Rows Removed by Filter: %.0f\n", indent, n.RowsRemoved)
	}
	if n.SharedHitBlocks > 0 || n.SharedReadBlocks > 0 {
		fmt.Fprintf(b, "%s      Buffers: shared hit=%d read=%d\n", indent, n.SharedHitBlocks, n.SharedReadBlocks)
	}
	for _, c := range n.Plans {
		c.write(b, depth+1)
	}
}

// TimeQuery runs query runs times (reading every row) and returns the
// median wall time. Compare medians measured in the same run, never
// against a fixed number: the machine may be busy.
func TimeQuery(ctx context.Context, db *sqlx.DB, runs int, query string, args ...any) (time.Duration, error) {
	if runs < 1 {
		runs = 1
	}
	times := make([]time.Duration, 0, runs)
	for range runs {
		start := time.Now()
		rows, err := db.QueryContext(ctx, query, args...)
		if err != nil {
			return 0, fmt.Errorf("time query %s: %w", oneLine(query), err)
		}
		for rows.Next() {
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return 0, fmt.Errorf("time query %s: %w", oneLine(query), err)
		}
		times = append(times, time.Since(start))
	}
	return Median(times), nil
}

// Median returns the median of ds (the lower middle for an even count),
// or zero for none.
func Median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}

func oneLine(q string) string {
	q = strings.Join(strings.Fields(q), " ")
	if len(q) > 80 {
		q = q[:77] + "..."
	}
	return q
}
