package signalrt_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/reliablesignals/signals/internal/pgtest"
	signalrt "github.com/reliablesignals/signals/runtime"
)

// statementCounter counts the statements that touch signal_task, and the
// statements prepared, on a pgx connection under database/sql.
type statementCounter struct{ sends, prepares atomic.Int64 }

func (c *statementCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if strings.Contains(d.SQL, "signal_task") {
		c.sends.Add(1)
	}
	return ctx
}

func (c *statementCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (c *statementCounter) TracePrepareStart(ctx context.Context, _ *pgx.Conn, d pgx.TracePrepareStartData) context.Context {
	c.prepares.Add(1)
	return ctx
}

func (c *statementCounter) TracePrepareEnd(context.Context, *pgx.Conn, pgx.TracePrepareEndData) {}

// openSQL opens a database/sql handle with pgx's driver on url, counting
// its statements.
func openSQL(t *testing.T, url string) (*sql.DB, *statementCounter) {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	counter := &statementCounter{}
	cfg.Tracer = counter
	db := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { _ = db.Close() })
	return db, counter
}

func TestSendThroughDatabaseSQL(t *testing.T) {
	ctx := context.Background()
	_, url := pgtest.Schema(t)
	pool := pgtest.PoolFor(t, url)
	db, counter := openSQL(t, url)
	db.SetMaxOpenConns(1) // one connection: its statement cache is warm after the first send
	rs := routes("a", "b", "c")
	count := func() int64 {
		var n int64
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM signal_task").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	// Rollback: the send goes with the transaction.
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, "CREATE TABLE orders (id int)"); err != nil {
		t.Fatal(err)
	}
	if err := signalrt.Send(ctx, signalrt.SQL(tx), "test", rs, num{N: 1}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 0 {
		t.Fatalf("after rollback: %d tasks; want 0", n)
	}

	// Commit: every receiver's task, with the caller's own write.
	tx, err = db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, "CREATE TABLE orders (id int)"); err != nil {
		t.Fatal(err)
	}
	sends0, prepares0 := counter.sends.Load(), counter.prepares.Load()
	if err := signalrt.Send(ctx, signalrt.SQL(tx), "test", rs, num{N: 2}); err != nil {
		t.Fatal(err)
	}
	if s, p := counter.sends.Load()-sends0, counter.prepares.Load()-prepares0; s != 1 || p != 0 {
		t.Errorf("a send through database/sql ran %d statements and prepared %d; want 1 and 0 (one round trip)", s, p)
	}
	if n := count(); n != 0 {
		t.Fatalf("before commit: %d tasks visible; want 0", n)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 3 {
		t.Fatalf("after commit: %d tasks; want 3", n)
	}

	// *sql.DB and *sql.Conn work as well (each statement commits on its own).
	if err := signalrt.Send(ctx, signalrt.SQL(db), "test", rs[:1], num{N: 3}); err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := signalrt.Send(ctx, signalrt.SQL(conn), "test", rs[:1], num{N: 4}); err != nil {
		t.Fatal(err)
	}
	_ = conn.Close()
	if n := count(); n != 5 {
		t.Fatalf("after sends on *sql.DB and *sql.Conn: %d tasks; want 5", n)
	}

	// The admin API reads through it too: arrays, times and JSON scan.
	tasksPage, err := signalrt.SearchTasks(ctx, signalrt.SQL(db), signalrt.TaskQuery{Receiver: "a"})
	tasks := tasksPage.Tasks
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 3 || tasks[0].CreatedAt.IsZero() {
		t.Fatalf("SearchTasks through database/sql: %+v", tasks)
	}
	if task, err := signalrt.GetTask(ctx, signalrt.SQL(db), tasks[0].ID); err != nil || string(task.Payload) != `{"n":4}` {
		t.Fatalf("GetTask through database/sql: %+v, %v", task, err)
	}
	if _, err := signalrt.GetTask(ctx, signalrt.SQL(db), 1<<40); !errors.Is(err, signalrt.ErrTaskNotFound) {
		t.Errorf("GetTask of a missing id through database/sql: %v; want ErrTaskNotFound", err)
	}
}

// otherDriver is a database/sql driver that is not pgx's: it accepts no
// argument type beyond database/sql's defaults, as MySQL's and lib/pq's
// before v1.11 do.
type otherDriver struct{ executed atomic.Int64 }

func (d *otherDriver) Open(string) (driver.Conn, error) { return otherConn{d}, nil }

type otherConn struct{ d *otherDriver }

func (c otherConn) Prepare(string) (driver.Stmt, error) { return otherStmt(c), nil }
func (otherConn) Close() error                          { return nil }
func (otherConn) Begin() (driver.Tx, error)             { return otherTx{}, nil }

type otherStmt struct{ d *otherDriver }

func (otherStmt) Close() error  { return nil }
func (otherStmt) NumInput() int { return -1 }
func (s otherStmt) Exec([]driver.Value) (driver.Result, error) {
	s.d.executed.Add(1)
	return driver.RowsAffected(1), nil
}
func (s otherStmt) Query([]driver.Value) (driver.Rows, error) {
	s.d.executed.Add(1)
	return nil, errors.New("otherDriver: no rows")
}

type otherTx struct{}

func (otherTx) Commit() error   { return nil }
func (otherTx) Rollback() error { return nil }

func TestSendThroughAnotherDriverSaysWhatIsSupported(t *testing.T) {
	d := &otherDriver{}
	sql.Register("signalrt-test-other", d)
	db, err := sql.Open("signalrt-test-other", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	err = signalrt.Send(context.Background(), signalrt.SQL(tx), "test", routes("a"), num{N: 1})
	if err == nil || !strings.Contains(err.Error(), "cannot pass the runtime's array arguments") || !strings.Contains(err.Error(), "github.com/jackc/pgx/v5/stdlib") {
		t.Fatalf("send through another driver: %v; want an error naming pgx's stdlib driver", err)
	}
	if n := d.executed.Load(); n != 0 {
		t.Errorf("the other driver executed %d statements; want none", n)
	}
}
