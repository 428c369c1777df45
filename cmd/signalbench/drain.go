package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	signalrt "github.com/reliablesignals/signals/runtime"
)

// childDrainCmd is the hidden subcommand that drains a prepared schema in a
// fresh process, so that its peak RSS is the drain's alone.
const childDrainCmd = "child-drain"

// noopKey is the receiver of the drained tasks.
const noopKey = "bench.Noop"

// unknownKey is the receiver key of W1u's tasks that the worker does not know.
const unknownKey = "bench.Unknown"

// runDrain inserts n no-op tasks into a fresh schema, then drains them with
// one worker of c slots (0: the default) in a child process, and reports
// tasks/s from worker start to the last task recorded as succeeded, and the
// child's peak RSS.
func runDrain(ctx context.Context, o *options, workload string, n, c int) (line, error) {
	var l line
	err := withScratch(ctx, o, workload, func(s *scratch) error {
		start := time.Now()
		unknown := 0
		if workload == "W1u" {
			// As many tasks of a receiver the worker does not know, due
			// before all of them, at the head of the queue: what a worker
			// of an old version meets during a rolling deploy.
			unknown = n
		}
		levels := 1
		if workload == "W1p" {
			// Priorities 0, 1 and 2, interleaved in insertion order: the
			// claim works through each priority in turn, from 2 down.
			levels = w1pLevels
		}
		var err error
		if workload == "rssbig" {
			err = fillBig(ctx, s, n, bigPayloadBytes)
		} else {
			err = fill(ctx, s, n, unknown, levels)
		}
		if err != nil {
			return err
		}
		progress(o, "%s: inserted %d tasks in %.1fs; draining in a child process", workload, n+unknown, time.Since(start).Seconds())
		limit := 0
		if workload == "W1l" {
			// The limited path: a concurrency limit as high as the slots,
			// so that only its mechanism costs (claims in turns, under
			// the limit row's lock).
			limit = orDefault(c, signalrt.DefaultConcurrency)
		}
		res, err := drainInChild(ctx, o, s.url, n, c, unknown, o.otel, workload == "rssbig", limit)
		if err != nil {
			return err
		}
		l = newLine(workload)
		if workload == "rss" {
			l.add("backlog", n)
		}
		if workload == "rssbig" {
			l.add("payload_kib", bigPayloadBytes/1024)
		}
		l.add("concurrency", orDefault(c, signalrt.DefaultConcurrency))
		if workload != "rss" {
			l.add("tasks", n)
		}
		if unknown > 0 {
			l.add("unknown_at_head", unknown)
		}
		if levels > 1 {
			l.add("priorities", levels)
		}
		if o.otel != "off" {
			l.add("otel", o.otel)
		}
		for _, k := range []string{"seconds", "tasks_per_s", "cpu_us_per_task", "peak_rss_mib"} {
			l.add(k, res[k])
		}
		if v, ok := res["spans"]; ok {
			l.add("spans", v) // the spans that ended in the worker
		}
		return nil
	})
	return l, err
}

func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// w1pLevels is the number of priorities of W1p's tasks: 0 to w1pLevels-1.
const w1pLevels = 3

// fill inserts n available no-op tasks in one statement (the fastest bulk
// path: no rows cross the wire), after unknown tasks of a receiver key that
// the worker does not know, due a minute earlier; then it vacuums and
// analyzes the table as a queue table that has settled would be. With
// levels > 1, task i has priority i % levels.
func fill(ctx context.Context, s *scratch, n, unknown, levels int) error {
	pool, err := s.migrated(ctx)
	if err != nil {
		return err
	}
	defer pool.Close()
	if unknown > 0 {
		_, err = pool.Exec(ctx, `INSERT INTO signal_task (signal, receiver, payload, run_at)
			SELECT 'noop', $1, jsonb_build_object('n', i), now() - interval '1 minute' FROM generate_series(1, $2::int) AS i`, unknownKey, unknown)
		if err != nil {
			return fmt.Errorf("inserting %d tasks: %w", unknown, err)
		}
	}
	_, err = pool.Exec(ctx, `INSERT INTO signal_task (signal, receiver, payload, priority)
		SELECT 'noop', $1, jsonb_build_object('n', i), i % $3::int FROM generate_series(1, $2::int) AS i`, noopKey, n, max(levels, 1))
	if err != nil {
		return fmt.Errorf("inserting %d tasks: %w", n, err)
	}
	if _, err := pool.Exec(ctx, "VACUUM ANALYZE signal_task"); err != nil {
		return err
	}
	return nil
}

// bigPayloadBytes is the payload size of the rssbig workload.
const bigPayloadBytes = 512 << 10

// fillBig inserts n tasks whose payloads are JSON objects of size bytes.
func fillBig(ctx context.Context, s *scratch, n, size int) error {
	pool, err := s.migrated(ctx)
	if err != nil {
		return err
	}
	defer pool.Close()
	_, err = pool.Exec(ctx, `INSERT INTO signal_task (signal, receiver, payload)
		SELECT 'noop', $1, json_build_object('blob', repeat('x', $3::int - 11)) FROM generate_series(1, $2::int) AS i`, noopKey, n, size)
	if err != nil {
		return fmt.Errorf("inserting %d tasks of %d bytes: %w", n, size, err)
	}
	return nil
}

// drainInChild runs the drain in a child process of this binary and returns
// the fields of its result line.
func drainInChild(ctx context.Context, o *options, url string, n, c, unknown int, otelMode string, decode bool, limit int) (map[string]string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	bound := o.timeout
	if d, ok := ctx.Deadline(); ok {
		bound = time.Until(d) - 5*time.Second // report before the parent kills
	}
	cmd := exec.CommandContext(ctx, exe, childDrainCmd, "-db", url, "-n", strconv.Itoa(n), "-c", strconv.Itoa(c), "-unknown", strconv.Itoa(unknown), "-otel", otelMode, "-decode="+strconv.FormatBool(decode), "-limit", strconv.Itoa(limit), "-timeout", bound.String())
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = o.stderr
	cmd.WaitDelay = 5 * time.Second
	runErr := cmd.Run()
	var res map[string]string
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		if m, err := parseLine(sc.Text()); err == nil && m["workload"] == "drain" {
			res = m
		}
	}
	if runErr != nil {
		if res != nil && res["error"] != "" {
			return nil, errors.New(res["error"])
		}
		return nil, fmt.Errorf("drain child: %w", runErr)
	}
	if res == nil {
		return nil, fmt.Errorf("drain child printed no result: %q", out.String())
	}
	return res, nil
}

// childDrain is the child side: drain the tasks in -db and print one line.
func childDrain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(childDrainCmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("db", "", "connection URL with the schema's search_path")
	n := fs.Int("n", 0, "tasks to wait for")
	c := fs.Int("c", 0, "worker concurrency (0: default)")
	unknown := fs.Int("unknown", 0, "tasks of a receiver the worker does not know, left available")
	otelMode := fs.String("otel", "off", "the worker's OpenTelemetry: "+strings.Join(otelModes, ", "))
	limit := fs.Int("limit", 0, "the receiver's concurrency limit (signalrt.Limit); 0: none")
	decode := fs.Bool("decode", false, "the receiver decodes the payload as a typed receiver does ({\"blob\": string})")
	timeout := fs.Duration("timeout", 10*time.Minute, "bound")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	spans, err := installOTel(*otelMode)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if path := os.Getenv("SIGNALBENCH_CPUPROFILE"); path != "" {
		// For finding where a drain's time goes:
		// go tool pprof signalbench $SIGNALBENCH_CPUPROFILE
		if stop, err := startCPUProfile(path); err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		} else {
			defer stop()
		}
	}
	cpu0 := cpuTime()
	res, err := drain(ctx, *url, *n, *c, *unknown, *decode, *limit, log)
	cpu := cpuTime() - cpu0
	l := newLine("drain")
	if err != nil {
		l.add("error", err.Error())
		fmt.Fprintln(stdout, l)
		return 1
	}
	l.add("tasks", *n)
	l.add("seconds", res.elapsed)
	l.add("tasks_per_s", float64(*n)/res.elapsed.Seconds())
	l.add("ran_seconds", res.ran)
	l.add("cpu_us_per_task", float64(cpu.Microseconds())/float64(*n))
	l.add("peak_rss_mib", float64(res.peakRSSKiB)/1024)
	if spans != nil {
		l.add("spans", spans())
	}
	fmt.Fprintln(stdout, l)
	return 0
}

type drainResult struct {
	ran        time.Duration // worker start to the last receiver's return
	elapsed    time.Duration // worker start to every task recorded as succeeded
	peakRSSKiB int64
}

// drain runs one worker of c slots on url until all n tasks are recorded
// as succeeded; unknown tasks of a receiver it does not know must be left.
func drain(ctx context.Context, url string, n, c, unknown int, decode bool, limit int, log *slog.Logger) (drainResult, error) {
	var res drainResult
	pool, err := pgxpool.New(ctx, url) // pgx's default pool, as a user would have
	if err != nil {
		return res, err
	}
	defer pool.Close()
	poll, err := pgx.Connect(ctx, url) // outside the worker's pool
	if err != nil {
		return res, err
	}
	defer poll.Close(context.WithoutCancel(ctx))

	var ran atomic.Int64
	allRan := make(chan struct{})
	handle := func(context.Context, []byte) error {
		if ran.Add(1) == int64(n) {
			close(allRan)
		}
		return nil
	}
	if decode {
		count := handle
		handle = signalrt.Typed(func(ctx context.Context, p struct {
			Blob string `json:"blob"`
		}) error {
			return count(ctx, nil)
		})
	}
	table := signalrt.Table{{Key: noopKey, Signal: "noop", Queue: signalrt.DefaultQueue, Handle: handle, Limit: signalrt.Limit{Concurrency: limit}}}
	w, err := signalrt.NewWorker(pool, table, signalrt.Config{Concurrency: c, Logger: log})
	if err != nil {
		return res, err
	}
	wctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	finished := make(chan error, 1)
	start := time.Now()
	go func() { finished <- w.Run(wctx) }()

	select {
	case <-allRan:
		res.ran = time.Since(start)
	case err := <-finished:
		return res, fmt.Errorf("worker stopped after %d of %d tasks: %v", ran.Load(), n, err)
	case <-ctx.Done():
		stop()
		<-finished
		return res, fmt.Errorf("timed out after %.1fs: %d of %d tasks ran", time.Since(start).Seconds(), ran.Load(), n)
	}
	// Every receiver returned; wait for the worker to record the last
	// successes. Only running rows are left, found on their partial index.
	for {
		var running int64
		if err := poll.QueryRow(ctx, "SELECT count(*) FROM signal_task WHERE state = 'running'").Scan(&running); err != nil {
			stop()
			<-finished
			return res, fmt.Errorf("waiting for completions: %w", err)
		}
		if running == 0 {
			res.elapsed = time.Since(start)
			break
		}
		time.Sleep(time.Millisecond)
	}
	stop()
	if err := <-finished; err != nil {
		return res, err
	}
	st, err := taskStates(ctx, poll)
	if err != nil {
		return res, err
	}
	// Succeeded tasks are deleted as they finish (the default retention);
	// the unknown receiver's are left to a worker that knows it.
	if unknown == 0 && len(st) != 0 || unknown > 0 && (len(st) != 1 || st["available"] != int64(unknown)) {
		return res, fmt.Errorf("after the drain: tasks %v left; want all %d deleted as they succeeded, and %d of an unknown receiver available", st, n, unknown)
	}
	res.peakRSSKiB, err = peakRSS()
	return res, err
}

// peakRSS returns this process's peak resident set size (VmHWM) in KiB.
func peakRSS() (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	return parseVmHWM(string(b))
}

func parseVmHWM(status string) (int64, error) {
	for _, ln := range strings.Split(status, "\n") {
		if rest, ok := strings.CutPrefix(ln, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) == 2 && f[1] == "kB" {
				return strconv.ParseInt(f[0], 10, 64)
			}
		}
	}
	return 0, errors.New("no VmHWM in /proc/self/status")
}

// startCPUProfile writes a CPU profile of the drain child to path until stop
// is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// cpuTime is the CPU time (user and system) this process has used. The
// worker's CPU per task is steadier than its throughput on a shared
// machine, whose other load slows PostgreSQL and the worker alike.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
