package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	signalrt "github.com/reliablesignals/signals/runtime"
)

// receiverKeys are the receivers of the order_placed signal; a signal with
// K receivers goes to the first K.
var receiverKeys = []string{"a.A", "b.B", "c.C", "d.D", "e.E"}

// orderPlaced is the payload of the business transaction's signal.
type orderPlaced struct {
	OrderID int64  `json:"order_id"`
	Total   int64  `json:"total"`
	Email   string `json:"email"`
}

func routesFor(k int) []signalrt.Route {
	rs := make([]signalrt.Route, k)
	for i := range rs {
		rs[i] = signalrt.Route{Receiver: receiverKeys[i]}
	}
	return rs
}

// noopTable is a dispatch table of no-op receivers for keys, each counting
// its runs in ran.
func noopTable(keys []string, ran *atomic.Int64) signalrt.Table {
	t := make(signalrt.Table, len(keys))
	for i, k := range keys {
		t[i] = signalrt.Receiver{Key: k, Signal: "order_placed", Queue: signalrt.DefaultQueue, Handle: func(context.Context, []byte) error {
			ran.Add(1)
			return nil
		}}
	}
	return t
}

type beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// businessTx is the business transaction of W2 and W4: one INSERT into
// orders, plus, unless routes is nil, one signal to routes; with unique,
// a unique send keyed by the order (-unique: what the unique path costs;
// every key is new, so every send enqueues). With batched, the transaction
// runs in signalrt.BeginFunc, which sends the signal with the COMMIT.
func businessTx(ctx context.Context, db beginner, routes []signalrt.Route, unique, batched bool) error {
	fn := func(tx pgx.Tx) error {
		var id int64
		if err := tx.QueryRow(ctx, "INSERT INTO orders (total) VALUES (4200) RETURNING id").Scan(&id); err != nil {
			return err
		}
		if routes == nil {
			return nil
		}
		var opts []signalrt.SendOption
		if unique {
			opts = append(opts, signalrt.Unique("order-"+strconv.FormatInt(id, 10)))
		}
		return signalrt.Send(ctx, tx, "order_placed", routes, orderPlaced{OrderID: id, Total: 4200, Email: "a@example.com"}, opts...)
	}
	if batched {
		return signalrt.BeginFunc(ctx, db.(signalrt.Executor), fn)
	}
	return pgx.BeginFunc(ctx, db, fn)
}

// startWorker runs a worker with the default configuration but for
// concurrency (0: default); stop ends it gracefully and returns Run's error.
func startWorker(pool *pgxpool.Pool, table signalrt.Table, o *options, concurrency int) (stop func() error, err error) {
	w, err := signalrt.NewWorker(pool, table, signalrt.Config{Concurrency: concurrency, Logger: o.log})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	var runErr error
	return func() error {
		once.Do(func() { cancel(); runErr = <-done })
		return runErr
	}, nil
}

// warm opens n connections of pool, so that no timed transaction pays for a
// connect.
func warm(ctx context.Context, pool *pgxpool.Pool, n int) error {
	conns := make([]*pgxpool.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Release()
		}
	}()
	for range n {
		c, err := pool.Acquire(ctx)
		if err != nil {
			return err
		}
		conns = append(conns, c)
	}
	return nil
}

// runSend is W2: o.senders goroutines run the business transaction with a
// signal to k receivers for o.duration, each on a connection of its own,
// while a worker (default configuration, pgx's default pool) runs the tasks.
func runSend(ctx context.Context, o *options, k int) (line, error) {
	return sendLoad(ctx, o, "W2", k, o.duration, nil)
}

// load is what a watcher of sendLoad sees: the schema, and counters of
// the tasks sent and run so far.
type load struct {
	s         *scratch
	k         int
	sent, ran func() int64
}

// sendLoad runs W2's load for d: o.senders goroutines run the business
// transaction with a signal to k receivers, while a worker runs the tasks.
// watch, unless nil, runs while the senders do, with a context that ends
// when they stop, and adds to the result line.
func sendLoad(ctx context.Context, o *options, workload string, k int, d time.Duration, watch func(ctx context.Context, ld load, l *line) error) (line, error) {
	var l line
	err := withScratch(ctx, o, fmt.Sprintf("%sk%d", strings.ToLower(workload), k), func(s *scratch) error {
		wpool, err := s.migrated(ctx)
		if err != nil {
			return err
		}
		defer wpool.Close()
		spool, err := openPool(ctx, s.url, o.senders)
		if err != nil {
			return err
		}
		defer spool.Close()
		if err := warm(ctx, spool, o.senders); err != nil {
			return err
		}
		var ran atomic.Int64
		stop, err := startWorker(wpool, noopTable(receiverKeys[:k], &ran), o, 0)
		if err != nil {
			return err
		}
		defer stop()
		time.Sleep(200 * time.Millisecond) // let the worker connect and LISTEN

		routes := routesFor(k)
		var sends atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, o.senders)
		start := time.Now()
		deadline := start.Add(d)
		var extra line // the watcher's figures, after the load's
		watched := make(chan error, 1)
		watchCtx, stopWatch := context.WithCancel(ctx)
		defer stopWatch()
		if watch != nil {
			ld := load{s: s, k: k, sent: func() int64 { return sends.Load() * int64(k) }, ran: ran.Load}
			go func() { watched <- watch(watchCtx, ld, &extra) }()
		} else {
			watched <- nil
		}
		for range o.senders {
			wg.Go(func() {
				for ctx.Err() == nil && time.Now().Before(deadline) {
					if err := businessTx(ctx, spool, routes, o.unique, o.batched); err != nil {
						errs <- err
						return
					}
					sends.Add(1)
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		stopWatch()
		if err := <-watched; err != nil {
			return fmt.Errorf("watching the load: %w", err)
		}
		st, err := taskStates(ctx, spool)
		if err != nil {
			return err
		}
		if err := stop(); err != nil {
			return err
		}
		close(errs)
		if err := errors.Join(collect(errs)...); err != nil {
			return fmt.Errorf("sending: %w", err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		n := sends.Load()
		if n == 0 {
			return errors.New("no transaction committed")
		}
		// Succeeded tasks are deleted as they finish (the default
		// retention): what is left is the backlog, and nothing may be dead.
		total := n * int64(k)
		backlog := st[signalrt.StateAvailable] + st[signalrt.StateRunning]
		if st[signalrt.StateDead] != 0 || st[signalrt.StateSucceeded] != 0 || backlog > total {
			return fmt.Errorf("%d sends of %d receivers left tasks %v", n, k, st)
		}
		done := total - backlog
		if r := ran.Load(); r < done {
			return fmt.Errorf("%d tasks finished but receivers ran %d times", done, r)
		}
		secs := elapsed.Seconds()
		l = newLine(workload)
		l.add("receivers", k)
		if o.unique {
			l.add("unique", true)
		}
		if o.batched {
			l.add("batched", true)
		}
		l.add("senders", o.senders)
		l.add("concurrency", signalrt.DefaultConcurrency)
		l.add("seconds", elapsed)
		l.add("sends", n)
		l.add("sends_per_s", float64(n)/secs)
		l.add("tasks_sent", total)
		l.add("tasks_done", done)
		l.add("tasks_per_s", float64(done)/secs)
		l.add("backlog", backlog)
		// The backlog in seconds of sends: how long the senders took to
		// produce that many tasks.
		l.add("backlog_s", float64(backlog)/(float64(total)/secs))
		l.keys, l.values = append(l.keys, extra.keys...), append(l.values, extra.values...)
		return nil
	})
	return l, err
}

func collect(ch <-chan error) []error {
	var out []error
	for err := range ch {
		out = append(out, err)
	}
	return out
}
