package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	signalrt "github.com/reliablesignals/signals/runtime"
)

// childScaleCmd is the hidden subcommand of one worker process of the
// scale workload.
const childScaleCmd = "child-scale"

// scaleTasks and scaleProcesses are the scale workload's backlog and the
// numbers of worker processes it drains it with.
const scaleTasks = 200_000

var scaleProcesses = []int{1, 2, 4, 8}

// runScale is the scale workload: drain scaleTasks no-op tasks with 1, 2, 4
// and 8 worker processes, first with 100 slots in all (split between the
// processes), then with 100 slots each. The processes start on a paused
// queue and register; the clock starts when the queue is resumed and stops
// when the table is empty. Each process records the ids it ran; the parent
// checks that every task ran exactly once. It reports tasks/s, the ratio
// to one process, and the claims that came back empty.
func runScale(ctx context.Context, o *options, emit func(line)) error {
	for _, mode := range []string{"total", "each"} {
		var base float64
		for _, p := range scaleProcesses {
			c := 100
			if mode == "total" {
				c = 100 / p
			}
			var l scaleLine
			err := withScratch(ctx, o, "scale", func(s *scratch) error {
				var err error
				l, err = scaleOnce(ctx, o, s, p, c)
				return err
			})
			if err != nil {
				return fmt.Errorf("%d processes of %d slots: %w", p, c, err)
			}
			tps := l.tasksPerS
			if p == 1 {
				base = tps
			}
			l.add("vs_1_process", tps/base)
			emit(l.line)
		}
	}
	return nil
}

// scaleLine is a scale result and its throughput.
type scaleLine struct {
	line
	tasksPerS float64
}

func scaleOnce(ctx context.Context, o *options, s *scratch, processes, slots int) (scaleLine, error) {
	var l scaleLine
	if err := fill(ctx, s, scaleTasks, 0, 1); err != nil {
		return l, err
	}
	pool, err := pgxpool.New(ctx, s.url) // fill migrated the schema
	if err != nil {
		return l, err
	}
	defer pool.Close()
	if err := signalrt.PauseQueue(ctx, pool, signalrt.DefaultQueue); err != nil {
		return l, err
	}
	dir, err := os.MkdirTemp("", "signalbench-scale-")
	if err != nil {
		return l, err
	}
	defer os.RemoveAll(dir)
	exe, err := os.Executable()
	if err != nil {
		return l, err
	}
	type child struct {
		cmd   *exec.Cmd
		stdin io.WriteCloser
		out   *bufio.Scanner
		ids   string
	}
	children := make([]*child, processes)
	defer func() {
		for _, c := range children {
			if c != nil && c.cmd.ProcessState == nil {
				_ = c.cmd.Process.Kill()
				_ = c.cmd.Wait()
			}
		}
	}()
	for i := range children {
		c := &child{ids: filepath.Join(dir, fmt.Sprintf("ids-%d", i))}
		c.cmd = exec.CommandContext(ctx, exe, childScaleCmd, "-db", s.url, "-c", strconv.Itoa(slots), "-name", fmt.Sprintf("scale-%d", i), "-ids", c.ids)
		c.cmd.Stderr = o.stderr
		if c.stdin, err = c.cmd.StdinPipe(); err != nil {
			return l, err
		}
		stdout, err := c.cmd.StdoutPipe()
		if err != nil {
			return l, err
		}
		c.out = bufio.NewScanner(stdout)
		if err := c.cmd.Start(); err != nil {
			return l, err
		}
		children[i] = c
	}
	// Every worker has registered: start the clock and the claims.
	for {
		ws, err := signalrt.Workers(ctx, pool)
		if err != nil {
			return l, err
		}
		if len(ws) == processes {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	if _, err := signalrt.ResumeQueue(ctx, pool, signalrt.DefaultQueue); err != nil {
		return l, err
	}
	for {
		var left int64
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM signal_task").Scan(&left); err != nil {
			return l, err
		}
		if left == 0 {
			break
		}
		if ctx.Err() != nil {
			return l, ctx.Err()
		}
		time.Sleep(5 * time.Millisecond)
	}
	elapsed := time.Since(start)
	var claims, empty int64
	for _, c := range children {
		_ = c.stdin.Close() // stop: graceful shutdown, then the child reports
		var res map[string]string
		for c.out.Scan() {
			if m, err := parseLine(c.out.Text()); err == nil && m["workload"] == "scale-child" {
				res = m
			}
		}
		if err := c.cmd.Wait(); err != nil {
			return l, fmt.Errorf("worker process: %w", err)
		}
		if res == nil {
			return l, errors.New("a worker process printed no result")
		}
		n, _ := strconv.ParseInt(res["claims"], 10, 64)
		e, _ := strconv.ParseInt(res["empty_claims"], 10, 64)
		claims, empty = claims+n, empty+e
	}
	// Every task ran exactly once: the ids of all processes, together.
	seen := make(map[int64]bool, scaleTasks)
	twice := 0
	for _, c := range children {
		b, err := os.ReadFile(c.ids)
		if err != nil {
			return l, err
		}
		for i := 0; i+8 <= len(b); i += 8 {
			id := int64(binary.LittleEndian.Uint64(b[i:]))
			if seen[id] {
				twice++
			}
			seen[id] = true
		}
	}
	if len(seen) != scaleTasks || twice > 0 {
		return l, fmt.Errorf("%d distinct tasks ran, %d more than once; want each of %d exactly once", len(seen), twice, scaleTasks)
	}
	l = scaleLine{line: newLine("scale"), tasksPerS: float64(scaleTasks) / elapsed.Seconds()}
	l.add("processes", processes)
	l.add("slots_each", slots)
	l.add("tasks", scaleTasks)
	l.add("seconds", elapsed)
	l.add("tasks_per_s", float64(scaleTasks)/elapsed.Seconds())
	l.add("claims", claims)
	l.add("empty_claims", empty)
	l.add("ran_twice", twice)
	return l, nil
}

// childScale is one worker process of the scale workload: it runs until its
// stdin closes, then prints its claim counts and writes the ids it ran.
func childScale(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(childScaleCmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("db", "", "")
	c := fs.Int("c", 100, "")
	name := fs.String("name", "", "")
	idsPath := fs.String("ids", "", "")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	pool, err := pgxpool.New(ctx, *url)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer pool.Close()
	var mu sync.Mutex
	ids := make([]int64, 0, scaleTasks)
	table := signalrt.Table{{Key: noopKey, Signal: "noop", Queue: signalrt.DefaultQueue, Handle: func(ctx context.Context, _ []byte) error {
		info, _ := signalrt.TaskFromContext(ctx)
		mu.Lock()
		ids = append(ids, info.ID)
		mu.Unlock()
		return nil
	}}}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	w, err := signalrt.NewWorker(pool, table, signalrt.Config{Concurrency: *c, Name: *name, Logger: log})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	wctx, stop := context.WithCancel(ctx)
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		stop()
	}()
	if err := w.Run(wctx); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	claims, empty := w.ClaimCounts()
	b := make([]byte, 0, 8*len(ids))
	for _, id := range ids {
		b = binary.LittleEndian.AppendUint64(b, uint64(id))
	}
	if err := os.WriteFile(*idsPath, b, 0o600); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	l := newLine("scale-child")
	l.add("ran", len(ids))
	l.add("claims", claims)
	l.add("empty_claims", empty)
	fmt.Fprintln(stdout, l)
	return 0
}
