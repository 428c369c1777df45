package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	signalrt "github.com/reliablesignals/signals/runtime"
)

// scratch is a schema of one workload, dropped at the end.
type scratch struct {
	base string // the URL given to signalbench
	name string
	url  string // base with search_path=name
}

// newScratch creates a fresh schema named signalbench_<what>_<random>.
func newScratch(ctx context.Context, base, what string) (*scratch, error) {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := "signalbench_" + strings.ToLower(what) + "_" + hex.EncodeToString(b)
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		return nil, fmt.Errorf("creating schema %s: %w", name, err)
	}
	return &scratch{base: base, name: name, url: withSearchPath(base, name)}, nil
}

// drop drops the schema, also after ctx was cancelled.
func (s *scratch) drop(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.base)
	if err != nil {
		return fmt.Errorf("dropping schema %s: %w", s.name, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP SCHEMA "+s.name+" CASCADE"); err != nil {
		return fmt.Errorf("dropping schema %s: %w", s.name, err)
	}
	return nil
}

// withScratch runs f in a fresh schema and drops it afterwards.
func withScratch(ctx context.Context, o *options, what string, f func(s *scratch) error) error {
	s, err := newScratch(ctx, o.db, what)
	if err != nil {
		return err
	}
	err = f(s)
	if derr := s.drop(ctx); derr != nil {
		progress(o, "%v", derr)
	}
	return err
}

// withSearchPath returns the connection URL u with its search_path set to schema.
func withSearchPath(u, schema string) string {
	if !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
		return u + " search_path=" + schema // keyword/value form
	}
	if strings.Contains(u, "?") {
		return u + "&search_path=" + schema
	}
	return u + "?search_path=" + schema
}

// openPool opens a pool on url; maxConns 0 keeps pgx's default size.
func openPool(ctx context.Context, url string, maxConns int) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	if maxConns > 0 {
		cfg.MaxConns = int32(maxConns)
	}
	return pgxpool.NewWithConfig(ctx, cfg)
}

// migrated opens a pool of pgx's default size on s and applies the
// runtime's migrations, plus the orders table of the business transaction.
func (s *scratch) migrated(ctx context.Context) (*pgxpool.Pool, error) {
	pool, err := openPool(ctx, s.url, 0)
	if err != nil {
		return nil, err
	}
	if err := signalrt.Migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	if _, err := pool.Exec(ctx, "CREATE TABLE orders (id bigserial PRIMARY KEY, total bigint NOT NULL)"); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

// taskStates returns the number of tasks per state, all queues together.
func taskStates(ctx context.Context, db signalrt.Executor) (map[signalrt.TaskState]int64, error) {
	queues, err := signalrt.QueueOverview(ctx, db)
	if err != nil {
		return nil, err
	}
	m := map[signalrt.TaskState]int64{}
	for _, q := range queues {
		for st, n := range map[signalrt.TaskState]int64{
			signalrt.StateAvailable: q.Available, signalrt.StateRunning: q.Running,
			signalrt.StateDead: q.Dead, signalrt.StateSucceeded: q.Succeeded,
		} {
			if n > 0 {
				m[st] += n
			}
		}
	}
	return m, nil
}
