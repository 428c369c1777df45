package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// The soak: W2's load for a long time (-soak-duration, default 10
// minutes) on a server whose autovacuum runs, as on production servers,
// sampled every second. A queue table that is inserted into, updated and
// deleted from at ten thousand rows a second depends on autovacuum to
// stay small, and its statistics, which autovacuum's ANALYZE and VACUUM
// rewrite every minute or so, decide the plans of the claims: W2's ten
// seconds see neither.

// checkAutovacuum refuses a server whose autovacuum does not run.
func checkAutovacuum(ctx context.Context, conn *pgx.Conn) error {
	for _, setting := range []string{"autovacuum", "track_counts"} {
		var v string
		if err := conn.QueryRow(ctx, "SELECT current_setting($1)", setting).Scan(&v); err != nil {
			return err
		}
		if v != "on" {
			return fmt.Errorf("the server's %s is %s: the soak measures a queue under autovacuum, as production servers run it. "+
				"Turn it on (as a superuser: ALTER SYSTEM SET %s = on; SELECT pg_reload_conf();), "+
				"or point -db at a server where it is on", setting, v, setting)
		}
	}
	return nil
}

// soakSample is one second of the soak.
type soakSample struct {
	at          time.Duration // since the start
	backlog     int64         // tasks sent and not run
	age         float64       // seconds since the oldest due task was due
	claim       float64       // seconds the longest claim in flight has run
	table, idx  int64         // bytes
	dead        int64         // n_dead_tup
	autovacuums int64
}

// sampleSQL reads a soakSample's figures from the server. The oldest due
// task is found as a claim finds it, at the head of the claim index; the
// longest claim is the oldest ClaimTasks statement in flight (a claim
// longer than the sampling period is always seen).
const sampleSQL = `SELECT
  coalesce(extract(epoch FROM now() - (SELECT t.run_at FROM signal_task t
      WHERE t.state = 'available' AND t.queue = 'default' AND t.run_at <= now()
      ORDER BY t.run_at, t.id LIMIT 1)), 0)::float8,
  coalesce((SELECT extract(epoch FROM max(now() - a.query_start)) FROM pg_stat_activity a
      WHERE a.state = 'active' AND a.datname = current_database() AND a.query LIKE '-- name: ClaimTasks %'), 0)::float8,
  pg_table_size('signal_task'), pg_indexes_size('signal_task'),
  coalesce(s.n_dead_tup, 0), coalesce(s.autovacuum_count, 0)
FROM pg_stat_user_tables s WHERE s.relid = 'signal_task'::regclass`

// runSoak runs the soak with the largest -k and reports the queue's
// health over it.
func runSoak(ctx context.Context, o *options) (line, error) {
	conn, err := pgx.Connect(ctx, o.db)
	if err != nil {
		return line{}, err
	}
	err = checkAutovacuum(ctx, conn)
	conn.Close(ctx)
	if err != nil {
		return line{}, err
	}
	k := slices.Max(o.receivers)
	var samples []soakSample
	l, err := sendLoad(ctx, o, "soak", k, o.soakDuration, func(ctx context.Context, ld load, extra *line) error {
		var err error
		samples, err = sampleSoak(ctx, ld, o.soakCSV)
		if err != nil {
			return err
		}
		summarize(samples, extra)
		return nil
	})
	return l, err
}

// sampleSoak samples the load every second until ctx ends, and writes
// each sample as a CSV row to csv unless it is nil.
func sampleSoak(ctx context.Context, ld load, csv io.Writer) ([]soakSample, error) {
	conn, err := pgx.Connect(context.WithoutCancel(ctx), ld.s.url)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if csv != nil {
		fmt.Fprintln(csv, "second,backlog,oldest_due_age_s,longest_claim_s,table_bytes,index_bytes,n_dead_tup,autovacuums")
	}
	start := time.Now()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var samples []soakSample
	for {
		select {
		case <-ctx.Done():
			return samples, nil
		case <-tick.C:
		}
		sm := soakSample{at: time.Since(start), backlog: ld.sent() - ld.ran()}
		err := conn.QueryRow(context.WithoutCancel(ctx), sampleSQL).Scan(&sm.age, &sm.claim, &sm.table, &sm.idx, &sm.dead, &sm.autovacuums)
		if err != nil {
			return samples, fmt.Errorf("sampling: %w", err)
		}
		samples = append(samples, sm)
		if csv != nil {
			fmt.Fprintf(csv, "%.0f,%d,%.3f,%.3f,%d,%d,%d,%d\n", sm.at.Seconds(), sm.backlog, sm.age, sm.claim, sm.table, sm.idx, sm.dead, sm.autovacuums)
		}
	}
}

// summarize adds the soak's figures to l: the worst and p99 ages of the
// oldest due task, the longest claim, the table's size after a minute, at
// half time and at the end, and whether it levelled off.
func summarize(samples []soakSample, l *line) {
	if len(samples) == 0 {
		return
	}
	ages := make([]float64, len(samples))
	var longest float64
	var maxBacklog, maxDead int64
	for i, sm := range samples {
		ages[i] = sm.age
		longest = math.Max(longest, sm.claim)
		maxBacklog, maxDead = max(maxBacklog, sm.backlog), max(maxDead, sm.dead)
	}
	slices.Sort(ages)
	at := func(d time.Duration) soakSample {
		i, _ := slices.BinarySearchFunc(samples, d, func(s soakSample, d time.Duration) int { return int(s.at - d) })
		return samples[min(i, len(samples)-1)]
	}
	last := samples[len(samples)-1]
	half, minute := at(last.at/2), at(time.Minute)
	mb := func(b int64) float64 { return float64(b) / (1 << 20) }
	l.add("samples", len(samples))
	l.add("worst_age_s", ages[len(ages)-1])
	l.add("p99_age_s", ages[int(math.Ceil(0.99*float64(len(ages))))-1])
	l.add("longest_claim_s", longest)
	l.add("max_backlog", maxBacklog)
	l.add("max_dead_tup", maxDead)
	l.add("autovacuums", last.autovacuums-samples[0].autovacuums)
	if last.at >= time.Minute {
		l.add("table_mb_1m", mb(minute.table))
		l.add("index_mb_1m", mb(minute.idx))
	}
	l.add("table_mb_half", mb(half.table))
	l.add("table_mb_end", mb(last.table))
	l.add("index_mb_end", mb(last.idx))
	// Levelled off: the second half of the run grew the table and its
	// indexes by at most a tenth.
	l.add("levelled", last.table+last.idx <= (half.table+half.idx)*11/10)
	l.add("goal_met", ages[len(ages)-1] <= 1 && last.table+last.idx <= (half.table+half.idx)*11/10)
}

// errSoakNeedsTime refuses a soak too short to sample.
var errSoakNeedsTime = errors.New("-soak-duration must be at least 10s")
