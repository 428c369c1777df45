package signalrt_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/reliablesignals/signals/internal/pgtest"
	signalrt "github.com/reliablesignals/signals/runtime"
)

// Run against the real server:
//
//	go test -run XXX -bench . -benchtime=1x ./runtime          # one drain
//	go test -run XXX -bench Send -benchtime=5s ./runtime
//
// BenchmarkSend/tx is the caller's transaction alone; BenchmarkSend/tx+signal
// is the same transaction that also sends a 5-receiver signal: their ratio is
// the price of the outbox (tx+signal-no-notify leaves out the NOTIFY).
// BenchmarkDrain reports tasks/s.

// BenchmarkSend measures a transaction that inserts an order, with and
// without sending a signal with 5 receivers in it, one transaction per op:
// BeginFunc, INSERT, Send, COMMIT. The parallel variants run one
// transaction per GOMAXPROCS goroutine at a time.
func BenchmarkSend(b *testing.B) {
	pool := pgtest.Pool(b)
	pgtest.Exec(b, pool, "CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL)")
	rs := []signalrt.Route{
		{Receiver: "shipping.ReserveStock", Queue: "warehouse", MaxAttempts: 10, Timeout: 30 * time.Second},
		{Receiver: "mail.SendReceipt"},
		{Receiver: "billing.Invoice"},
		{Receiver: "analytics.Track", Queue: "low"},
		{Receiver: "loyalty.AddPoints"},
	}
	type payload struct {
		OrderID int64    `json:"order_id"`
		Email   string   `json:"email"`
		Lines   []string `json:"lines"`
	}
	op := func(ctx context.Context, signal bool) error {
		return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			var id int64
			if err := tx.QueryRow(ctx, "INSERT INTO orders (email) VALUES ('ada@example.com') RETURNING id").Scan(&id); err != nil {
				return err
			}
			if !signal {
				return nil
			}
			return signalrt.Send(ctx, tx, "order_placed", rs, payload{OrderID: id, Email: "ada@example.com", Lines: []string{"sku-1", "sku-2"}})
		})
	}
	for _, bc := range []struct {
		name   string
		signal bool
		notify time.Duration // SetNotifyInterval during the run
	}{
		{"tx", false, signalrt.DefaultNotifyInterval},
		{"tx+signal", true, signalrt.DefaultNotifyInterval},
		// The price of NOTIFY: at most one per queue per hour.
		{"tx+signal-no-notify", true, time.Hour},
	} {
		signalrt.SetNotifyInterval(bc.notify)
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			for b.Loop() {
				if err := op(ctx, bc.signal); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
		})
		b.Run(bc.name+"/parallel", func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					if err := op(ctx, bc.signal); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
		})
	}
	signalrt.SetNotifyInterval(signalrt.DefaultNotifyInterval)

	// Both transactions in turn, timed apart: on a machine shared with other
	// work, the ratio of the two is steadier than that of separate runs.
	b.Run("interleaved", func(b *testing.B) {
		ctx := context.Background()
		var plain, signal time.Duration
		for b.Loop() {
			t0 := time.Now()
			if err := op(ctx, false); err != nil {
				b.Fatal(err)
			}
			t1 := time.Now()
			if err := op(ctx, true); err != nil {
				b.Fatal(err)
			}
			plain += t1.Sub(t0)
			signal += time.Since(t1)
		}
		b.ReportMetric(float64(plain.Nanoseconds())/float64(b.N), "tx-ns/op")
		b.ReportMetric(float64(signal.Nanoseconds())/float64(b.N), "tx+signal-ns/op")
		b.ReportMetric(float64(signal)/float64(plain), "ratio")
	})
}

// BenchmarkDrain measures one worker with the default configuration
// draining 100,000 no-op tasks that were inserted before it started (in one
// statement, then ANALYZEd as autovacuum would). One op is a full drain,
// from Run until every success is recorded and Run has returned; use
// -benchtime=1x.
func BenchmarkDrain(b *testing.B) {
	const tasks = 100_000
	pool := pgtest.Pool(b)
	ctx := context.Background()
	var total time.Duration
	for range b.N {
		b.StopTimer()
		pgtest.Exec(b, pool, "TRUNCATE signal_task")
		insertTasks(b, pool, "noop", 1, tasks)
		pgtest.Exec(b, pool, "ANALYZE signal_task")
		var ran atomic.Int64
		drained := make(chan struct{})
		table := signalrt.Table{{Key: "noop", Signal: "test", Queue: signalrt.DefaultQueue, Handle: func(context.Context, []byte) error {
			if ran.Add(1) == tasks {
				close(drained)
			}
			return nil
		}}}
		w, err := signalrt.NewWorker(pool, table, signalrt.Config{Logger: quiet()})
		if err != nil {
			b.Fatal(err)
		}
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		start := time.Now()
		b.StartTimer()
		go func() { done <- w.Run(runCtx) }()
		select {
		case <-drained:
		case err := <-done:
			b.Fatalf("worker stopped before draining: %v", err)
		case <-time.After(10 * time.Minute):
			b.Fatalf("drain not done after 10 minutes: %d of %d tasks ran", ran.Load(), tasks)
		}
		stop() // graceful: records the last successes before Run returns
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		total += time.Since(start)
		if s := states(b, pool); s[signalrt.StateAvailable] != 0 || s[signalrt.StateRunning] != 0 || s[signalrt.StateDead] != 0 {
			b.Fatalf("after the drain: tasks per state %v, want none available, running or dead", s)
		}
		if n := ran.Load(); n != tasks {
			b.Fatalf("%d receiver calls, want %d", n, tasks)
		}
	}
	b.ReportMetric(float64(tasks*b.N)/total.Seconds(), "tasks/s")
}
