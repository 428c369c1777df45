package signalrt

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reliablesignals/signals/runtime/internal/dbsqlc"
)

// TestHotStatementPlans puts the task table into the states in which the
// planner's statistics lie, and checks the plan of every hot statement in
// each, as PostgreSQL would run it on a worker's connection (a generic
// plan) and on a connection that plans each call (a custom plan): each
// must read the queue tables from an index, bounded by its LIMIT or by the
// ids it is given, and never scan or sort a whole table.
//
// The states are built, not faked: statistics taken by VACUUM and ANALYZE
// of real rows, then rows added or removed behind them. "drained at
// vacuum" is what autovacuum leaves under sustained load: a VACUUM that
// ran while the queue was momentarily empty, so that the planner believes
// a table of many pages holds one row; a claim that joined the tasks it
// selected with the table then walked the whole primary key for each.
//
// It runs before the package's parallel tests, one state at a time: the
// rows it writes would otherwise slow the commits of tests that time
// leases.
func TestHotStatementPlans(t *testing.T) {
	for _, st := range planStates {
		t.Run(st.name, func(t *testing.T) {
			ctx := context.Background()
			pool, conn := planSchema(t)
			for _, sql := range st.setup {
				if _, err := conn.Exec(ctx, sql); err != nil {
					t.Fatalf("setting up %q: %s: %v", st.name, sql, err)
				}
			}
			x := &explainer{conn: conn}
			w := planWorker(t, pool)
			w.db = x
			for _, h := range hotStatements {
				x.plans = x.plans[:0]
				if err := h.run(ctx, w, x); err != nil {
					t.Errorf("%s: %v", h.name, err)
					continue
				}
				if len(x.plans) == 0 {
					t.Errorf("%s: ran no statement that could be explained", h.name)
				}
				for _, err := range x.errs {
					t.Errorf("%s: %v", h.name, err)
				}
				x.errs = x.errs[:0]
				for _, p := range x.plans {
					for _, problem := range checkPlan(p.plan, statementRules[p.statement]) {
						t.Errorf("%s: %s (%s plan):\n  %s\n%s", h.name, p.statement, p.mode, problem, p.text)
					}
				}
			}
		})
	}
}

// planState is a table state to check the plans in: SQL run in a fresh,
// migrated schema whose tables autovacuum leaves alone.
type planState struct {
	name  string
	setup []string
}

// Rows of the states: fillTasks(n, state, receivers) inserts n tasks of
// the default queue; the sends are the BeginFunc sends waiting for their
// fan-out.
func fillTasks(n int, state, receiver string, priority int) string {
	lease, worker, finished := "NULL", "NULL", "NULL"
	switch state {
	case "running":
		lease, worker = "now() - interval '1 minute' + (i % 2) * interval '1 hour'", "'w'"
	case "succeeded", "dead":
		finished = "now() - interval '30 days'"
	}
	if receiver == "" {
		receiver = "(ARRAY['a.A','b.B','c.C','d.D','e.E'])[1 + i % 5]"
	}
	return fmt.Sprintf(`INSERT INTO signal_task (signal, receiver, queue, state, payload, priority, lease_until, worker, finished_at)
		SELECT 'order_placed', %s, 'default', '%s', '{"order_id": 1}', %d, %s, %s, %s
		FROM generate_series(1, %d) i`, receiver, state, priority, lease, worker, finished, n)
}

func fillSends(n int) string {
	return fmt.Sprintf(`INSERT INTO signal_send (signal, receivers, queues, max_attempts, timeouts_ms, priorities, payload, run_at)
		SELECT 'order_placed', '{a.A,b.B}', '{default,default}', '{25,25}', '{0,0}', '{0,0}', '{"order_id": 1}', now()
		FROM generate_series(1, %d) i`, n)
}

// planRows is the size of the states' tables: enough pages that a scan
// of the whole table costs more than any index path, in the planner's
// eyes too, unless the statistics mislead it.
const planRows = 20_000

// backlog is a queue as a worker sees it under load: available tasks,
// some running (half with an expired lease), some dead and some
// succeeded kept by Retention; and sends waiting for their fan-out.
var backlog = []string{
	fillTasks(planRows, "available", "", 0),
	fillTasks(planRows/50, "running", "", 0),
	fillTasks(planRows/50, "dead", "", 0),
	fillTasks(planRows/50, "succeeded", "", 0),
	fillSends(planRows / 5),
}

var planStates = []planState{
	{name: "never analyzed", setup: backlog},
	{name: "drained at vacuum", setup: concat(
		// A busy queue, drained but for its newest task at the moment a
		// VACUUM ANALYZE ran: the statistics say one row on many pages.
		[]string{fillTasks(planRows, "available", "", 0), fillSends(planRows / 5),
			"DELETE FROM signal_task WHERE id < (SELECT max(id) FROM signal_task)",
			"DELETE FROM signal_send WHERE id < (SELECT max(id) FROM signal_send)",
			"VACUUM ANALYZE signal_task", "VACUUM ANALYZE signal_send"},
		backlog)},
	{name: "analyzed full then drained", setup: concat(
		// The statistics of a big backlog, its rows deleted since.
		backlog,
		[]string{"ANALYZE signal_task", "ANALYZE signal_send", "DELETE FROM signal_task", "DELETE FROM signal_send",
			fillTasks(100, "available", "", 0), fillSends(10)})},
	{name: "other receivers and priorities at analyze", setup: concat(
		// The statistics say the worker's receivers, and tasks of
		// priority 0, are rare: a filter on them passes few rows.
		[]string{fillTasks(planRows, "available", "'z.' || (i % 50)", 5),
			fillTasks(planRows/50, "running", "'z.' || (i % 50)", 5),
			fillTasks(planRows/50, "dead", "'z.' || (i % 50)", 5),
			"ANALYZE signal_task", "DELETE FROM signal_task"},
		backlog)},
	{name: "nothing due at analyze", setup: concat(
		// Every task waited for a later run_at when the statistics were
		// taken.
		[]string{fillTasks(planRows, "available", "", 0),
			"UPDATE signal_task SET run_at = now() + interval '1 day'",
			"ANALYZE signal_task", "DELETE FROM signal_task"},
		backlog)},
}

func concat(parts ...[]string) []string {
	var all []string
	for _, p := range parts {
		all = append(all, p...)
	}
	return all
}

// rule is what a statement's plan may do with the queue tables.
type rule int

const (
	// bounded: every scan of a queue table is an index lookup of given
	// keys, or an index scan in order that a LIMIT stops.
	bounded rule = iota
	// byState: as bounded, or a scan of a partial index of the states the
	// statement counts, such as the running tasks (as many as the workers
	// have slots) or the available ones (the ops views count them), or of
	// every pending send, sorted if need be.
	byState
)

// statementRules are the statements that may read every task of some
// states; every other statement is bounded.
var statementRules = map[string]rule{
	"CountRunning":        byState, // the receiver's running tasks
	"CountRunningInQueue": byState,
	"KillOrphans":         byState, // the tasks due for longer than the orphan grace
	"DueQueues":           byState,
	"CountByQueue":        byState,
	"CountByReceiver":     byState,
	"QueueGauges":         byState,
	"PendingSends":        byState,
}

// hotStatement is an operation of the runtime's, run as the runtime runs
// it: with the worker's database replaced by the explainer.
type hotStatement struct {
	name string
	run  func(ctx context.Context, w *Worker, x *explainer) error
}

var hotStatements = []hotStatement{
	{"claim", func(ctx context.Context, w *Worker, x *explainer) error {
		_, err := w.byName[DefaultQueue].claim(ctx, 100, nil)
		return err
	}},
	{"claim after a cursor", func(ctx context.Context, w *Worker, x *explainer) error {
		_, err := w.byName[DefaultQueue].claim(ctx, 100, &cursor{rank: 0, runAt: time.Now().Add(-time.Hour), id: 10})
		return err
	}},
	{"claim of a limited receiver", func(ctx context.Context, w *Worker, x *explainer) error {
		q := w.byName[DefaultQueue]
		_, _, err := q.claimLimited(ctx, q.limited[0], 10)
		return err
	}},
	{"claim of a limited queue", func(ctx context.Context, w *Worker, x *explainer) error {
		q := w.byName["limited"]
		_, _, err := q.claimLimited(ctx, q.queueLimit, 10)
		return err
	}},
	{"fan-out of sends", func(ctx context.Context, w *Worker, x *explainer) error {
		_, err := w.fanOutOnce(ctx, w.db, map[int64]time.Time{})
		return err
	}},
	{"next send", func(ctx context.Context, w *Worker, x *explainer) error {
		_, err := queries.NextSendID(ctx, w.db, []int64{1})
		return err
	}},
	{"record successes", func(ctx context.Context, w *Worker, x *explainer) error {
		ids := []int64{1, 2, 3}
		if err := w.finish(ctx, ids); err != nil {
			return err
		}
		return queries.CompleteTasks(ctx, w.db, dbsqlc.CompleteTasksParams{Ids: ids, Worker: w.cfg.Name})
	}},
	{"record a failure, a snooze, a release", func(ctx context.Context, w *Worker, x *explainer) error {
		if err := queries.FailTask(ctx, w.db, dbsqlc.FailTaskParams{ID: 1, Attempt: 1, Worker: w.cfg.Name, Error: "e"}); err != nil {
			return err
		}
		if err := queries.SnoozeTask(ctx, w.db, dbsqlc.SnoozeTaskParams{ID: 2, Attempt: 1, Worker: w.cfg.Name}); err != nil {
			return err
		}
		return queries.ReleaseTasks(ctx, w.db, dbsqlc.ReleaseTasksParams{Ids: []int64{3}, Worker: w.cfg.Name})
	}},
	{"extend leases", func(ctx context.Context, w *Worker, x *explainer) error {
		_, err := queries.ExtendLeases(ctx, w.db, dbsqlc.ExtendLeasesParams{Ids: []int64{1, 2}, Worker: w.cfg.Name, LeaseSeconds: 60})
		return err
	}},
	{"lease rescue", func(ctx context.Context, w *Worker, x *explainer) error {
		w.rescueExpired(ctx)
		return nil
	}},
	{"retention", func(ctx context.Context, w *Worker, x *explainer) error {
		w.deleteFinished(ctx, string(StateSucceeded), time.Hour)
		w.deleteFinished(ctx, string(StateDead), time.Hour)
		return nil
	}},
	{"orphan sweep", func(ctx context.Context, w *Worker, x *explainer) error {
		w.sweep(ctx)
		return nil
	}},
	{"run until idle: due queues", func(ctx context.Context, w *Worker, x *explainer) error {
		_, err := queries.DueQueues(ctx, w.db)
		return err
	}},
	{"ops: queue overview", func(ctx context.Context, w *Worker, x *explainer) error {
		_, err := QueueOverview(ctx, x)
		return err
	}},
	{"ops: receivers of a queue", func(ctx context.Context, w *Worker, x *explainer) error {
		_, err := QueueReceivers(ctx, x, DefaultQueue)
		return err
	}},
	{"ops: queue gauges", func(ctx context.Context, w *Worker, x *explainer) error {
		_, err := QueueGauges(ctx, x)
		return err
	}},
	{"ops: newest tasks", func(ctx context.Context, w *Worker, x *explainer) error {
		_, err := SearchTasks(ctx, x, TaskQuery{})
		return err
	}},
	{"ops: a page of dead tasks", func(ctx context.Context, w *Worker, x *explainer) error {
		_, err := SearchTasks(ctx, x, TaskQuery{State: StateDead, BeforeID: 1_000_000})
		return err
	}},
}

// planWorker returns a worker whose default queue has a limited receiver,
// and a queue with a Limit of its own, without running it.
func planWorker(t *testing.T, pool *pgxpool.Pool) *Worker {
	t.Helper()
	noop := func(context.Context, []byte) error { return nil }
	table := Table{
		{Key: "a.A", Signal: "order_placed", Handle: noop},
		{Key: "b.B", Signal: "order_placed", Handle: noop},
		{Key: "c.C", Signal: "order_placed", Handle: noop, Limit: Limit{Concurrency: 5}},
		{Key: "d.D", Signal: "order_placed", Queue: "limited", Handle: noop},
	}
	w, err := NewWorker(pool, table, Config{Name: "planner", Logger: slog.New(slog.DiscardHandler), Queues: []QueueConfig{
		{Name: "limited", Limit: Limit{Concurrency: 3}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// planSchema returns a pool and a connection on a fresh, migrated schema,
// dropped when the test ends, whose queue tables autovacuum leaves alone
// (the states set their statistics themselves).
func planSchema(t *testing.T) (*pgxpool.Pool, *pgx.Conn) {
	t.Helper()
	ctx := context.Background()
	base := os.Getenv("DATABASE_URL")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("cannot connect to PostgreSQL at %s: %v\n"+
			"Start a server, or set DATABASE_URL to one this test may create schemas in.", base, err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "sigplan_" + hex.EncodeToString(b)
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
		admin.Close(ctx)
	})
	cfg, err := pgxpool.ParseConfig(base)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig.Copy())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	for _, table := range []string{"signal_task", "signal_send"} {
		if _, err := conn.Exec(ctx, "ALTER TABLE "+table+" SET (autovacuum_enabled = false)"); err != nil {
			t.Fatal(err)
		}
	}
	return pool, conn
}

// explainer is a database (and an Executor) on one connection that
// explains each statement before it runs it, and records the plans: the
// generic plan and a custom plan for the statement's arguments. A batch
// (see indexOnly) is explained with the statements before its last in
// effect. Not safe for concurrent use.
type explainer struct {
	conn  *pgx.Conn
	tx    pgx.Tx // set on the explainer that Begin returns
	plans []explained
	errs  []error // of explaining batches, whose results cannot carry them
}

type explained struct {
	statement string // the sqlc name
	mode      string // generic or custom
	plan      map[string]any
	text      string
}

var sqlcName = regexp.MustCompile(`^-- name: (\w+)`)

// explain records the plans of sql with args, after running before in the
// same transaction (undone afterwards).
func (x *explainer) explain(ctx context.Context, before []string, sql string, args []any) error {
	name := sqlcName.FindStringSubmatch(sql)
	if name == nil {
		return fmt.Errorf("not a sqlc statement: %.60q", sql)
	}
	if !explainable(sql) {
		return nil
	}
	lits := make([]string, len(args))
	for i := range args {
		lits[i] = fmt.Sprintf("$%d", i+1)
	}
	execute := "EXECUTE signal_plan_test"
	if len(args) > 0 {
		execute += "(" + strings.Join(lits, ", ") + ")"
	}
	var db interface {
		Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
		Query(context.Context, string, ...any) (pgx.Rows, error)
		QueryRow(context.Context, string, ...any) pgx.Row
	} = x.conn
	begin, undo := "BEGIN", "ROLLBACK"
	if x.tx != nil {
		db, begin, undo = x.tx, "SAVEPOINT signal_plan_test", "ROLLBACK TO SAVEPOINT signal_plan_test"
	}
	for _, mode := range []string{"generic", "custom"} {
		err := func() (err error) {
			if _, err := db.Exec(ctx, begin); err != nil {
				return err
			}
			defer func() {
				if _, uerr := db.Exec(ctx, undo); err == nil {
					err = uerr
				}
			}()
			if _, err := db.Exec(ctx, "SET LOCAL plan_cache_mode = force_"+mode+"_plan"); err != nil {
				return err
			}
			for _, s := range before {
				if _, err := db.Exec(ctx, s); err != nil {
					return err
				}
			}
			if len(before) > 0 {
				// A statement planned with disabled paths can cost past
				// jit_above_cost: the settings must turn JIT off too.
				var jit string
				if err := db.QueryRow(ctx, "SELECT current_setting('jit')").Scan(&jit); err != nil {
					return err
				}
				if jit != "off" {
					return fmt.Errorf("the planner settings leave jit %s; compiling a statement whose cost carries the penalty of disabled paths takes seconds", jit)
				}
			}
			if _, err := db.Exec(ctx, "PREPARE signal_plan_test AS "+sql); err != nil {
				return err
			}
			defer func() {
				if _, derr := db.Exec(ctx, "DEALLOCATE signal_plan_test"); err == nil {
					err = derr
				}
			}()
			for _, format := range []string{"JSON", "TEXT"} {
				rows, err := db.Query(ctx, "EXPLAIN (FORMAT "+format+") "+execute, append([]any{pgx.QueryExecModeSimpleProtocol}, args...)...)
				if err != nil {
					return err
				}
				lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
				if err != nil {
					return err
				}
				out := strings.Join(lines, "\n")
				if format == "TEXT" {
					x.plans[len(x.plans)-1].text = out
					continue
				}
				var plans []struct{ Plan map[string]any }
				if err := json.Unmarshal([]byte(out), &plans); err != nil {
					return err
				}
				x.plans = append(x.plans, explained{statement: name[1], mode: mode, plan: plans[0].Plan})
			}
			return nil
		}()
		if err != nil {
			return fmt.Errorf("explaining %s (%s plan): %w", name[1], mode, err)
		}
	}
	return nil
}

// explainable reports whether sql, after its comments, is a statement
// EXPLAIN takes.
func explainable(sql string) bool {
	for _, line := range strings.Split(sql, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "--") {
			continue
		}
		word, _, _ := strings.Cut(line, " ")
		switch strings.ToUpper(word) {
		case "SELECT", "WITH", "INSERT", "UPDATE", "DELETE", "(SELECT":
			return true
		}
		return false
	}
	return false
}

func (x *explainer) db() interface {
	Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
	Query(context.Context, string, ...any) (pgx.Rows, error)
	QueryRow(context.Context, string, ...any) pgx.Row
	SendBatch(context.Context, *pgx.Batch) pgx.BatchResults
	Begin(context.Context) (pgx.Tx, error)
} {
	if x.tx != nil {
		return x.tx
	}
	return x.conn
}

func (x *explainer) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if err := x.explain(ctx, nil, sql, args); err != nil {
		return pgconn.CommandTag{}, err
	}
	return x.db().Exec(ctx, sql, args...)
}

func (x *explainer) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if err := x.explain(ctx, nil, sql, args); err != nil {
		return nil, err
	}
	return x.db().Query(ctx, sql, args...)
}

func (x *explainer) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if err := x.explain(ctx, nil, sql, args); err != nil {
		return failedRow{err}
	}
	return x.db().QueryRow(ctx, sql, args...)
}

func (x *explainer) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	var before []string
	for _, q := range b.QueuedQueries[:len(b.QueuedQueries)-1] {
		if len(q.Arguments) > 0 {
			x.errs = append(x.errs, fmt.Errorf("explainer: a batch's statement before its last takes arguments: %.60q", q.SQL))
		}
		before = append(before, q.SQL)
	}
	last := b.QueuedQueries[len(b.QueuedQueries)-1]
	if err := x.explain(ctx, before, last.SQL, last.Arguments); err != nil {
		x.errs = append(x.errs, err)
	}
	return x.db().SendBatch(ctx, b)
}

// autocommit tells planned that the explainer's batches are transactions of
// their own, as a pool's are.
func (x *explainer) autocommit() {}

func (x *explainer) Begin(ctx context.Context) (pgx.Tx, error) {
	tx, err := x.db().Begin(ctx)
	if err != nil {
		return nil, err
	}
	return &explainTx{Tx: tx, x: &explainer{conn: x.conn, tx: tx}, parent: x}, nil
}

// explainTx is a transaction of the explainer's that explains its
// statements too.
type explainTx struct {
	pgx.Tx
	x      *explainer
	parent *explainer
}

func (t *explainTx) collect() {
	t.parent.plans = append(t.parent.plans, t.x.plans...)
	t.parent.errs = append(t.parent.errs, t.x.errs...)
	t.x.plans, t.x.errs = t.x.plans[:0], t.x.errs[:0]
}

func (t *explainTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	defer t.collect()
	return t.x.Exec(ctx, sql, args...)
}

func (t *explainTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	defer t.collect()
	return t.x.Query(ctx, sql, args...)
}

func (t *explainTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	defer t.collect()
	return t.x.QueryRow(ctx, sql, args...)
}

func (t *explainTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	defer t.collect()
	return t.x.SendBatch(ctx, b)
}

type failedRow struct{ err error }

func (r failedRow) Scan(...any) error { return r.err }

// queueTables are the tables whose size grows with the queue.
var queueTables = map[string]bool{"signal_task": true, "signal_send": true}

// checkPlan returns what is wrong with plan under r.
func checkPlan(plan map[string]any, r rule) []string {
	var problems []string
	var walk func(n map[string]any, limited bool, path []string)
	walk = func(n map[string]any, limited bool, path []string) {
		typ, _ := n["Node Type"].(string)
		rel, _ := n["Relation Name"].(string)
		index, _ := n["Index Name"].(string)
		cond, _ := n["Index Cond"].(string)
		where := strings.Join(append(path, typ), " > ")
		if (typ == "Sort" || typ == "Incremental Sort") && r == bounded {
			if scans := unboundedScans(n); len(scans) > 0 {
				problems = append(problems, fmt.Sprintf("%s sorts every row of %s", where, strings.Join(scans, ", ")))
			}
		}
		if queueTables[rel] && typ != "ModifyTable" {
			switch {
			case typ == "Seq Scan" && r == byState && rel == "signal_send":
				// Every row of signal_send is a pending send.
			case typ == "Seq Scan" || typ == "Tid Range Scan":
				problems = append(problems, fmt.Sprintf("%s reads the whole of %s", where, rel))
			case typ == "Bitmap Heap Scan":
				// Judged by its Bitmap Index Scans, below.
			case keyLookup(index, cond):
			case limited:
			case r == byState && partialIndex(index):
			default:
				problems = append(problems, fmt.Sprintf("%s reads %s through %s (%s) without a LIMIT in its order", where, rel, orNone(index), orNone(cond)))
			}
		}
		if typ == "Bitmap Index Scan" && !keyLookup(index, cond) && !(r == byState && partialIndex(index)) {
			problems = append(problems, fmt.Sprintf("%s reads %s (%s) whole, out of order", where, index, orNone(cond)))
		}
		switch typ {
		case "Limit":
			limited = true
		case "LockRows", "Result", "Subquery Scan", "Append", "Merge Append":
			// They pass rows on as they come: a LIMIT above still stops
			// the scan below.
		default:
			limited = false
		}
		children, _ := n["Plans"].([]any)
		for _, c := range children {
			if cm, ok := c.(map[string]any); ok {
				// An InitPlan or SubPlan runs to its own end, whatever
				// its parent's LIMIT.
				rel, _ := cm["Parent Relationship"].(string)
				walk(cm, limited && rel != "InitPlan" && rel != "SubPlan", append(path, typ))
			}
		}
	}
	walk(plan, false, nil)
	return problems
}

// unboundedScans lists the scans of queue tables below n that are not a
// key lookup nor stopped by a LIMIT below n.
func unboundedScans(n map[string]any) []string {
	var scans []string
	children, _ := n["Plans"].([]any)
	for _, c := range children {
		cm, ok := c.(map[string]any)
		if !ok {
			continue
		}
		if cm["Node Type"] == "Limit" {
			continue
		}
		rel, _ := cm["Relation Name"].(string)
		index, _ := cm["Index Name"].(string)
		cond, _ := cm["Index Cond"].(string)
		if queueTables[rel] && cm["Node Type"] != "ModifyTable" && !keyLookup(index, cond) {
			scans = append(scans, rel)
		}
		scans = append(scans, unboundedScans(cm)...)
	}
	return scans
}

// keyLookup reports whether an index condition looks rows up by their
// primary key: one probe per id.
func keyLookup(index, cond string) bool {
	return strings.HasSuffix(index, "_pkey") && regexp.MustCompile(`^\(+id = `).MatchString(cond)
}

// partialIndex reports whether index holds the tasks of some states only.
func partialIndex(index string) bool {
	switch index {
	case "signal_task_available", "signal_task_running", "signal_task_priority", "signal_task_dead_by_queue", "signal_task_dead_by_id",
		"signal_task_finished_by_state":
		return true
	}
	return false
}

func orNone(s string) string {
	if s == "" {
		return "no condition"
	}
	return s
}
