package signalrt_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reliablesignals/signals/internal/pgtest"
	signalrt "github.com/reliablesignals/signals/runtime"
)

// roundTrips counts what a pgx connection sends: statements on their own,
// and batches.
type roundTrips struct{ statements, taskStatements, batches atomic.Int64 }

func (c *roundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	c.statements.Add(1)
	if strings.Contains(d.SQL, "signal_task") {
		c.taskStatements.Add(1)
	}
	return ctx
}
func (c *roundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (c *roundTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.batches.Add(1)
	return ctx
}
func (c *roundTrips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (c *roundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

// beginFuncSetup returns a pool whose connections count their round trips,
// with an orders table and a trigger that fails the insert of the tasks of
// signal "boom".
func beginFuncSetup(t *testing.T) (*pgxpool.Pool, *roundTrips) {
	t.Helper()
	_, url := pgtest.Schema(t)
	base := pgtest.PoolFor(t, url)
	pgtest.Exec(t, base, "CREATE TABLE orders (id bigserial PRIMARY KEY)")
	pgtest.Exec(t, base, `CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN IF NEW.signal = 'boom' THEN RAISE EXCEPTION 'boom refused'; END IF; RETURN NEW; END $$`)
	pgtest.Exec(t, base, "CREATE TRIGGER refuse_boom BEFORE INSERT ON signal_task FOR EACH ROW EXECUTE FUNCTION refuse_boom()")
	pgtest.Exec(t, base, "CREATE TRIGGER refuse_boom BEFORE INSERT ON signal_send FOR EACH ROW EXECUTE FUNCTION refuse_boom()")
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	counter := &roundTrips{}
	cfg.ConnConfig.Tracer = counter
	cfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool, counter
}

// rowsIn counts the orders, and the tasks: those in signal_task and those
// of the sends that wait for their fan-out (no worker runs in these tests).
func rowsIn(t *testing.T, pool *pgxpool.Pool) (orders, tasks int) {
	t.Helper()
	if err := pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM orders),
		(SELECT count(*) FROM signal_task) + (SELECT coalesce(sum(cardinality(receivers)), 0) FROM signal_send)`).Scan(&orders, &tasks); err != nil {
		t.Fatal(err)
	}
	return orders, tasks
}

func TestBeginFuncSendsWithTheCommit(t *testing.T) {
	ctx := context.Background()
	pool, rt := beginFuncSetup(t)
	order := func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO orders DEFAULT VALUES")
		return err
	}
	// Warm the statement cache: the first batch prepares its statements.
	if err := signalrt.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		return signalrt.Send(ctx, tx, "test", routes("a", "b", "c"), num{N: 0}, signalrt.Unique("warm"))
	}); err != nil {
		t.Fatal(err)
	}
	if err := signalrt.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		return signalrt.Send(ctx, tx, "test", routes("a", "b", "c"), num{N: 0})
	}); err != nil {
		t.Fatal(err)
	}
	pgtest.Exec(t, pool, "DELETE FROM signal_task")
	pgtest.Exec(t, pool, "DELETE FROM signal_send")

	statements, taskStatements, batches := rt.statements.Load(), rt.taskStatements.Load(), rt.batches.Load()
	var enqueued, uniqueEnqueued int
	err := signalrt.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if err := order(tx); err != nil {
			return err
		}
		if err := signalrt.Send(ctx, tx, "test", routes("a", "b", "c"), num{N: 1}, signalrt.Enqueued(&enqueued)); err != nil {
			return err
		}
		if err := signalrt.Send(ctx, tx, "test", routes("a", "b", "c"), num{N: 2}, signalrt.Unique("k"), signalrt.Enqueued(&uniqueEnqueued)); err != nil {
			return err
		}
		if enqueued != 0 || uniqueEnqueued != 0 {
			t.Errorf("Enqueued inside fn: %d, %d; want 0 until the commit", enqueued, uniqueEnqueued)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// begin and the order's insert on their own; both sends and the
	// commit in one batch: three round trips, as without the signals.
	if s, ts, b := rt.statements.Load()-statements, rt.taskStatements.Load()-taskStatements, rt.batches.Load()-batches; s != 2 || ts != 0 || b != 1 {
		t.Errorf("round trips: %d statements (%d on signal_task) and %d batches; want 2 (begin, the order), 0 and 1", s, ts, b)
	}
	if o, n := rowsIn(t, pool); o != 1 || n != 6 {
		t.Fatalf("after commit: %d orders, %d tasks; want 1 and 6", o, n)
	}
	if enqueued != 3 || uniqueEnqueued != 3 {
		t.Errorf("Enqueued after the commit: %d, %d; want 3, 3", enqueued, uniqueEnqueued)
	}
	// The plain send is one signal_send row for its three routes; the
	// unique one inserted its tasks (the unique index must see them).
	var sends, tasks int
	if err := pool.QueryRow(ctx, "SELECT (SELECT count(*) FROM signal_send), (SELECT count(*) FROM signal_task)").Scan(&sends, &tasks); err != nil {
		t.Fatal(err)
	}
	if sends != 1 || tasks != 3 {
		t.Errorf("after commit: %d sends to fan out and %d tasks; want 1 and 3", sends, tasks)
	}
	// A second unique send of the key enqueues nothing, counted at commit.
	if err := signalrt.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		return signalrt.Send(ctx, tx, "test", routes("a", "b", "c"), num{N: 3}, signalrt.Unique("k"), signalrt.Enqueued(&uniqueEnqueued))
	}); err != nil || uniqueEnqueued != 0 {
		t.Errorf("repeated unique send: %v, enqueued %d; want nil, 0", err, uniqueEnqueued)
	}
}

func TestBeginFuncRollsBack(t *testing.T) {
	ctx := context.Background()
	pool, _ := beginFuncSetup(t)
	sendAndOrder := func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO orders DEFAULT VALUES"); err != nil {
			return err
		}
		return signalrt.Send(ctx, tx, "test", routes("a", "b"), num{N: 1})
	}
	check := func(what string) {
		t.Helper()
		if o, n := rowsIn(t, pool); o != 0 || n != 0 {
			t.Errorf("%s: %d orders, %d tasks; want none", what, o, n)
		}
	}

	errFn := errors.New("fn failed")
	if err := signalrt.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if err := sendAndOrder(tx); err != nil {
			return err
		}
		return errFn
	}); !errors.Is(err, errFn) {
		t.Errorf("fn's error: %v", err)
	}
	check("fn returned an error")

	err := signalrt.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if err := sendAndOrder(tx); err != nil {
			return err
		}
		return signalrt.Send(ctx, tx, "boom", routes("a"), num{N: 2}) // fails at the commit
	})
	if err == nil || !strings.Contains(err.Error(), "signal boom") || !strings.Contains(err.Error(), "boom refused") {
		t.Errorf("a failing insert in the batch: %v; want the insert's error, naming the signal", err)
	}
	check("a task insert failed at the commit")

	func() {
		defer func() {
			if p := recover(); p != "fn panicked" {
				t.Errorf("recovered %v; want fn's panic", p)
			}
		}()
		_ = signalrt.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if err := sendAndOrder(tx); err != nil {
				return err
			}
			panic("fn panicked")
		})
	}()
	check("fn panicked")

	cctx, cancel := context.WithCancel(ctx)
	err = signalrt.BeginFunc(cctx, pool, func(tx pgx.Tx) error {
		if err := sendAndOrder(tx); err != nil {
			return err
		}
		cancel() // before the commit
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("context cancelled before the commit: %v; want context.Canceled", err)
	}
	check("the context ended before the commit")

	// fn ignored a failed statement: the commit rolls back, and says so,
	// with sends and without.
	for _, withSend := range []bool{false, true} {
		err := signalrt.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if withSend {
				if err := sendAndOrder(tx); err != nil {
					return err
				}
			}
			_, _ = tx.Exec(ctx, "SELECT 1/0")
			return nil
		})
		if !errors.Is(err, pgx.ErrTxCommitRollback) && (err == nil || !strings.Contains(err.Error(), "aborted")) {
			t.Errorf("fn ignored a failed statement (send %v): %v; want the commit to fail", withSend, err)
		}
	}
	check("fn ignored a failed statement")

	if err := signalrt.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return tx.Commit(ctx) }); err == nil || !strings.Contains(err.Error(), "do not end its transaction") {
		t.Errorf("fn committing itself: %v", err)
	}
	if err := signalrt.BeginFunc(ctx, signalrt.SQL(nil), func(pgx.Tx) error { return nil }); err == nil || !strings.Contains(err.Error(), "*pgxpool.Pool or a *pgx.Conn") {
		t.Errorf("BeginFunc on another Executor: %v", err)
	}
	// A send on the transaction after BeginFunc returned is refused, not
	// queued for a commit that will never come.
	var escaped pgx.Tx
	if err := signalrt.BeginFunc(ctx, pool, func(tx pgx.Tx) error { escaped = tx; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := signalrt.Send(ctx, escaped, "test", routes("a"), num{N: 9}); err == nil || !strings.Contains(err.Error(), "has returned") {
		t.Errorf("send after BeginFunc returned: %v; want an error", err)
	}
	// The pool's one connection is still good.
	if err := signalrt.BeginFunc(ctx, pool, sendAndOrder); err != nil {
		t.Fatal(err)
	}
	if o, n := rowsIn(t, pool); o != 1 || n != 2 {
		t.Errorf("after all that, a good transaction: %d orders, %d tasks; want 1 and 2", o, n)
	}
}

// TestBeginFuncSavepoints: sends in a savepoint run at once and go with
// it; sends outside it wait for the commit.
func TestBeginFuncSavepoints(t *testing.T) {
	ctx := context.Background()
	pool, _ := beginFuncSetup(t)
	err := signalrt.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if err := signalrt.Send(ctx, tx, "test", routes("outer"), num{N: 1}); err != nil {
			return err
		}
		sp, err := tx.Begin(ctx)
		if err != nil {
			return err
		}
		if err := signalrt.Send(ctx, sp, "test", routes("dropped"), num{N: 2}); err != nil {
			return err
		}
		if err := sp.Rollback(ctx); err != nil {
			return err
		}
		return pgx.BeginFunc(ctx, tx, func(sp pgx.Tx) error {
			return signalrt.Send(ctx, sp, "test", routes("kept"), num{N: 3})
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	// The outer send waits for its fan-out; the savepoint's ran at once.
	if _, err := signalrt.RunUntilIdle(ctx, pool, nil); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]int{"outer": 1, "dropped": 0, "kept": 1} {
		if n := tasksOf(t, pool, key); n != want {
			t.Errorf("receiver %s: %d tasks; want %d", key, n, want)
		}
	}
}
