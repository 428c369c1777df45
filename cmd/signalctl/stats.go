package main

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	signalrt "github.com/reliablesignals/signals/runtime"
)

// statsMinutes is how many minutes of throughput stats shows.
const statsMinutes = 5

// queueReport is one queue of stats -json.
type queueReport struct {
	signalrt.QueueStats
	// Workers counts the live workers that run the queue.
	Workers   int              `json:"workers"`
	Receivers []receiverReport `json:"receivers"`
	// Throughput is the succeeded, failed and dead counts of the last
	// minutes, oldest first.
	Throughput []minuteCounts `json:"throughput"`
}

// receiverReport is one receiver of a queue in stats -json.
type receiverReport struct {
	signalrt.ReceiverCounts
	// Limit is the receiver's limit in the live workers that have it
	// (their first); nil when none has one.
	Limit      *signalrt.Limit `json:"limit,omitempty"`
	Throughput []minuteCounts  `json:"throughput"`
}

type minuteCounts struct {
	Minute    time.Time `json:"minute"`
	Succeeded int64     `json:"succeeded"`
	Failed    int64     `json:"failed"`
	Dead      int64     `json:"dead"`
}

func stats(ctx context.Context, e *env, o *options, _ []string) error {
	qs, err := signalrt.QueueOverview(ctx, e.db)
	if err != nil {
		return err
	}
	first, points, err := signalrt.Throughput(ctx, e.db, statsMinutes)
	if err != nil {
		return err
	}
	ws, err := signalrt.Workers(ctx, e.db)
	if err != nil {
		return err
	}
	slot := func(t time.Time) int { return int(t.Sub(first) / time.Minute) }
	series := func() []minuteCounts {
		s := make([]minuteCounts, statsMinutes)
		for i := range s {
			s[i].Minute = first.Add(time.Duration(i) * time.Minute)
		}
		return s
	}
	// Queues with tasks, queues whose tasks all finished lately (they are
	// deleted as they succeed: those have counters), and queues that live
	// workers run.
	seen := map[string]bool{}
	for _, q := range qs {
		seen[q.Queue] = true
	}
	addQueue := func(name string) {
		if !seen[name] {
			seen[name] = true
			qs = append(qs, signalrt.QueueStats{Queue: name})
		}
	}
	for _, p := range points {
		addQueue(p.Queue)
	}
	workersOf := map[string]int{}
	limits := map[string]*signalrt.Limit{}
	for _, w := range ws {
		if !w.Live {
			continue
		}
		for _, q := range w.Queues {
			workersOf[q]++
			addQueue(q)
		}
		for key, r := range w.Receivers {
			if r.Limit != nil && limits[key] == nil {
				limits[key] = r.Limit
			}
		}
	}
	sort.Slice(qs, func(i, j int) bool { return qs[i].Queue < qs[j].Queue })
	reports := make([]queueReport, len(qs))
	for i, q := range qs {
		counts, err := signalrt.QueueReceivers(ctx, e.db, q.Queue)
		if err != nil {
			return err
		}
		r := queueReport{QueueStats: q, Workers: workersOf[q.Queue], Receivers: []receiverReport{}, Throughput: series()}
		byKey := map[string]*receiverReport{}
		get := func(key string) *receiverReport {
			rr := byKey[key]
			if rr == nil {
				rr = &receiverReport{ReceiverCounts: signalrt.ReceiverCounts{Receiver: key}, Limit: limits[key], Throughput: series()}
				byKey[key] = rr
			}
			return rr
		}
		for _, c := range counts {
			get(c.Receiver).StateCounts = c.StateCounts
		}
		for _, p := range points {
			if p.Queue != q.Queue {
				continue
			}
			j := slot(p.Minute)
			if j < 0 || j >= statsMinutes {
				continue
			}
			for _, s := range [][]minuteCounts{r.Throughput, get(p.Receiver).Throughput} {
				s[j].Succeeded += p.Succeeded
				s[j].Failed += p.Failed
				s[j].Dead += p.Dead
			}
		}
		for _, rr := range byKey {
			r.Receivers = append(r.Receivers, *rr)
		}
		slices.SortFunc(r.Receivers, func(a, b receiverReport) int { return strings.Compare(a.Receiver, b.Receiver) })
		reports[i] = r
	}
	if o.json {
		return printJSON(e.stdout, reports)
	}
	if len(reports) == 0 {
		fmt.Fprintln(e.stdout, "no queues: no tasks, no workers")
		return nil
	}
	tw := table(e.stdout)
	fmt.Fprintf(tw, "QUEUE\tAVAILABLE\tRUNNING\tDEAD\tLAG\tDONE/MIN (last %d, oldest first)\tFAILED/MIN\tSTATUS\n", statsMinutes)
	done := func(m minuteCounts) int64 { return m.Succeeded }
	failed := func(m minuteCounts) int64 { return m.Failed + m.Dead }
	for _, r := range reports {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\n", clean(r.Queue), r.Available, r.Running, r.Dead, r.Lag.Round(time.Millisecond),
			perMinute(r.Throughput, done), perMinute(r.Throughput, failed), status(r))
		for _, rc := range r.Receivers {
			limit := ""
			if rc.Limit != nil {
				limit = "limit " + rc.Limit.String()
			}
			fmt.Fprintf(tw, "  %s\t%d\t%d\t%d\t\t%s\t%s\t%s\n", clean(rc.Receiver), rc.Available, rc.Running, rc.Dead,
				perMinute(rc.Throughput, done), perMinute(rc.Throughput, failed), limit)
		}
	}
	return tw.Flush()
}

// status says whether a queue runs: paused, without a live worker, or run
// by some.
func status(r queueReport) string {
	var s string
	switch {
	case r.PausedAt != nil:
		s = "paused since " + r.PausedAt.Format(time.RFC3339)
	case r.Workers == 0:
		s = "no live worker runs it"
	default:
		s = "running: " + plural(int64(r.Workers), "worker", "workers")
	}
	if r.Pending > 0 { // sends made in BeginFunc, not fanned out into tasks yet
		s += "; " + plural(r.Pending, "task waits", "tasks wait") + " for fan-out"
	}
	return s
}

func perMinute(s []minuteCounts, f func(minuteCounts) int64) string {
	parts := make([]string, len(s))
	for i, m := range s {
		parts[i] = strconv.FormatInt(f(m), 10)
	}
	return strings.Join(parts, " ")
}
