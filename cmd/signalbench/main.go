// Command signalbench measures the reliable-signals runtime against a real
// PostgreSQL, next to what PostgreSQL itself allows for the same row work
// (issue 5). It prints one key=value line per workload on stdout and its
// progress on stderr.
//
//	go run ./cmd/signalbench                       # everything, about 6 minutes
//	go run ./cmd/signalbench -run W1,W3            # some workloads
//	go run ./cmd/signalbench -quick                # a smoke run of a few seconds each
//	go run ./cmd/signalbench -db 'postgres://...'  # or set DATABASE_URL
//
// Workloads (-run, case-insensitive, comma separated; default all):
//
//	W1     drain -n tasks inserted up front with one worker of 16, then 100 slots
//	       (each drain in a fresh child process): tasks/s and peak RSS
//	W1u    W1 behind as many tasks of a receiver the worker does not know, due
//	       earlier (a rolling deploy's old worker): they must be left alone
//	W1p    W1 with priorities 0, 1 and 2 mixed (task i has priority i % 3)
//	W2     8 senders, each tx an INSERT into orders plus one signal to K=1, then
//	       K=5 receivers, for -duration, while a worker (default config) runs
//	W3     one sender at 200 tx/s for -duration: commit-to-receiver-start latency
//	W4     one connection, the W2 tx with K=5 vs. without the signal, alternating
//	rss    peak RSS of a child process draining each backlog of -rss-n
//	floor  the pgbench scripts (floor/*.sql, copies of the shared ones)
//	gen    signalgen vs. go vet on a synthetic module (internal/synth)
//
// Each workload runs in a schema of its own (signalbench_*), created with
// runtime.Migrate and dropped at the end. The worker runs with the runtime's
// default Config except Concurrency, on a pgxpool with pgx's defaults.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
