package signalrt

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reliablesignals/signals/runtime/internal/dbsqlc"
)

// The hot statements (the claims, the fan-out of sends, the lease rescue,
// the orphan sweep, retention) read the queue in the order of an index and
// stop at their LIMIT, so that each costs what it claims, whatever the size
// of the table. PostgreSQL chooses plans by their estimated cost, and under
// a busy queue the statistics are often wrong: autovacuum's VACUUM of a
// queue that was drained at that instant records a table of a few live
// rows on thousands of pages. With those estimates a plan that scans every
// task and sorts them, or that walks the whole primary key for each task
// found, costs as little as the index scan; a worker keeps the generic plan
// it made from them (see Worker.bookkeepingConfig) until the statistics
// change again, and would run it on every claim in the meantime: claims of
// seconds each while the queue falls behind by a million tasks.
//
// Two things make those plans impossible, not merely unlikely:
//   - the statements that update the rows they selected find them with
//     id = ANY(ARRAY(subquery)), which can only be an index lookup per row
//     (a join could walk the table for each row the planner expects);
//   - indexOnly sends them after PlanFromIndexes, in the same batch and so
//     the same transaction, which takes sequential scans, bitmap scans and
//     sorts out of the planner's choice while an index path exists.
//
// TestHotStatementPlans checks each plan in the table states that made the
// planner choose otherwise.

// batcher is what indexOnly sends its batches to: a pool, a connection or
// a transaction.
type batcher interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// database is what a worker's bookkeeping runs on: a *pgxpool.Pool, or, in
// TestHotStatementPlans, a connection that explains each statement.
type database interface {
	dbsqlc.DBTX
	batcher
	Begin(ctx context.Context) (pgx.Tx, error)
}

// indexOnly is a dbsqlc.DBTX that runs each statement after
// PlanFromIndexes, both in one batch: one round trip, one transaction.
type indexOnly struct{ db batcher }

// send queues PlanFromIndexes and the statement, sends them, and reads the
// result of the first.
func (x indexOnly) send(ctx context.Context, sql string, args []any) (pgx.BatchResults, error) {
	b := &pgx.Batch{}
	b.Queue(dbsqlc.PlanFromIndexes)
	b.Queue(sql, args...)
	br := x.db.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		return nil, errors.Join(err, br.Close())
	}
	return br, nil
}

// Exec implements dbsqlc.DBTX.
func (x indexOnly) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	br, err := x.send(ctx, sql, args)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := br.Exec()
	return tag, errors.Join(err, br.Close())
}

// Query implements dbsqlc.DBTX.
func (x indexOnly) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	br, err := x.send(ctx, sql, args)
	if err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		return nil, errors.Join(err, br.Close())
	}
	return &batchRows{Rows: rows, br: br}, nil
}

// QueryRow implements dbsqlc.DBTX.
func (x indexOnly) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	rows, err := x.Query(ctx, sql, args...)
	return batchRow{rows: rows, err: err}
}

// batchRows are the rows of a batch's last statement: closing them closes
// the batch.
type batchRows struct {
	pgx.Rows
	br     pgx.BatchResults
	closed bool
	err    error
}

func (r *batchRows) Close() {
	if r.closed {
		return
	}
	r.closed = true
	r.Rows.Close()
	r.err = errors.Join(r.Rows.Err(), r.br.Close())
}

func (r *batchRows) Err() error {
	if r.closed {
		return r.err
	}
	return r.Rows.Err()
}

// batchRow is QueryRow's row: the first of the rows, as pgx's own.
type batchRow struct {
	rows pgx.Rows
	err  error
}

func (r batchRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		r.rows.Close()
		if err := r.rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	r.rows.Close()
	return r.rows.Err()
}

// planned returns the executor that the admin API runs its statements on:
// db itself, or, for a pool, indexOnly over it. Only a pool: the planner
// settings of PlanFromIndexes last until the end of the transaction, and a
// connection or a transaction of the caller's may be inside one that goes
// on after the statement.
func planned(db Executor) dbsqlc.DBTX {
	switch d := db.(type) {
	case *pgxpool.Pool:
		return indexOnly{d}
	case autocommit:
		return indexOnly{d}
	}
	return db
}

// autocommit is a database, other than a pool, whose batches are
// transactions of their own (TestHotStatementPlans's explainer).
type autocommit interface {
	batcher
	autocommit()
}
