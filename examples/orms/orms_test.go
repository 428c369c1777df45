package orms_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"strings"
	"testing"

	_ "github.com/go-sql-driver/mysql" // database/sql driver "mysql", not supported
	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // database/sql driver "postgres", supported since v1.11
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/reliablesignals/signals/examples/orms/billing"
	"github.com/reliablesignals/signals/examples/orms/signals/dispatch"
	"github.com/reliablesignals/signals/internal/pgtest"
	signalrt "github.com/reliablesignals/signals/runtime"
)

// errRollback makes a transaction helper roll back.
var errRollback = errors.New("roll back")

// setup returns a migrated schema's connection string and a pgx pool on it,
// with the invoices table the tests write.
func setup(t *testing.T) (string, *pgxpool.Pool) {
	t.Helper()
	_, url := pgtest.Schema(t)
	pool := pgtest.PoolFor(t, url)
	pgtest.Exec(t, pool, "CREATE TABLE invoices (id bigserial PRIMARY KEY, amount_cents bigint NOT NULL)")
	return url, pool
}

// check asserts the invoices and tasks in the schema, and that a worker
// runs the tasks.
func check(t *testing.T, pool *pgxpool.Pool, invoices, tasks int) {
	t.Helper()
	ctx := context.Background()
	var gotInvoices, gotTasks int
	if err := pool.QueryRow(ctx, "SELECT (SELECT count(*) FROM invoices), (SELECT count(*) FROM signal_task)").Scan(&gotInvoices, &gotTasks); err != nil {
		t.Fatal(err)
	}
	if gotInvoices != invoices || gotTasks != tasks {
		t.Fatalf("%d invoices and %d tasks; want %d and %d", gotInvoices, gotTasks, invoices, tasks)
	}
	if tasks == 0 {
		return
	}
	before := billing.Receipts.Load()
	stats, err := signalrt.RunUntilIdle(ctx, pool, dispatch.Table())
	if err != nil {
		t.Fatal(err)
	}
	if stats.Succeeded != tasks || billing.Receipts.Load()-before != int64(tasks/2) {
		t.Fatalf("worker: %+v, receipts %d; want %d tasks run", stats, billing.Receipts.Load()-before, tasks)
	}
}

// rollbackThenCommit pays an invoice in a transaction that rolls back, then
// in one that commits, and checks what each leaves: nothing, then the
// invoice and a task per receiver, which a worker runs.
func rollbackThenCommit(t *testing.T, pool *pgxpool.Pool, pay func(commit bool)) {
	t.Helper()
	pay(false)
	check(t, pool, 0, 0)
	pay(true)
	check(t, pool, 1, 2)
}

// paySQL pays an invoice in a transaction of db, a database/sql handle,
// with a unique send, and commits or rolls back.
func paySQL(t *testing.T, db *sql.DB, commit bool) {
	t.Helper()
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var id int64
	if err := tx.QueryRowContext(ctx, "INSERT INTO invoices (amount_cents) VALUES (4200) RETURNING id").Scan(&id); err != nil {
		t.Fatal(err)
	}
	var enqueued int
	if err := billing.SendInvoicePaid(ctx, signalrt.SQL(tx), payload(id), signalrt.Unique("invoice"), signalrt.Enqueued(&enqueued)); err != nil {
		t.Fatal(err)
	}
	if enqueued != 2 {
		t.Errorf("enqueued %d; want 2", enqueued)
	}
	if commit {
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
}

func payload(id int64) billing.InvoicePaidPayload {
	return billing.InvoicePaidPayload{InvoiceID: id, AmountCents: 4200}
}

// TestDatabaseSQL sends from a *sql.Tx of pgx's stdlib driver.
func TestDatabaseSQL(t *testing.T) {
	url, pool := setup(t)
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rollbackThenCommit(t, pool, func(commit bool) { paySQL(t, db, commit) })
}

// TestSqlx sends from a *sqlx.Tx.
func TestSqlx(t *testing.T) {
	ctx := context.Background()
	url, pool := setup(t)
	db, err := sqlx.Connect("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	pay := func(commit bool) {
		tx := db.MustBeginTx(ctx, nil)
		var id int64
		if err := tx.GetContext(ctx, &id, "INSERT INTO invoices (amount_cents) VALUES ($1) RETURNING id", 4200); err != nil {
			t.Fatal(err)
		}
		if err := billing.SendInvoicePaid(ctx, signalrt.SQL(tx), payload(id)); err != nil {
			t.Fatal(err)
		}
		if commit {
			err = tx.Commit()
		} else {
			err = tx.Rollback()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	rollbackThenCommit(t, pool, pay)
}

// Invoice is the GORM and bun model of the invoices table.
type Invoice struct {
	ID          int64 `gorm:"primaryKey" bun:",pk,autoincrement"`
	AmountCents int64
}

// TestGORM sends inside db.Transaction: GORM's connection in a transaction
// (tx.Statement.ConnPool) is the *sql.Tx.
func TestGORM(t *testing.T) {
	ctx := context.Background()
	url, pool := setup(t)
	db, err := gorm.Open(postgres.Open(url), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatal(err)
	}
	pay := func(commit bool) {
		err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			inv := Invoice{AmountCents: 4200}
			if err := tx.Create(&inv).Error; err != nil {
				return err
			}
			if err := billing.SendInvoicePaid(ctx, signalrt.SQL(tx.Statement.ConnPool), payload(inv.ID)); err != nil {
				return err
			}
			if !commit {
				return errRollback
			}
			return nil
		})
		if err != nil && !errors.Is(err, errRollback) {
			t.Fatal(err)
		}
	}
	rollbackThenCommit(t, pool, pay)
}

// TestBun sends inside RunInTx, on the *sql.Tx under bun's Tx (tx.Tx):
// bun's own ExecContext rewrites queries for its placeholders.
func TestBun(t *testing.T) {
	ctx := context.Background()
	url, pool := setup(t)
	sqldb, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	db := bun.NewDB(sqldb, pgdialect.New())
	defer db.Close()
	pay := func(commit bool) {
		err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			inv := Invoice{AmountCents: 4200}
			if _, err := tx.NewInsert().Model(&inv).ModelTableExpr("invoices").Returning("id").Exec(ctx); err != nil {
				return err
			}
			if err := billing.SendInvoicePaid(ctx, signalrt.SQL(tx.Tx), payload(inv.ID)); err != nil {
				return err
			}
			if !commit {
				return errRollback
			}
			return nil
		})
		if err != nil && !errors.Is(err, errRollback) {
			t.Fatal(err)
		}
	}
	rollbackThenCommit(t, pool, pay)
}

// TestLibPQ sends from a *sql.Tx of lib/pq, which encodes Go slices as
// PostgreSQL arrays since v1.11: it works, with one more round trip per
// send than pgx's driver (lib/pq prepares, then executes).
func TestLibPQ(t *testing.T) {
	ctx := context.Background()
	url, pool := setup(t)
	db, err := sql.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rollbackThenCommit(t, pool, func(commit bool) { paySQL(t, db, commit) })
	// The admin API reads through lib/pq too (arrays come as text); the
	// worker of rollbackThenCommit ran the tasks, so there are none left.
	tasksPage, err := signalrt.SearchTasks(ctx, signalrt.SQL(db), signalrt.TaskQuery{})
	tasks := tasksPage.Tasks
	if err != nil || len(tasks) != 0 {
		t.Fatalf("SearchTasks through lib/pq: %v, %v", tasks, err)
	}
}

// mysqlDSN is the MariaDB/MySQL server of TestMySQLIsRefusedClearly:
// MYSQL_DSN, or root without a password on 127.0.0.1:3306.
func mysqlDSN() string {
	if d := os.Getenv("MYSQL_DSN"); d != "" {
		return d
	}
	return "root@tcp(127.0.0.1:3306)/test"
}

// TestMySQLIsRefusedClearly: a *sql.Tx of another database gets an error
// that says what is supported, before anything reaches its server, and the
// transaction goes on.
func TestMySQLIsRefusedClearly(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("mysql", mysqlDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatalf("cannot begin a transaction on MySQL/MariaDB at %s: %v\n"+
			"Start one, or set MYSQL_DSN (go-sql-driver/mysql form, e.g. 'user:pass@tcp(host:3306)/db').", mysqlDSN(), err)
	}
	defer tx.Rollback()
	err = billing.SendInvoicePaid(ctx, signalrt.SQL(tx), payload(1))
	if err == nil || !strings.Contains(err.Error(), "github.com/jackc/pgx/v5/stdlib") {
		t.Fatalf("send on a MySQL transaction: %v; want an error naming pgx's stdlib driver", err)
	}
	t.Logf("the error: %v", err)
	var one int
	if err := tx.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("the transaction after the refused send: %v", err)
	}
}
