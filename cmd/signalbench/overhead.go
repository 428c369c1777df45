package main

import (
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	signalrt "github.com/reliablesignals/signals/runtime"
)

// runOverhead is W4: on one connection, the W2 business transaction
// without a signal (bare), with a signal to 5 receivers sent on the
// pgx.Tx (plain), and with it sent in signalrt.BeginFunc (batched, with
// the COMMIT), interleaved in rotating order, o.pairs of each after a
// warm-up. No worker runs. It reports the median of each and their ratios
// to bare.
func runOverhead(ctx context.Context, o *options) (line, error) {
	const k = 5
	var l line
	err := withScratch(ctx, o, "w4", func(s *scratch) error {
		pool, err := s.migrated(ctx)
		if err != nil {
			return err
		}
		pool.Close()
		conn, err := pgx.Connect(ctx, s.url)
		if err != nil {
			return err
		}
		defer conn.Close(context.WithoutCancel(ctx))
		routes := routesFor(k)
		// Three kinds of transaction, interleaved: bare (no signal), plain
		// (the signal sent on the pgx.Tx: a round trip of its own) and
		// batched (signalrt.BeginFunc: the signal goes with the COMMIT).
		type kind struct {
			routes  []signalrt.Route
			batched bool
			times   []time.Duration
		}
		bare := &kind{times: make([]time.Duration, 0, o.pairs)}
		plain := &kind{routes: routes, times: make([]time.Duration, 0, o.pairs)}
		batched := &kind{routes: routes, batched: true, times: make([]time.Duration, 0, o.pairs)}
		kinds := []*kind{bare, plain, batched}
		warmup := min(o.pairs/10+1, 200)
		for i := range warmup + o.pairs {
			for j := range kinds {
				k := kinds[(i+j)%len(kinds)] // rotate the order
				start := time.Now()
				if err := businessTx(ctx, conn, k.routes, o.unique, k.batched); err != nil {
					return err
				}
				if i >= warmup {
					k.times = append(k.times, time.Since(start))
				}
			}
		}
		for _, k := range kinds {
			slices.Sort(k.times)
		}
		mb := percentile(bare.times, 50)
		l = newLine("W4")
		l.add("receivers", k)
		if o.unique {
			l.add("unique", true)
		}
		l.add("pairs", o.pairs)
		l.add("bare_median_ms", ms(mb))
		l.add("signal_median_ms", ms(percentile(plain.times, 50)))
		l.add("ratio", float64(percentile(plain.times, 50))/float64(mb))
		l.add("batched_median_ms", ms(percentile(batched.times, 50)))
		l.add("batched_ratio", float64(percentile(batched.times, 50))/float64(mb))
		l.add("bare_p95_ms", ms(percentile(bare.times, 95)))
		l.add("signal_p95_ms", ms(percentile(plain.times, 95)))
		l.add("batched_p95_ms", ms(percentile(batched.times, 95)))
		return nil
	})
	return l, err
}
