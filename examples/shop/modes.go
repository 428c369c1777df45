package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	signalrt "github.com/reliablesignals/signals/runtime"

	"github.com/reliablesignals/signals/examples/shop/mail"
	"github.com/reliablesignals/signals/examples/shop/orders"
	"github.com/reliablesignals/signals/examples/shop/payments"
	"github.com/reliablesignals/signals/examples/shop/shipping"
	"github.com/reliablesignals/signals/examples/shop/shopdb"
	"github.com/reliablesignals/signals/examples/shop/signals/dispatch"
)

// shopFrom is the sender address of the shop's mail.
const shopFrom = "shop@example.com"

// table returns the shop's dispatch table, its Mailer bound to pool.
func table(pool *pgxpool.Pool) signalrt.Table {
	return dispatch.Table(&mail.Mailer{DB: pool, From: shopFrom})
}

// queueCount is the number of queues the shop's receivers use.
func queueCount() int {
	seen := map[string]bool{}
	for _, r := range table(nil) {
		seen[r.Queue] = true
	}
	return len(seen)
}

// poolSize is a pool size for a worker that runs concurrency tasks per
// queue: the receivers use the pool too.
func poolSize(concurrency int) int32 {
	return int32(concurrency*queueCount() + 4)
}

// migrate creates schema if needed, brings the runtime's task table up to
// date in it, and creates each module's tables. Running it again changes
// nothing.
func migrate(ctx context.Context, pool *pgxpool.Pool, schema string) error {
	if _, err := pool.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+quote(schema)); err != nil {
		return fmt.Errorf("creating schema %s: %w", schema, err)
	}
	if err := signalrt.Migrate(ctx, pool); err != nil {
		return err
	}
	for _, m := range []struct{ name, sql string }{
		{"orders", orders.Schema},
		{"payments", payments.Schema},
		{"shipping", shipping.Schema},
		{"mail", mail.Schema},
	} {
		if _, err := pool.Exec(ctx, m.sql); err != nil {
			return fmt.Errorf("creating the tables of %s: %w", m.name, err)
		}
	}
	return nil
}

func migrateMode(ctx context.Context, e env, args []string) error {
	fs, schema := flagSet(e, "migrate",
		"Create the schema if it does not exist, the runtime's task table (signal_task)\n"+
			"and the shop's tables in it. Running it again changes nothing.")
	if err := parse(fs, args, schema); err != nil {
		return err
	}
	pool, err := connect(ctx, e, *schema, 0)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := migrate(ctx, pool, *schema); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "schema %s is ready: signal_task and the shop's tables exist\n", *schema)
	return nil
}

func workerMode(ctx context.Context, e env, args []string) error {
	fs, schema := flagSet(e, "worker",
		"Run a worker with the shop's dispatch table until SIGINT or SIGTERM, then shut down\n"+
			"gracefully. Start as many as you like, here or on other machines.")
	concurrency := fs.Int("concurrency", 4, "tasks run at once per queue")
	lease := fs.Duration("lease", signalrt.DefaultLease, "how long a task stays with this worker without a heartbeat; a killed worker's tasks run again after it")
	backoff := fs.Duration("backoff", 0, "fixed delay before each retry (default: the runtime's exponential backoff from 1s)")
	poll := fs.Duration("poll", signalrt.DefaultPollInterval, "how often idle queues are polled between notifications")
	retention := fs.Duration("retention", 24*time.Hour, "how long succeeded tasks are kept, for status (0: deleted at once)")
	grace := fs.Duration("grace", signalrt.DefaultShutdownGrace, "how long running receivers may finish at shutdown")
	name := fs.String("name", "", "worker `name` stored in the rows of the tasks it runs (default host:pid:random)")
	quiet := fs.Bool("quiet", false, "log only warnings and errors")
	if err := parse(fs, args, schema); err != nil {
		return err
	}
	if *concurrency < 1 {
		fmt.Fprintf(e.stderr, "shop worker: -concurrency %d: want 1 or more\n", *concurrency)
		return errUsage
	}
	pool, err := connect(ctx, e, *schema, poolSize(*concurrency))
	if err != nil {
		return err
	}
	defer pool.Close()
	level := slog.LevelInfo
	if *quiet {
		level = slog.LevelWarn
	}
	cfg := signalrt.Config{
		Concurrency:   *concurrency,
		Lease:         *lease,
		PollInterval:  *poll,
		Retention:     *retention,
		ShutdownGrace: *grace,
		Name:          *name,
		Logger:        slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level})),
	}
	if *backoff > 0 {
		d := *backoff
		cfg.Backoff = func(int) time.Duration { return d }
	}
	w, err := signalrt.NewWorker(pool, table(pool), cfg)
	if err != nil {
		return err
	}
	// Function receivers find the pool in their context (see shopdb).
	return w.Run(shopdb.With(ctx, pool))
}

func placeMode(ctx context.Context, e env, args []string) error {
	fs, schema := flagSet(e, "place",
		"Place orders, each in its own transaction that also sends order_placed. Every\n"+
			"Nth order uses an expired coupon: its transaction rolls back and sends nothing.")
	n := fs.Int("n", 100, "number of orders to place")
	every := fs.Int("rollback-every", 10, "every `N`th order rolls back (0: none)")
	parallel := fs.Int("parallel", 4, "orders placed at once")
	if err := parse(fs, args, schema); err != nil {
		return err
	}
	pool, err := connect(ctx, e, *schema, int32(max(*parallel, 1)+1))
	if err != nil {
		return err
	}
	defer pool.Close()
	committed, rolledBack, err := placeOrders(ctx, pool, *n, *every, *parallel)
	if err != nil {
		return hint(err, *schema)
	}
	fmt.Fprintf(e.stdout, "placed %d orders: %d committed and sent order_placed; %d rolled back (coupon %s expired) and sent nothing\n",
		len(committed)+len(rolledBack), len(committed), len(rolledBack), expiredCoupon)
	return nil
}

func statusMode(ctx context.Context, e env, args []string) error {
	fs, schema := flagSet(e, "status",
		"Show the tasks by receiver and state, the retried and the dead ones, which receiver\n"+
			"ran for which order, and what the receivers wrote to the shop's tables.")
	perOrder := fs.Int("orders", 10, "show the receivers of the first `N` orders")
	if err := parse(fs, args, schema); err != nil {
		return err
	}
	pool, err := connect(ctx, e, *schema, 0)
	if err != nil {
		return err
	}
	defer pool.Close()
	snap, err := loadSnapshot(ctx, pool)
	if err != nil {
		return hint(err, *schema)
	}
	snap.print(e.stdout, *perOrder, nil)
	return nil
}

// checkMode is the pre-deploy gate of a new worker binary: it checks every
// queued task (available, running or dead) against this binary's dispatch
// table, without running anything, and fails when any task would fail.
func checkMode(ctx context.Context, e env, args []string) error {
	fs, schema := flagSet(e, "check",
		"Check every available, running and dead task against this binary's dispatch table\n"+
			"without running anything: an unknown receiver key, or a payload that does not\n"+
			"decode, would fail. Exit status 1 when any task would fail: run it before a deploy.")
	limit := fs.Int("limit", signalrt.DefaultCheckLimit, "decode at most `N` payloads (the oldest); beyond, the check is a sample")
	if err := parse(fs, args, schema); err != nil {
		return err
	}
	pool, err := connect(ctx, e, *schema, 0)
	if err != nil {
		return err
	}
	defer pool.Close()
	// The check never calls a receiver, so its instances may be nil.
	rep, err := signalrt.CheckTasks(ctx, pool, dispatch.Table(nil), *limit)
	if err != nil {
		return hint(err, *schema)
	}
	if err := rep.Write(e.stdout); err != nil {
		return err
	}
	if n := rep.Failed(); n > 0 {
		return fmt.Errorf("%d queued tasks would fail with this binary; do not deploy it", n)
	}
	return nil
}
