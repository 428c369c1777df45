package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgxpool"

	signalrt "github.com/reliablesignals/signals/runtime"
)

// command is one command of signalctl: the table below is the only place
// that names it, and the usage text and the package documentation are
// made from (or tested against) the table.
type command struct {
	name    string
	args    string // the synopsis of its flags and arguments
	summary string
	// flags adds the command's own flags to fs, storing them in o.
	flags func(fs *flag.FlagSet, o *options)
	// check checks the positional arguments (and the flags together) before
	// anything connects; nil means the command takes none.
	check func(o *options, args []string) error
	// run runs the command on a connected database.
	run func(ctx context.Context, e *env, o *options, args []string) error
}

// commands is signalctl's table of commands, in the order the usage lists
// them.
var commands = []*command{
	{name: "stats", args: "[-json]", summary: "queues: counts, lag, throughput, status; receivers below, with their limits",
		flags: jsonFlag, run: stats},
	{name: "list", args: "[filters] [-limit N] [-before ID] [-scan N] [-json]", summary: "tasks, newest first (-before: the next page)",
		flags: listFlags, check: listArgs, run: list},
	{name: "show", args: "ID [-json] [-raw]", summary: "one task, with its payload and errors",
		flags: showFlags, check: oneID, run: show},
	{name: "retry", args: "(IDS... | -state dead|available [filters])", summary: "run dead (or waiting) tasks again now",
		flags: filterFlags, check: actionArgs(signalrt.ActionRetry), run: retry},
	{name: "discard", args: "(IDS... | -state dead [filters])", summary: "delete dead tasks",
		flags: filterFlags, check: actionArgs(signalrt.ActionDiscard), run: discard},
	{name: "cancel", args: "(IDS... | -state available|running [filters])", summary: "delete pending tasks; running ones are told to stop",
		flags: filterFlags, check: actionArgs(signalrt.ActionCancel), run: cancel},
	{name: "run-now", args: "IDS...", summary: "make delayed or backing-off tasks due now",
		check: someIDs, run: runNow},
	{name: "pause", args: "QUEUE [-force]", summary: "stop claims on a queue, in every worker (-force: a queue no one knows yet)",
		flags: pauseFlags, check: oneQueue, run: pause},
	{name: "resume", args: "QUEUE", summary: "restart claims on a paused queue",
		check: oneQueue, run: resume},
	{name: "workers", args: "[-json]", summary: "the registered workers, live and gone",
		flags: jsonFlag, run: workers},
	{name: "migrate", args: "", summary: "apply the schema migrations",
		run: migrate},
	{name: "serve", args: "[-addr 127.0.0.1:8080] [-read-only]", summary: "the web dashboard",
		flags: serveFlags, check: serveArgs, run: serve},
}

// options are the flags of a command line.
type options struct {
	db, schema string
	json       bool
	q          signalrt.TaskQuery
	state      string
	// show
	raw bool
	// pause
	force bool
	// serve
	addr     string
	readOnly bool
}

// env is what commands work with: the database, and where they write.
type env struct {
	db             *pgxpool.Pool
	stdout, stderr io.Writer
}

// errUsage marks errors that exit with status 2.
var errUsage = errors.New("usage")

// usageError is a usage error with its message.
func usageError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errUsage}, args...)...)
}

// usage is the usage text, made from the table.
func usage() string {
	var b strings.Builder
	b.WriteString("usage: signalctl [-db URL] [-schema NAME] <command> [flags] [arguments]\n\ncommands:\n")
	for _, c := range commands {
		line := "  " + c.name
		if c.args != "" {
			line += " " + c.args
		}
		if len(line) > 34 {
			fmt.Fprintf(&b, "%s\n%36s%s\n", line, "", c.summary)
		} else {
			fmt.Fprintf(&b, "%-36s%s\n", line, c.summary)
		}
	}
	b.WriteString(`
filters: -state S -queue Q -signal N -receiver R -error TEXT
  -receiver takes a whole key or its end (SendWelcome, mail.Mailer.SendWelcome);
  -error matches the error messages of failed attempts, ignoring case.
every command: -db URL (default $DATABASE_URL) -schema NAME, before or after it.
-json prints snake_case keys; durations are in nanoseconds (fields ending _ns).
exit status: 0 done; 1 the command ran and found a problem (nothing matched,
  a task that does not exist, a database error); 2 a usage error.
`)
	return b.String()
}

// lookup returns the command called name.
func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

func commandNames() string {
	names := make([]string, len(commands))
	for i, c := range commands {
		names[i] = c.name
	}
	return strings.Join(names, ", ")
}

// run runs one command line and returns the exit status.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	e := &env{stdout: stdout, stderr: stderr}
	err := dispatch(ctx, e, args, getenv)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, usage())
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "signalctl: %s\n\n%s", cleanText(strings.TrimPrefix(err.Error(), "usage: "), true), usage())
		return 2
	default:
		fmt.Fprintf(stderr, "signalctl: %s\n", cleanText(err.Error(), true))
		return 1
	}
}

// globalFlags adds the flags every command takes.
func globalFlags(fs *flag.FlagSet, o *options, getenv func(string) string) {
	fs.StringVar(&o.db, "db", getenv("DATABASE_URL"), "PostgreSQL `URL`")
	fs.StringVar(&o.schema, "schema", "", "the `schema` that holds the tables (search_path)")
}

func dispatch(ctx context.Context, e *env, args []string, getenv func(string) string) error {
	if err := checkText(args); err != nil {
		return err
	}
	var o options
	// Flags before the command: the ones every command takes.
	global := flag.NewFlagSet("signalctl", flag.ContinueOnError)
	global.SetOutput(io.Discard)
	globalFlags(global, &o, getenv)
	if err := global.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError("%v", err)
	}
	args = global.Args()
	if len(args) == 0 {
		return usageError("no command")
	}
	name := args[0]
	if name == "help" {
		return flag.ErrHelp
	}
	c := lookup(name)
	if c == nil {
		return usageError("unknown command %q; commands are %s", name, commandNames())
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	globalFlags(fs, &o, func(string) string { return o.db }) // after the command too
	if c.flags != nil {
		c.flags(fs, &o)
	}
	rest, err := parseInterspersed(fs, args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError("%s: %v", name, err)
	}
	if o.state != "" {
		o.q.State = signalrt.TaskState(o.state)
	}
	if err := o.q.Validate(); err != nil {
		return usageError("%s: %v", name, err)
	}
	check := c.check
	if check == nil {
		check = noArgs
	}
	if err := check(&o, rest); err != nil {
		return usageError("%s: %s", name, strings.TrimPrefix(err.Error(), "usage: "))
	}
	db, err := connect(ctx, &o, name == "serve")
	if err != nil {
		return err
	}
	defer db.Close()
	e.db = db
	return c.run(ctx, e, &o, rest)
}

// parseInterspersed parses flags and arguments in any order.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return rest, nil
		}
		rest = append(rest, args[0])
		args = args[1:]
	}
}

// checkText refuses arguments that no name, filter or id can hold: a NUL
// byte (PostgreSQL's text cannot store one) or invalid UTF-8.
func checkText(args []string) error {
	for _, a := range args {
		if strings.ContainsRune(a, 0) || !utf8.ValidString(a) {
			return usageError("argument %s: a NUL byte or invalid UTF-8; names, filters and ids are UTF-8 text", strconv.QuoteToASCII(a))
		}
	}
	return nil
}

func jsonFlag(fs *flag.FlagSet, o *options) { fs.BoolVar(&o.json, "json", false, "print JSON") }

func filterFlags(fs *flag.FlagSet, o *options) {
	fs.StringVar(&o.state, "state", "", "task `state`: available, running, succeeded, dead")
	fs.StringVar(&o.q.Queue, "queue", "", "`queue`")
	fs.StringVar(&o.q.Signal, "signal", "", "`signal` name")
	fs.StringVar(&o.q.Receiver, "receiver", "", "receiver `key`, or its end")
	fs.StringVar(&o.q.ErrorContains, "error", "", "`text` in the error messages")
}

func listFlags(fs *flag.FlagSet, o *options) {
	jsonFlag(fs, o)
	filterFlags(fs, o)
	fs.IntVar(&o.q.Limit, "limit", 50, "most tasks listed (1 to 1000)")
	fs.Int64Var(&o.q.BeforeID, "before", 0, "list the tasks older than this `id` (the next page)")
	fs.IntVar(&o.q.Scan, "scan", signalrt.DefaultSearchScan, "most tasks searched for one page, newest first")
}

func showFlags(fs *flag.FlagSet, o *options) {
	jsonFlag(fs, o)
	fs.BoolVar(&o.raw, "raw", false, "print the payload as stored, whole, instead of indented and cut")
}

func pauseFlags(fs *flag.FlagSet, o *options) {
	fs.BoolVar(&o.force, "force", false, "pause a queue that no task, worker or receiver uses yet")
}

func serveFlags(fs *flag.FlagSet, o *options) {
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "`address` to listen on (host:port)")
	fs.BoolVar(&o.readOnly, "read-only", false, "no actions: no retry, discard, cancel, run-now, pause or resume")
}

func noArgs(_ *options, args []string) error {
	if len(args) > 0 {
		return usageError("takes no arguments, got %q", args)
	}
	return nil
}

func listArgs(o *options, args []string) error {
	if o.q.Limit < 1 {
		return usageError("limit %d; want 1 to %d", o.q.Limit, signalrt.MaxSearchLimit)
	}
	return noArgs(o, args)
}

func oneID(_ *options, args []string) error {
	if len(args) != 1 {
		return usageError("takes one task id")
	}
	_, err := parseIDs(args)
	return err
}

func someIDs(_ *options, args []string) error {
	if len(args) == 0 {
		return usageError("takes task ids")
	}
	_, err := parseIDs(args)
	return err
}

func oneQueue(_ *options, args []string) error {
	if len(args) != 1 || args[0] == "" {
		return usageError("takes one queue name")
	}
	return nil
}

// actionArgs checks the arguments of an action: task ids, or filters with
// a state the action changes.
func actionArgs(a signalrt.Action) func(o *options, args []string) error {
	return func(o *options, args []string) error {
		filtered := o.q != (signalrt.TaskQuery{})
		switch {
		case len(args) > 0 && filtered:
			return usageError("%s: give task ids or filters, not both", a)
		case len(args) > 0:
			_, err := parseIDs(args)
			return err
		case !a.Applies(o.q.State):
			return usageError("%s by filter needs -state %s: %s changes only those tasks", a, joinStates(a.States(), " or -state "), a)
		}
		return nil
	}
}

func joinStates(states []signalrt.TaskState, sep string) string {
	parts := make([]string, len(states))
	for i, s := range states {
		parts[i] = string(s)
	}
	return strings.Join(parts, sep)
}

func parseIDs(args []string) ([]int64, error) {
	ids := make([]int64, len(args))
	for i, a := range args {
		id, err := strconv.ParseInt(a, 10, 64)
		if err != nil || id <= 0 {
			return nil, usageError("%q is not a task id (a positive integer)", a)
		}
		ids[i] = id
	}
	return ids, nil
}

// plural returns "1 task" or "2 tasks".
func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.FormatInt(n, 10) + " " + many
}
