// Command signalctl inspects and operates the task queue of reliable
// signals: counts and lags per queue, tasks and their errors, retries,
// pauses, the live workers.
//
// Usage:
//
//	signalctl <command> [flags] [arguments]
//
// Commands:
//
//	stats [-json]                  per queue: available, running and dead tasks, lag,
//	                               throughput of the last 5 minutes; per receiver below it
//	list [filters] [-limit N] [-after ID] [-json]
//	                               tasks, newest first; -after pages (the last id shown)
//	show ID [-json]                one task: payload, every attempt's error (panics with stacks)
//	retry (IDS... | -state dead|available [filters])
//	                               run dead (or waiting) tasks again now; prints how many
//	discard (IDS... | -state dead [filters])
//	cancel (IDS... | -state available|running [filters])
//	                               delete dead tasks; prints how many
//	run-now IDS...                 make delayed or backing-off tasks due now
//	pause QUEUE, resume QUEUE      stop and restart claims on a queue, in every worker
//	workers [-json]                the registered workers, live and gone
//	migrate                        apply the embedded schema migrations
//	serve [-addr 127.0.0.1:8080] [-read-only]
//	                               the web dashboard (package runtime/dashboard);
//	                               it binds to localhost unless -addr says otherwise
//
// Filters: -state S -queue Q -signal N -receiver R -error TEXT (-error matches
// the error history, ignoring case).
//
// Every command takes -db URL (default: $DATABASE_URL) and -schema NAME (the
// search_path that holds the tables; default: the connection's).
//
// Exit status: 0 success; 1 the command ran but found a problem (a task that
// does not exist, a filter that matched nothing, a database error); 2 usage
// errors.
package main

import (
	"context"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
