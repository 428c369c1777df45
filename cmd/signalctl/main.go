// Command signalctl inspects and operates the task queue of reliable
// signals: counts and lags per queue, tasks and their errors, retries,
// pauses, the live workers, and the web dashboard.
//
// Usage:
//
//	signalctl [-db URL] [-schema NAME] <command> [flags] [arguments]
//
// Commands:
//
//	stats [-json]                       queues: counts, lag, throughput, status; receivers below, with their limits
//	list [filters] [-limit N] [-before ID] [-scan N] [-json]
//	                                    tasks, newest first (-before: the next page)
//	show ID [-json] [-raw]              one task, with its payload and errors
//	retry (IDS... | -state dead|available [filters])
//	                                    run dead (or waiting) tasks again now
//	discard (IDS... | -state dead [filters])
//	                                    delete dead tasks
//	cancel (IDS... | -state available|running [filters])
//	                                    delete pending tasks; running ones are told to stop
//	run-now IDS...                      make delayed or backing-off tasks due now
//	pause QUEUE [-force]                stop claims on a queue, in every worker (-force: a queue no one knows yet)
//	resume QUEUE                        restart claims on a paused queue
//	workers [-json]                     the registered workers, live and gone
//	migrate                             apply the schema migrations
//	serve [-addr 127.0.0.1:8080] [-read-only]
//	                                    the web dashboard
//
// Filters: -state S -queue Q -signal N -receiver R -error TEXT. -receiver
// takes a whole receiver key or its end (SendWelcome, mail.Mailer.SendWelcome):
// an end that one known key has stands for that key. -error matches the
// error messages of failed attempts, ignoring case. A filter on a queue or a
// receiver that no task, worker or receiver uses says so, with the known
// ones.
//
// Every command takes -db URL (default $DATABASE_URL) and -schema NAME (the
// search_path that holds the tables; default: the connection's), before or
// after it.
//
// list reads at most -scan tasks for a page (the newest first): a filter
// that matches little stops there and says so, with the command that
// searches further. show prints the payload reformatted (keys sorted,
// duplicate keys dropped) and cut to 200 lines of 200 characters; -raw prints
// it as stored. Names and messages from the database are printed with
// control characters escaped.
//
// -json prints snake_case keys, as the runtime's types are tagged;
// durations are nanoseconds, in fields whose names end in _ns.
//
// serve serves the dashboard (package runtime/dashboard) on 127.0.0.1 unless
// -addr says otherwise; on a loopback address it answers only for
// localhost, 127.0.0.1 and [::1] with its port. It stops on SIGINT or
// SIGTERM, gracefully, and warns when it listens beyond loopback: it has no
// authentication (mount dashboard.New in a program, with Options.Authorize,
// for that).
//
// Exit status: 0 done; 1 the command ran and found a problem (nothing
// matched, a task that does not exist, a database error); 2 a usage error,
// printed with the usage.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
