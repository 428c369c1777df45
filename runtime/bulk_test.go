package signalrt_test

import (
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reliablesignals/signals/internal/pgtest"
)

// insertTasks inserts tasks for receiver key with payloads {"n": first} to
// {"n": last} in one statement: a fast way to fill the queue, bypassing Send.
func insertTasks(t testing.TB, pool *pgxpool.Pool, key string, first, last int) {
	t.Helper()
	pgtest.Exec(t, pool, `INSERT INTO signal_task (signal, receiver, payload)
		SELECT 'test', $1, jsonb_build_object('n', g) FROM generate_series($2::integer, $3::integer) AS g`, key, first, last)
}
