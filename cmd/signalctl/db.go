package main

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// Statement timeouts: a command line may wait for a bulk action's batches,
// a dashboard page may not hold a connection for long.
const (
	cliStatementTimeout   = 5 * time.Minute
	serveStatementTimeout = 5 * time.Second
)

// connect opens a pool on the command's database and schema: two
// connections for a command, eight for the dashboard (whose pages each
// run a few statements, each bounded by the statement timeout).
func connect(ctx context.Context, o *options, serving bool) (*pgxpool.Pool, error) {
	if o.db == "" {
		return nil, usageError("no database: set DATABASE_URL or pass -db URL")
	}
	cfg, err := pgxpool.ParseConfig(o.db)
	if err != nil {
		return nil, usageError("-db: %v", err)
	}
	if o.schema != "" {
		if !schemaName.MatchString(o.schema) {
			return nil, usageError("-schema %q: want a lowercase identifier (letters, digits, _)", o.schema)
		}
		cfg.ConnConfig.RuntimeParams["search_path"] = o.schema
	}
	cfg.MaxConns = 2
	timeout := cliStatementTimeout
	if serving {
		cfg.MaxConns, timeout = 8, serveStatementTimeout
	}
	cfg.ConnConfig.RuntimeParams["statement_timeout"] = fmt.Sprint(timeout.Milliseconds())
	// The counts of a large table pass jit_above_cost, and compiling them
	// costs more than it saves on statements of tens of milliseconds.
	cfg.ConnConfig.RuntimeParams["jit"] = "off"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connecting to %s: %w", cfg.ConnConfig.Host, err)
	}
	return pool, nil
}
