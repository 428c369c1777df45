package signalrt

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// SQLDB is what [SQL] needs of a database/sql handle. *sql.Tx, *sql.DB and
// *sql.Conn have it, and so do the handles of libraries built on
// database/sql: sqlx's Tx and DB, GORM's Statement.ConnPool inside a
// transaction, bun's Tx.Tx.
type SQLDB interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// SQL returns an Executor that runs on db, a database/sql handle on
// PostgreSQL, so that code that holds a *sql.Tx rather than a pgx.Tx can
// send inside its own transaction:
//
//	tx, err := db.BeginTx(ctx, nil) // or the ORM's transaction, see SQLDB
//	...
//	err = orders.SendOrderPlaced(ctx, signalrt.SQL(tx), payload)
//
// The send commits or rolls back with tx, exactly as with a pgx.Tx; the
// admin functions that take an Executor work through it too.
//
// Drivers: pgx's (package github.com/jackc/pgx/v5/stdlib, driver name
// "pgx"; GORM's postgres driver uses it) sends in one round trip, as pgx
// does. lib/pq v1.11 or later works as well, in two (it prepares each
// statement, then runs it). Other databases' drivers, and older lib/pq,
// cannot pass the runtime's array arguments: the first statement fails,
// before anything is sent to the server, with an error that says what is
// supported, and the caller's transaction is left as it was.
//
// Why an adapter rather than an Executor interface wide enough for both
// pgx and database/sql: generated senders keep one precise parameter type,
// checked by the compiler, and pgx users pay nothing. The adapter is the
// one call at the call site.
func SQL(db SQLDB) Executor {
	return sqlExecutor{db: db}
}

type sqlExecutor struct{ db SQLDB }

// sqlTypes hold the pgtype.Maps that scan what database/sql cannot
// (arrays) into the runtime's Go types; a Map is not safe for concurrent
// use, so each scan takes one.
var sqlTypes = sync.Pool{New: func() any { return pgtype.NewMap() }}

// Exec runs sql on the database/sql handle.
func (e sqlExecutor) Exec(ctx context.Context, query string, args ...any) (pgconn.CommandTag, error) {
	res, err := e.db.ExecContext(ctx, query, args...)
	if err != nil {
		return pgconn.CommandTag{}, sqlError(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		n = 0 // the statement ran; a driver that cannot count must not fail it
	}
	// CommandTag.RowsAffected reads the number at the end of the tag.
	return pgconn.NewCommandTag("SQL " + strconv.FormatInt(n, 10)), nil
}

// Query runs sql on the database/sql handle.
func (e sqlExecutor) Query(ctx context.Context, query string, args ...any) (pgx.Rows, error) {
	rows, err := e.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, sqlError(err)
	}
	return &sqlRows{rows: rows}, nil
}

// QueryRow runs sql on the database/sql handle.
func (e sqlExecutor) QueryRow(ctx context.Context, query string, args ...any) pgx.Row {
	return sqlRow{row: e.db.QueryRowContext(ctx, query, args...)}
}

// sqlError makes the errors of database/sql say what they mean here.
func sqlError(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return pgx.ErrNoRows
	}
	// database/sql converts every argument through the driver before it
	// sends anything; a driver other than pgx's refuses the arrays.
	if strings.Contains(err.Error(), "converting argument") {
		return fmt.Errorf("signalrt.SQL: this database/sql driver cannot pass the runtime's array arguments: use pgx's "+
			"(import github.com/jackc/pgx/v5/stdlib and sql.Open(\"pgx\", url); GORM's postgres driver uses it) "+
			"or lib/pq v1.11 or later; other databases and older drivers are not supported: %w", err)
	}
	return err
}

// sqlRow is a *sql.Row as a pgx.Row.
type sqlRow struct{ row *sql.Row }

func (r sqlRow) Scan(dest ...any) error {
	targets, release := sqlScanTargets(dest)
	defer release()
	if err := r.row.Scan(targets...); err != nil {
		return sqlError(err)
	}
	return nil
}

// sqlRows is *sql.Rows as pgx.Rows, for the runtime's own queries: they use
// Next, Scan, Err and Close.
type sqlRows struct {
	rows *sql.Rows
	err  error
}

func (r *sqlRows) Close() { _ = r.rows.Close() }

func (r *sqlRows) Err() error {
	if r.err != nil {
		return r.err
	}
	if err := r.rows.Err(); err != nil {
		return sqlError(err)
	}
	return nil
}

// CommandTag is empty: database/sql does not report one for a query.
func (r *sqlRows) CommandTag() pgconn.CommandTag { return pgconn.CommandTag{} }

// FieldDescriptions is nil: database/sql does not give them.
func (r *sqlRows) FieldDescriptions() []pgconn.FieldDescription { return nil }

func (r *sqlRows) Next() bool { return r.rows.Next() }

func (r *sqlRows) Scan(dest ...any) error {
	targets, release := sqlScanTargets(dest)
	defer release()
	if err := r.rows.Scan(targets...); err != nil {
		r.err = sqlError(err)
		return r.err
	}
	return nil
}

func (r *sqlRows) Values() ([]any, error) {
	cols, err := r.rows.Columns()
	if err != nil {
		return nil, err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := r.rows.Scan(ptrs...); err != nil {
		return nil, sqlError(err)
	}
	return vals, nil
}

// RawValues is nil: database/sql does not give the wire bytes.
func (r *sqlRows) RawValues() [][]byte { return nil }

// Conn is nil: the connection belongs to database/sql.
func (r *sqlRows) Conn() *pgx.Conn { return nil }

// sqlScanTargets wraps the destinations that database/sql cannot scan into
// (slices other than []byte, such as the []string of a text[] column) in
// pgx's scanner, which parses PostgreSQL's text form; the rest, and any
// sql.Scanner, are left to database/sql. Call release after the scan.
func sqlScanTargets(dest []any) (targets []any, release func()) {
	out := dest
	var m *pgtype.Map
	for i, d := range dest {
		if _, ok := d.(sql.Scanner); ok {
			continue
		}
		switch d.(type) {
		case *[]byte, *string, *int64, *int32, *int, *bool, *float64, *time.Time, *any,
			**string, **int64, **int32, **time.Time:
			continue
		}
		v := reflect.ValueOf(d)
		if v.Kind() != reflect.Pointer {
			continue
		}
		if k := v.Elem().Kind(); k != reflect.Slice && k != reflect.Array && k != reflect.Map && k != reflect.Struct {
			continue
		}
		if m == nil {
			m = sqlTypes.Get().(*pgtype.Map)
			out = append([]any(nil), dest...)
		}
		out[i] = m.SQLScanner(d)
	}
	if m == nil {
		return out, func() {}
	}
	return out, func() { sqlTypes.Put(m) }
}

// TypeMap is a fresh map of PostgreSQL's built-in types: database/sql
// decodes the values, not pgx.
func (r *sqlRows) TypeMap() *pgtype.Map { return pgtype.NewMap() }
