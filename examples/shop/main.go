// Command shop is a small shop whose modules talk only through reliable
// signals, and a demo that shows what that buys.
//
// The modules are separate packages that never call each other:
//
//   - orders stores an order and sends order_placed in the same
//     transaction (orders.Place); an order whose coupon has expired rolls
//     back, and its signal with it.
//   - payments receives order_placed, captures the payment and sends
//     payment_process_completed (declared with //signal:define).
//   - shipping receives payment_process_completed, reserves stock, opens a
//     shipment and sends shipment_created, a signal that no package
//     declares: its sender is generated into ./signals. Its first attempt
//     fails for every 7th order (a stocktake), and the retry succeeds.
//   - mail is a Mailer struct whose methods receive all three signals; the
//     mail server rejects addresses in .invalid, a permanent failure that
//     leaves the task dead with its error.
//   - orders also receives payment_process_completed and shipment_created to
//     mark the order paid and shipped.
//
// Every receiver writes to the shop's own tables, idempotently, because a
// task runs at least once.
//
// Usage:
//
//	go run ./examples/shop [flags]           the whole demo, start to end (mode demo)
//	go run ./examples/shop migrate [flags]   create the schema, the task table and the shop's tables
//	go run ./examples/shop worker [flags]    run a worker until interrupted (SIGINT, SIGTERM)
//	go run ./examples/shop place [flags]     place orders, some of which roll back
//	go run ./examples/shop status [flags]    show the tasks by state and what the receivers did
//	go run ./examples/shop check [flags]     check the queued tasks against this binary (exit 1: some would fail)
//
// Run a mode with -h for its flags. Every mode works in one PostgreSQL
// schema (-schema, default shop_demo) of the database at DATABASE_URL
// (default postgres://postgres@127.0.0.1:5432/test?sslmode=disable). The
// demo drops and recreates its schema, so it can run again and again.
//
// Exit status: 0 success, 1 failure, 2 usage error.
//
// The generated code (payments/signals_gen.go, orders/signals_gen.go,
// signals/ and signals/dispatch/) is checked in; regenerate it with go
// generate after changing a //signal: directive.
package main

//go:generate go run github.com/reliablesignals/signals/cmd/signalgen -signals ./signals -dispatch ./signals/dispatch -graph-into README.md ./...

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reliablesignals/signals/internal/pgtemp"
)

// defaultURL is the server used when DATABASE_URL is unset.
var defaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// defaultSchema is the schema every mode works in unless -schema says
// otherwise.
const defaultSchema = "shop_demo"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

var usage = `usage: shop [mode] [flags]

Modes:
  demo     the whole demo, start to end (the default)
  migrate  create the schema, the task table and the shop's tables
  worker   run a worker until interrupted
  place    place orders, some of which roll back
  status   show the tasks by state and what the receivers did
  check    check the queued tasks against this binary before a deploy (exit 1: some would fail)

Run "shop MODE -h" for the flags of a mode. The database is DATABASE_URL
(default ` + defaultURL + `).
`

// env is the part of the process environment the command reads.
type env struct {
	getenv         func(string) string
	stdout, stderr io.Writer
}

// modes maps a mode's name to its implementation.
var modes = map[string]func(ctx context.Context, e env, args []string) error{
	"demo":    demo,
	"migrate": migrateMode,
	"worker":  workerMode,
	"place":   placeMode,
	"status":  statusMode,
	"check":   checkMode,
}

// errUsage is returned by a mode for bad flags; its message was printed.
var errUsage = errors.New("usage")

// run is the command; it returns the exit status.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	mode := "demo"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		mode, args = args[0], args[1:]
	}
	fn, ok := modes[mode]
	if !ok {
		fmt.Fprintf(stderr, "shop: unknown mode %q; valid modes are check, demo, migrate, place, status, worker\n\n%s", mode, usage)
		return 2
	}
	err := fn(ctx, env{getenv: getenv, stdout: stdout, stderr: stderr}, args)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		fmt.Fprintf(stderr, "shop: %s: %v\n", mode, err)
		return 1
	}
}

// flagSet returns a flag set for mode with the flags every mode has.
func flagSet(e env, mode, synopsis string) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(mode, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: shop %s [flags]\n\n%s\n\nFlags:\n", mode, synopsis)
		fs.PrintDefaults()
	}
	schema := fs.String("schema", defaultSchema, "PostgreSQL `schema` to work in")
	return fs, schema
}

// parse parses args into fs and checks the schema name.
func parse(fs *flag.FlagSet, args []string, schema *string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "shop %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	if !schemaName.MatchString(*schema) {
		fmt.Fprintf(fs.Output(), "shop %s: -schema %q: want a lowercase identifier such as %s\n", fs.Name(), *schema, defaultSchema)
		return errUsage
	}
	return nil
}

var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// databaseURL returns DATABASE_URL, or the default.
func (e env) databaseURL() string {
	if u := e.getenv("DATABASE_URL"); u != "" {
		return u
	}
	return defaultURL
}

// connect opens a pool on DATABASE_URL whose connections use schema, and
// checks that the server answers. When it does not, the error says which
// server was tried and how to point the command at another one.
func connect(ctx context.Context, e env, schema string, maxConns int32) (*pgxpool.Pool, error) {
	raw := e.databaseURL()
	cfg, err := pgxpool.ParseConfig(raw)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL %s: %w", redact(raw), err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("cannot connect to PostgreSQL at %s: %w\n"+
			"Start PostgreSQL there, or set DATABASE_URL to a server you can use, for example:\n"+
			"  DATABASE_URL='postgres://user:password@host:5432/dbname?sslmode=disable' go run ./examples/shop",
			redact(raw), err)
	}
	return pool, nil
}

// connectOrThrowaway connects as connect does; when no server answers at
// the default URL (DATABASE_URL unset) and PostgreSQL's server binaries
// are installed, it starts a throwaway server instead (see
// internal/pgtemp) and returns it, for the caller to stop. When neither
// works, the error says how to get a server.
func connectOrThrowaway(ctx context.Context, e env, schema string, maxConns int32) (*pgxpool.Pool, *pgtemp.Server, error) {
	pool, err := connect(ctx, e, schema, maxConns)
	if err == nil || e.getenv("DATABASE_URL") != "" {
		return pool, nil, err
	}
	if _, ferr := pgtemp.Find(); ferr != nil {
		return nil, nil, fmt.Errorf("%w\nNo PostgreSQL is installed here to start one either: %v", err, ferr)
	}
	srv, serr := pgtemp.Start(ctx)
	if serr != nil {
		return nil, nil, fmt.Errorf("%w\nStarting a throwaway server failed too: %v", err, serr)
	}
	pool, err = connect(ctx, env{getenv: func(k string) string {
		if k == "DATABASE_URL" {
			return srv.URL()
		}
		return e.getenv(k)
	}, stdout: e.stdout, stderr: e.stderr}, schema, maxConns)
	if err != nil {
		_ = srv.Stop()
		return nil, nil, err
	}
	return pool, srv, nil
}

// dbURL is the URL the demo runs on: the throwaway server's, or DATABASE_URL's.
func dbURL(e env, throwaway *pgtemp.Server) string {
	if throwaway != nil {
		return throwaway.URL()
	}
	return e.databaseURL()
}

// redact hides the password in a connection string.
func redact(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Scheme != "" {
		return u.Redacted()
	}
	return regexp.MustCompile(`password=\S+`).ReplaceAllString(raw, "password=xxxxx")
}

// hint adds what to do to an error that says the shop's tables are missing.
func hint(err error, schema string) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == "42P01" || pgErr.Code == "3F000") {
		return fmt.Errorf("%w\nSchema %s has not been set up: run go run ./examples/shop migrate -schema %s first", err, schema, schema)
	}
	return err
}

// quote returns schema as an SQL identifier.
func quote(schema string) string { return pgx.Identifier{schema}.Sanitize() }
