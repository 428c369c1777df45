package signalrt

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// BeginFunc runs fn in a transaction on db, like pgx.BeginFunc, and sends
// the signals that fn sends on tx together with the COMMIT: their inserts
// and the COMMIT go to PostgreSQL in one pipelined batch, so that signals
// cost the transaction no round trip of their own. db is a *pgxpool.Pool
// (a connection is held for the transaction) or a *pgx.Conn.
//
// A send without a unique key writes one row for all its receivers (table
// signal_send) instead of a task per receiver: a narrow row costs the
// transaction less. A worker fans it out into the tasks, each exactly as
// a send on a pgx.Tx would have made it (same routes, payload, delay,
// headers and created_at), moving it in one statement that deletes the row
// and inserts the tasks. The send's NOTIFY wakes the workers to do it, so
// this takes milliseconds; until then the tasks are not listed by the task
// views and [QueueOverview] counts them as Pending. Any worker of this
// version fans out every queue's sends; [RunUntilIdle] fans out first. A
// send with [Unique] or [UniqueFor] inserts its tasks at the commit, since
// the unique index must see them.
//
// Atomicity is as with a send on a pgx.Tx: when fn returns nil, the sends
// commit with fn's work or, if one insert fails, nothing commits and
// BeginFunc returns that error; when fn returns an error or panics, or ctx
// ends before the commit, the transaction rolls back and nothing is sent.
// Sends inside a transaction that fn begins on tx (a savepoint) insert
// their tasks at once, as usual, so that rolling back the savepoint drops
// them.
//
// Because the inserts run at the commit, a send's problems in the database
// (a payload that PostgreSQL still refuses, a broken connection) are
// reported by BeginFunc, not by the send; [Enqueued] counts are written
// when BeginFunc commits. Hooks ([Use]) see the send when fn makes it. fn
// must not commit or roll back tx itself.
//
// Upgrading: sends made in BeginFunc need workers of this version (schema
// migration 8) to become tasks; until one runs they wait in signal_send,
// not lost. Deploy the workers first.
func BeginFunc(ctx context.Context, db Executor, fn func(tx pgx.Tx) error) (err error) {
	var conn *pgx.Conn
	switch db := db.(type) {
	case *pgxpool.Pool:
		c, err := db.Acquire(ctx)
		if err != nil {
			return err
		}
		defer c.Release()
		conn = c.Conn()
	case *pgx.Conn:
		conn = db
	default:
		return fmt.Errorf("signalrt.BeginFunc: db is a %T; it takes a *pgxpool.Pool or a *pgx.Conn (in a transaction already, send on it directly)", db)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	bt := &batchTx{Tx: tx}
	defer func() { bt.ended = true }() // a send on tx after this would be lost: refuse it
	defer func() {
		if p := recover(); p != nil {
			rollback(conn)
			panic(p)
		}
	}()
	if err := fn(bt); err != nil {
		rollback(conn)
		return err
	}
	if s := conn.PgConn().TxStatus(); s != 'T' && s != 'E' {
		return errors.New("signalrt.BeginFunc: fn ended the transaction itself; its signals were not sent (BeginFunc commits when fn returns nil)")
	}
	if err := bt.commit(ctx, conn); err != nil {
		rollback(conn)
		return err
	}
	return nil
}

// rollback ends a transaction that did not commit; a connection that
// broke is closed by pgx and dropped by its pool.
func rollback(conn *pgx.Conn) {
	if conn.IsClosed() || conn.PgConn().TxStatus() == 'I' {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	_, _ = conn.Exec(ctx, "rollback")
}

// batchTx is the transaction BeginFunc gives fn: Send recognizes it and
// queues its statement instead of running it.
type batchTx struct {
	pgx.Tx
	sends []deferredSend
	ended bool // BeginFunc has returned
}

// deferredSend is a send's statement, run at the commit.
type deferredSend struct {
	signal string
	tasks  int // routes
	sql    string
	args   []any
	unique bool // the statement returns (enqueued, notified)
	// enqueued is the send's Enqueued pointer, or nil.
	enqueued *int
}

var errEndsInBeginFunc = errors.New("signalrt.BeginFunc commits or rolls back when fn returns: do not end its transaction in fn")

// Commit refuses: BeginFunc commits when fn returns nil.
func (*batchTx) Commit(context.Context) error { return errEndsInBeginFunc }

// Rollback refuses: BeginFunc rolls back when fn returns an error.
func (*batchTx) Rollback(context.Context) error { return errEndsInBeginFunc }

// commit sends the queued statements and the COMMIT in one batch.
func (bt *batchTx) commit(ctx context.Context, conn *pgx.Conn) error {
	if len(bt.sends) == 0 {
		tag, err := conn.Exec(ctx, "commit")
		if err == nil && tag.String() == "ROLLBACK" { // fn left the transaction failed
			return pgx.ErrTxCommitRollback
		}
		return err
	}
	b := &pgx.Batch{}
	for _, s := range bt.sends {
		b.Queue(s.sql, s.args...)
	}
	b.Queue("commit")
	br := conn.SendBatch(ctx, b)
	counts := make([]int, len(bt.sends))
	err := func() error {
		for i, s := range bt.sends {
			if s.unique {
				var enqueued, notified int32
				if err := br.QueryRow().Scan(&enqueued, &notified); err != nil {
					return fmt.Errorf("signal %s: enqueueing %d tasks: %w", s.signal, s.tasks, migrateHint(err))
				}
				counts[i] = int(enqueued)
				continue
			}
			if _, err := br.Exec(); err != nil {
				return fmt.Errorf("signal %s: enqueueing %d tasks: %w", s.signal, s.tasks, migrateHint(err))
			}
			counts[i] = s.tasks
		}
		tag, err := br.Exec()
		if err != nil {
			return err
		}
		if tag.String() == "ROLLBACK" { // fn left the transaction failed
			return pgx.ErrTxCommitRollback
		}
		return nil
	}()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	for i, s := range bt.sends {
		if s.enqueued != nil {
			*s.enqueued = counts[i]
		}
	}
	return nil
}

// errRecorded is what recorder returns: the statement was taken, not run.
var errRecorded = errors.New("statement recorded for the commit")

// recorder is the database of a send in BeginFunc: it keeps the
// statement that the send's query method would have run.
type recorder struct {
	sql  string
	args []any
}

func (r *recorder) Exec(_ context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	r.sql, r.args = sql, args
	return pgconn.CommandTag{}, errRecorded
}

func (r *recorder) Query(_ context.Context, sql string, args ...any) (pgx.Rows, error) {
	r.sql, r.args = sql, args
	return nil, errRecorded
}

func (r *recorder) QueryRow(_ context.Context, sql string, args ...any) pgx.Row {
	r.sql, r.args = sql, args
	return errRow{}
}

type errRow struct{}

func (errRow) Scan(...any) error { return errRecorded }
