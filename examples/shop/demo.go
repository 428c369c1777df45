package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	signalrt "github.com/reliablesignals/signals/runtime"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/reliablesignals/signals/examples/shop/shipping"
	"github.com/reliablesignals/signals/examples/shop/shopdb"
)

// Settings of the demo's worker: short, so that the demo takes seconds.
const (
	demoConcurrency = 4
	demoBackoff     = 100 * time.Millisecond
	demoPoll        = 100 * time.Millisecond
)

func demo(ctx context.Context, e env, args []string) error {
	fs, schema := flagSet(e, "demo", "")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage+"\nThe demo (the default mode) drops and recreates its schema, places orders,\nruns a worker until every task is done, and tells what happened.\n\nFlags of the demo:\n")
		fs.PrintDefaults()
	}
	n := fs.Int("orders", 20, "number of orders to place")
	every := fs.Int("rollback-every", 10, "every `N`th order rolls back (0: none)")
	timeout := fs.Duration("timeout", time.Minute, "give up if the worker has not finished by then")
	verbose := fs.Bool("v", false, "show the worker's log")
	traced := fs.Bool("trace", false, "trace every send and attempt with OpenTelemetry (in memory) and print each order's trace")
	if err := parse(fs, args, schema); err != nil {
		return err
	}
	var spans *tracetest.InMemoryExporter
	if *traced {
		var err error
		if spans, err = installTracing(); err != nil {
			return err
		}
	}
	if *schema == "public" {
		fmt.Fprintln(e.stderr, "shop demo: -schema public: the demo drops and recreates its schema; choose another one")
		return errUsage
	}
	out := e.stdout
	pool, throwaway, err := connectOrThrowaway(ctx, e, *schema, poolSize(demoConcurrency))
	if err != nil {
		return err
	}
	defer pool.Close()
	if throwaway != nil {
		defer throwaway.Stop()
	}

	fmt.Fprintf(out, "Reliable signals: the shop demo\n")
	if throwaway != nil {
		fmt.Fprintf(out, "No PostgreSQL answers at %s: started a throwaway server for this demo,\n"+
			"on a Unix socket in a temporary directory; it stops, and its data goes, when the demo ends.\n", redact(e.databaseURL()))
	}
	fmt.Fprintf(out, "Database %s, schema %s (dropped and created afresh).\n\n", redact(dbURL(e, throwaway)), *schema)
	if _, err := pool.Exec(ctx, "DROP SCHEMA IF EXISTS "+quote(*schema)+" CASCADE"); err != nil {
		return fmt.Errorf("dropping schema %s: %w", *schema, err)
	}
	if err := migrate(ctx, pool, *schema); err != nil {
		return err
	}

	fmt.Fprintf(out, "1. Place %d orders. Each is one transaction that stores the order and sends\n", *n)
	fmt.Fprintf(out, "   order_placed, which stores one task per receiver in that same transaction.\n")
	committed, rolledBack, err := placeOrders(ctx, pool, *n, *every, 1)
	if err != nil {
		return err
	}
	waiting, err := countTasks(ctx, pool)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "   %d committed: their %d tasks (one per receiver of order_placed) wait for a worker.\n", len(committed), waiting)
	if len(rolledBack) > 0 {
		fmt.Fprintf(out, "   %d rolled back (orders %s): their coupon %s had expired, which checkout\n", len(rolledBack), joinIDs(rolledBack), expiredCoupon)
		fmt.Fprintf(out, "   found after sending order_placed. The rollback took the tasks with it: no receiver will run.\n")
	}
	fmt.Fprintln(out)

	fmt.Fprintf(out, "2. Run a worker (%d tasks at once per queue, retries after %s) until no task is\n", demoConcurrency, demoBackoff)
	fmt.Fprintf(out, "   waiting or running. Receivers send further signals in their own transactions\n")
	fmt.Fprintf(out, "   (payments sends payment_process_completed, shipping sends shipment_created),\n")
	fmt.Fprintf(out, "   so the work fans out. Every %dth order's stock reservation fails once; mail to\n", shipping.StocktakeEvery)
	fmt.Fprintf(out, "   %s is rejected for good.\n", customers[len(customers)-1])
	logger := slog.New(slog.DiscardHandler)
	if *verbose {
		logger = slog.New(slog.NewTextHandler(e.stderr, nil))
	}
	w, err := signalrt.NewWorker(pool, table(pool), signalrt.Config{
		Concurrency:  demoConcurrency,
		PollInterval: demoPoll,
		Retention:    24 * time.Hour, // keep succeeded tasks, to show them below
		Backoff:      func(int) time.Duration { return demoBackoff },
		Logger:       logger,
		Name:         "demo-worker",
	})
	if err != nil {
		return err
	}
	start := time.Now()
	if err := runUntilDone(ctx, pool, w, *timeout); err != nil {
		return err
	}
	fmt.Fprintf(out, "   Done in %s; the worker shut down gracefully.\n\n", time.Since(start).Round(10*time.Millisecond))

	fmt.Fprintln(out, "3. What happened.")
	snap, err := loadSnapshot(ctx, pool)
	if err != nil {
		return err
	}
	snap.print(out, *n, rolledBack)
	if spans != nil {
		fmt.Fprintln(out, "\n4. Each order's trace: its order_placed send, every attempt of every receiver,")
		fmt.Fprintln(out, "   the signals those receivers sent, and their receivers' attempts.")
		printTraces(out, spans.GetSpans())
	}
	if throwaway != nil {
		fmt.Fprintf(out, "\nThe throwaway server stops now. To keep the data and look at it in the dashboard,\n"+
			"run the demo against a server of your own: DATABASE_URL='postgres://...' go run ./examples/shop\n")
		return nil
	}
	fmt.Fprintf(out, "\nLook again with: go run ./examples/shop status -schema %s\n", *schema)
	fmt.Fprintf(out, "Open the dashboard on it: go run ./cmd/signalctl serve -schema %s (then http://127.0.0.1:8080/)\n", *schema)
	return nil
}

// countTasks returns the number of tasks in all queues and states.
func countTasks(ctx context.Context, pool *pgxpool.Pool) (int64, error) {
	queues, err := signalrt.QueueOverview(ctx, pool)
	var n int64
	for _, q := range queues {
		n += q.Available + q.Running + q.Dead + q.Succeeded
	}
	return n, err
}

// unfinished returns the number of tasks waiting or running, and of sends
// that wait for their fan-out.
func unfinished(ctx context.Context, pool *pgxpool.Pool) (int64, error) {
	queues, err := signalrt.QueueOverview(ctx, pool)
	var n int64
	for _, q := range queues {
		n += q.Available + q.Running + q.Pending
	}
	return n, err
}

// runUntilDone runs w until no task is waiting or running, then shuts it
// down gracefully. It gives up after timeout.
func runUntilDone(ctx context.Context, pool *pgxpool.Pool, w *signalrt.Worker, timeout time.Duration) error {
	wctx, stop := context.WithCancel(shopdb.With(ctx, pool))
	defer stop()
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if err == nil {
				err = ctx.Err()
			}
			if err == nil {
				err = errors.New("worker stopped early")
			}
			return err
		case <-deadline.C:
			stop()
			<-done
			n, _ := unfinished(ctx, pool)
			return fmt.Errorf("the worker did not finish within %s: %d tasks are still waiting or running", timeout, n)
		case <-tick.C:
			n, err := unfinished(ctx, pool)
			if err != nil {
				stop()
				<-done
				return err
			}
			if n == 0 {
				stop()
				return <-done
			}
		}
	}
}
