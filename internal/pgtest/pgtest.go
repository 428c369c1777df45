// Package pgtest gives this module's tests a real PostgreSQL schema of
// their own, through package signaltest (which chooses the server: see its
// documentation), and a few helpers more.
package pgtest

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	signalrt "github.com/reliablesignals/signals/runtime"
	"github.com/reliablesignals/signals/runtime/signaltest"
)

// DefaultURL is the server tests use when DATABASE_URL is unset.
const DefaultURL = signaltest.DefaultURL

// URL returns DATABASE_URL, or DefaultURL.
func URL() string { return signaltest.URLFromEnv() }

// Schema creates a fresh, empty schema and returns its name and a
// connection string whose search_path is that schema (signaltest.Schema).
// The schema is dropped when the test ends.
func Schema(t testing.TB) (name, url string) {
	t.Helper()
	return signaltest.Schema(t)
}

// WithSearchPath returns the connection URL u with its search_path set to schema.
func WithSearchPath(u, schema string) string { return signaltest.WithSearchPath(u, schema) }

// Pool returns a pool on a fresh schema (see [Schema]) with the runtime's
// migrations applied. It is closed when the test ends.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	_, url := Schema(t)
	return PoolFor(t, url)
}

// PoolFor opens a pool on url, migrates it, and closes it when the test ends.
func PoolFor(t testing.TB, url string) *pgxpool.Pool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(pool.Close)
	if err := signalrt.Migrate(ctx, pool); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return pool
}

// Exec runs sql on db and fails the test on error.
func Exec(t testing.TB, db signalrt.Executor, sql string, args ...any) {
	t.Helper()
	if _, err := db.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("pgtest: %s: %v", sql, err)
	}
}
