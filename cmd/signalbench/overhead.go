package main

import (
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	signalrt "github.com/reliablesignals/signals/runtime"
)

// runOverhead is W4: on one connection, the W2 business transaction with a
// signal to 5 receivers and the same transaction without it, alternating
// (which one goes first alternates too), o.pairs of each after a warm-up.
// No worker runs. It reports the median of each and their ratio.
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
		timed := func(routes []signalrt.Route) (time.Duration, error) {
			start := time.Now()
			err := businessTx(ctx, conn, routes, o.unique)
			return time.Since(start), err
		}
		warmup := min(o.pairs/10+1, 200)
		bare := make([]time.Duration, 0, o.pairs)
		signal := make([]time.Duration, 0, o.pairs)
		for i := range warmup + o.pairs {
			order := [][]signalrt.Route{nil, routes}
			if i%2 == 1 {
				order = [][]signalrt.Route{routes, nil}
			}
			for _, rs := range order {
				d, err := timed(rs)
				if err != nil {
					return err
				}
				if i < warmup {
					continue
				}
				if rs == nil {
					bare = append(bare, d)
				} else {
					signal = append(signal, d)
				}
			}
		}
		slices.Sort(bare)
		slices.Sort(signal)
		mb, ms50 := percentile(bare, 50), percentile(signal, 50)
		l = newLine("W4")
		l.add("receivers", k)
		if o.unique {
			l.add("unique", true)
		}
		l.add("pairs", o.pairs)
		l.add("bare_median_ms", ms(mb))
		l.add("signal_median_ms", ms(ms50))
		l.add("ratio", float64(ms50)/float64(mb))
		l.add("bare_p95_ms", ms(percentile(bare, 95)))
		l.add("signal_p95_ms", ms(percentile(signal, 95)))
		return nil
	})
	return l, err
}
