package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	signalrt "github.com/reliablesignals/signals/runtime"
)

// tick is the payload of W3: the sequence number that joins a commit time
// to a receiver start time.
type tick struct {
	Seq int `json:"seq"`
}

// runLatency is W3: one sender on one connection commits o.rate
// transactions per second for o.duration, each sending one signal to one
// receiver; a worker (default configuration) runs them. Latency is from
// the moment the sender issued COMMIT to the moment the receiver started,
// both on this process's monotonic clock: it includes the commit itself
// (the WAL flush), so it never undercounts. With o.batched the sender uses
// signalrt.BeginFunc, and the latency includes the worker's fan-out of
// the send into its task.
func runLatency(ctx context.Context, o *options) (line, error) {
	var l line
	err := withScratch(ctx, o, "w3", func(s *scratch) error {
		wpool, err := s.migrated(ctx)
		if err != nil {
			return err
		}
		defer wpool.Close()
		conn, err := pgx.Connect(ctx, s.url)
		if err != nil {
			return err
		}
		defer conn.Close(context.WithoutCancel(ctx))

		total := int(float64(o.rate) * o.duration.Seconds())
		if total < 1 {
			return errors.New("-rate times -duration is less than one transaction")
		}
		commits := make([]time.Time, total) // written by the sender only
		var mu sync.Mutex
		starts := make([]time.Time, total)
		var received atomic.Int64
		allIn := make(chan struct{})
		table := signalrt.Table{{Key: "latency.Recv", Signal: "tick", Queue: signalrt.DefaultQueue, Handle: func(_ context.Context, payload []byte) error {
			now := time.Now()
			var t tick
			if err := json.Unmarshal(payload, &t); err != nil {
				return signalrt.Permanent(err)
			}
			if t.Seq < 0 || t.Seq >= total {
				return signalrt.Permanent(fmt.Errorf("seq %d out of range", t.Seq))
			}
			mu.Lock()
			first := starts[t.Seq].IsZero()
			if first {
				starts[t.Seq] = now
			}
			mu.Unlock()
			if first && received.Add(1) == int64(total) {
				close(allIn)
			}
			return nil
		}}}
		stop, err := startWorker(wpool, table, o, 0)
		if err != nil {
			return err
		}
		defer stop()
		time.Sleep(200 * time.Millisecond) // let the worker connect and LISTEN

		routes := []signalrt.Route{{Receiver: "latency.Recv"}}
		interval := time.Second / time.Duration(o.rate)
		start := time.Now()
		for i := range total {
			time.Sleep(time.Until(start.Add(time.Duration(i) * interval)))
			if o.batched { // the send goes with the COMMIT, which follows fn's return at once
				err := signalrt.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
					if err := signalrt.Send(ctx, tx, "tick", routes, tick{Seq: i}); err != nil {
						return err
					}
					commits[i] = time.Now()
					return nil
				})
				if err != nil {
					return fmt.Errorf("send %d: %w", i, err)
				}
				continue
			}
			tx, err := conn.Begin(ctx)
			if err != nil {
				return fmt.Errorf("send %d: %w", i, err)
			}
			if err := signalrt.Send(ctx, tx, "tick", routes, tick{Seq: i}); err != nil {
				_ = tx.Rollback(ctx)
				return fmt.Errorf("send %d: %w", i, err)
			}
			commits[i] = time.Now()
			if err := tx.Commit(ctx); err != nil {
				return fmt.Errorf("send %d: commit: %w", i, err)
			}
		}
		elapsed := time.Since(start)
		select {
		case <-allIn:
		case <-time.After(10 * time.Second):
		case <-ctx.Done():
		}
		if err := stop(); err != nil {
			return err
		}
		mu.Lock()
		lat := make([]time.Duration, 0, total)
		for i := range total {
			if !starts[i].IsZero() {
				lat = append(lat, starts[i].Sub(commits[i]))
			}
		}
		mu.Unlock()
		if len(lat) == 0 {
			return errors.New("no task reached its receiver")
		}
		slices.Sort(lat)
		l = newLine("W3")
		if o.batched {
			l.add("batched", true)
		}
		l.add("rate", o.rate)
		l.add("seconds", elapsed)
		l.add("sends", total)
		l.add("received", len(lat))
		l.add("p50_ms", ms(percentile(lat, 50)))
		l.add("p95_ms", ms(percentile(lat, 95)))
		l.add("p99_ms", ms(percentile(lat, 99)))
		l.add("max_ms", ms(lat[len(lat)-1]))
		l.add("min_ms", ms(lat[0]))
		return nil
	})
	return l, err
}

// percentile returns the p-th percentile of sorted by nearest rank.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
