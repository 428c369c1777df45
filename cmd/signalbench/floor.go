package main

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// floorScripts are copies of the pgbench scripts of the shared bench
// directory (../shared/bench in the project's workspace); -floor-dir uses
// another directory instead.
//
//go:embed floor/*.sql
var floorScripts embed.FS

// floorDDL is the schema the floor scripts expect (see the scripts' README).
const floorDDL = `
CREATE TABLE orders (id bigserial primary key, total bigint not null);
CREATE TABLE q (id bigserial primary key, receiver text not null,
  queue text not null default 'default', payload jsonb not null,
  state smallint not null default 0, attempt int not null default 0,
  run_at timestamptz not null default now(), created_at timestamptz not null default now());
CREATE INDEX q_avail ON q (queue, run_at, id) WHERE state = 0;`

// claimBatch is the LIMIT of floor_claim.sql.
const claimBatch = 100

// runFloor runs the pgbench scripts in a fresh schema: the three send
// scripts with 8 clients for o.duration each, floor_bare and floor_send on
// one connection (W4's floor), then floor_claim with 4 clients until
// o.claimRows prefilled rows are claimed.
func runFloor(ctx context.Context, o *options, emit func(line)) error {
	dir := o.floorDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "signalbench-floor-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		if err := os.CopyFS(tmp, floorScripts); err != nil {
			return err
		}
		dir = filepath.Join(tmp, "floor")
	}
	if _, err := exec.LookPath(o.pgbench); err != nil {
		return fmt.Errorf("pgbench not found (-pgbench): %w", err)
	}
	return withScratch(ctx, o, "floor", func(s *scratch) error {
		conn, err := pgx.Connect(ctx, s.url)
		if err != nil {
			return err
		}
		defer conn.Close(context.WithoutCancel(ctx))
		if _, err := conn.Exec(ctx, floorDDL); err != nil {
			return err
		}
		secs := max(int(math.Round(o.duration.Seconds())), 1)
		for _, script := range []string{"floor_bare", "floor_send", "floor_send_notify"} {
			r, err := pgbench(ctx, o, s, filepath.Join(dir, script+".sql"), "-c", "8", "-j", "2", "-T", strconv.Itoa(secs))
			if err != nil {
				return fmt.Errorf("%s: %w", script, err)
			}
			l := newLine("floor")
			l.add("script", script)
			l.add("clients", 8)
			l.add("seconds", secs)
			l.add("tps", r.tps)
			emit(l)
		}

		// W4's floor: the business transaction alone and with 5 task rows,
		// on one connection, as latencies.
		var lat [2]float64
		for i, script := range []string{"floor_bare", "floor_send"} {
			r, err := pgbench(ctx, o, s, filepath.Join(dir, script+".sql"), "-c", "1", "-T", strconv.Itoa(secs))
			if err != nil {
				return fmt.Errorf("%s: %w", script, err)
			}
			lat[i] = r.latencyMS
		}
		l := newLine("floor")
		l.add("script", "floor_bare+floor_send")
		l.add("clients", 1)
		l.add("seconds", secs)
		l.add("bare_ms", lat[0])
		l.add("send_ms", lat[1])
		l.add("ratio", lat[1]/lat[0])
		emit(l)

		if _, err := conn.Exec(ctx, "TRUNCATE q"); err != nil {
			return err
		}
		_, err = conn.Exec(ctx, `INSERT INTO q (receiver, payload)
			SELECT 'a.A', '{"order_id":1,"total":4200}' FROM generate_series(1, $1::int)`, o.claimRows)
		if err != nil {
			return err
		}
		if _, err := conn.Exec(ctx, "VACUUM ANALYZE q"); err != nil {
			return err
		}
		const clients = 4
		perClient := o.claimRows / claimBatch / clients
		r, err := pgbench(ctx, o, s, filepath.Join(dir, "floor_claim.sql"), "-c", strconv.Itoa(clients), "-j", "2", "-t", strconv.Itoa(perClient))
		if err != nil {
			return fmt.Errorf("floor_claim: %w", err)
		}
		var claimed int64
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM q WHERE state = 1").Scan(&claimed); err != nil {
			return err
		}
		l = newLine("floor")
		l.add("script", "floor_claim")
		l.add("clients", clients)
		l.add("rows", o.claimRows)
		l.add("claimed", claimed)
		l.add("tps", r.tps)
		// Rows per transaction as claimed, times transactions per second.
		l.add("rows_per_s", r.tps*float64(claimed)/float64(max(r.txns, 1)))
		emit(l)
		return nil
	})
}

type pgbenchResult struct {
	tps       float64
	txns      int64
	latencyMS float64
}

// pgbench runs one script against the scratch schema and parses its report.
func pgbench(ctx context.Context, o *options, s *scratch, script string, args ...string) (pgbenchResult, error) {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	args = append([]string{"-n"}, args...)
	args = append(args, "-f", script, s.base)
	cmd := exec.CommandContext(ctx, o.pgbench, args...)
	cmd.Env = append(os.Environ(), "PGOPTIONS=-c search_path="+s.name)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	progress(o, "pgbench %v", args[:len(args)-1])
	start := time.Now()
	err := cmd.Run()
	if err != nil {
		return pgbenchResult{}, fmt.Errorf("pgbench after %.1fs: %v\n%s", time.Since(start).Seconds(), err, out.String())
	}
	r, err := parsePgbench(out.String())
	if err != nil {
		return r, fmt.Errorf("%v\n%s", err, out.String())
	}
	return r, nil
}

var (
	tpsRe  = regexp.MustCompile(`(?m)^tps = ([0-9.]+) \(without initial connection time\)`)
	txnsRe = regexp.MustCompile(`(?m)^number of transactions actually processed: ([0-9]+)`)
	latRe  = regexp.MustCompile(`(?m)^latency average = ([0-9.]+) ms`)
)

// parsePgbench reads tps and the number of transactions from pgbench's
// report.
func parsePgbench(out string) (pgbenchResult, error) {
	var r pgbenchResult
	m := tpsRe.FindStringSubmatch(out)
	if m == nil {
		return r, errors.New("pgbench printed no tps line")
	}
	r.tps, _ = strconv.ParseFloat(m[1], 64)
	if m := txnsRe.FindStringSubmatch(out); m != nil {
		r.txns, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m := latRe.FindStringSubmatch(out); m != nil {
		r.latencyMS, _ = strconv.ParseFloat(m[1], 64)
	}
	if r.tps <= 0 || r.txns <= 0 {
		return r, fmt.Errorf("pgbench reported tps %v over %d transactions", r.tps, r.txns)
	}
	return r, nil
}
