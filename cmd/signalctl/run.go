package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	signalrt "github.com/reliablesignals/signals/runtime"
	"github.com/reliablesignals/signals/runtime/dashboard"
)

// errUsage marks errors that exit with status 2.
var errUsage = errors.New("usage")

// usageError is a usage error with its message.
func usageError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errUsage}, args...)...)
}

const usage = `usage: signalctl <command> [flags] [arguments]

commands:
  stats [-json]                 queues: counts, lag, throughput; receivers below
  list [filters] [-limit N] [-after ID] [-json]
                                tasks, newest first
  show ID [-json]               one task, with its payload and errors
  retry (IDS... | -state dead|available [filters])
  discard (IDS... | -state dead [filters])
  cancel (IDS... | -state available|running [filters])
                                delete pending tasks; running ones are told to stop
  run-now IDS...                make waiting tasks due now
  pause QUEUE | resume QUEUE    stop or restart claims on a queue
  workers [-json]               the registered workers
  migrate                       apply the schema migrations
  serve [-addr 127.0.0.1:8080] [-read-only]
                                the web dashboard

filters: -state S -queue Q -signal N -receiver R -error TEXT
every command: -db URL (default $DATABASE_URL) -schema NAME
`

var commands = []string{"stats", "list", "show", "retry", "discard", "cancel", "run-now", "pause", "resume", "workers", "migrate", "serve"}

// run runs one command and returns the exit status.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	err := dispatch(ctx, args, getenv, stdout)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, usage)
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "signalctl: %s\n\n%s", strings.TrimPrefix(err.Error(), "usage: "), usage)
		return 2
	default:
		fmt.Fprintf(stderr, "signalctl: %v\n", err)
		return 1
	}
}

// cmd is one parsed command line.
type cmd struct {
	fs     *flag.FlagSet
	db     *string
	schema *string
	json   *bool
	q      signalrt.TaskQuery
	// serve's flags
	addr     *string
	readOnly *bool
	args     []string
}

func newCmd(name string, getenv func(string) string) *cmd {
	c := &cmd{fs: flag.NewFlagSet(name, flag.ContinueOnError)}
	c.fs.SetOutput(io.Discard)
	c.db = c.fs.String("db", getenv("DATABASE_URL"), "PostgreSQL `URL`")
	c.schema = c.fs.String("schema", "", "the `schema` that holds the tables (search_path)")
	return c
}

func (c *cmd) jsonFlag() { c.json = c.fs.Bool("json", false, "print JSON") }

func (c *cmd) filterFlags() {
	c.fs.StringVar(&c.q.State, "state", "", "task `state`: "+strings.Join(signalrt.States, ", "))
	c.fs.StringVar(&c.q.Queue, "queue", "", "`queue`")
	c.fs.StringVar(&c.q.Signal, "signal", "", "`signal` name")
	c.fs.StringVar(&c.q.Receiver, "receiver", "", "receiver `key`")
	c.fs.StringVar(&c.q.ErrorContains, "error", "", "`text` in the error history")
}

// parse parses args, flags and arguments in any order.
func (c *cmd) parse(args []string) error {
	for {
		if err := c.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return usageError("%s: %v", c.fs.Name(), err)
		}
		args = c.fs.Args()
		if len(args) == 0 {
			return c.q.Validate()
		}
		c.args = append(c.args, args[0])
		args = args[1:]
	}
}

var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// connect opens a pool on the command's database and schema.
func (c *cmd) connect(ctx context.Context) (*pgxpool.Pool, error) {
	if *c.db == "" {
		return nil, usageError("no database: set DATABASE_URL or pass -db URL")
	}
	cfg, err := pgxpool.ParseConfig(*c.db)
	if err != nil {
		return nil, usageError("-db: %v", err)
	}
	if *c.schema != "" {
		if !schemaName.MatchString(*c.schema) {
			return nil, usageError("-schema %q: want a lowercase identifier (letters, digits, _)", *c.schema)
		}
		cfg.ConnConfig.RuntimeParams["search_path"] = *c.schema
	}
	cfg.MaxConns = 2
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connecting to %s: %w", cfg.ConnConfig.Host, err)
	}
	return pool, nil
}

func dispatch(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageError("no command")
	}
	name := args[0]
	if name == "-h" || name == "-help" || name == "--help" || name == "help" {
		return flag.ErrHelp
	}
	c := newCmd(name, getenv)
	switch name {
	case "stats", "workers":
		c.jsonFlag()
	case "list":
		c.jsonFlag()
		c.filterFlags()
		c.fs.IntVar(&c.q.Limit, "limit", 50, "most tasks listed (1 to 1000)")
		c.fs.Int64Var(&c.q.Before, "after", 0, "list the tasks after this `id` in the listing (older ones)")
	case "show":
		c.jsonFlag()
	case "retry", "discard", "cancel":
		c.filterFlags()
	case "run-now", "pause", "resume", "migrate":
	case "serve":
		c.addr = c.fs.String("addr", "127.0.0.1:8080", "`address` to listen on (host:port)")
		c.readOnly = c.fs.Bool("read-only", false, "no actions: no retry, discard, run-now, pause or resume")
	default:
		return usageError("unknown command %q; commands are %s", name, strings.Join(commands, ", "))
	}
	if err := c.parse(args[1:]); err != nil {
		if errors.Is(err, errUsage) || errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError("%s: %v", name, err)
	}
	if name == "list" && c.q.Limit == 0 {
		return usageError("list: -limit 0; want 1 to %d", signalrt.MaxSearchLimit)
	}
	if err := checkArgs(name, c); err != nil {
		return err
	}
	pool, err := c.connect(ctx)
	if err != nil {
		return err
	}
	defer pool.Close()
	switch name {
	case "stats":
		return stats(ctx, pool, c, stdout)
	case "list":
		return list(ctx, pool, c, stdout)
	case "show":
		return show(ctx, pool, c, stdout)
	case "retry":
		return retry(ctx, pool, c, stdout)
	case "discard":
		return discard(ctx, pool, c, stdout)
	case "cancel":
		return cancel(ctx, pool, c, stdout)
	case "run-now":
		ids, _ := parseIDs(c.args)
		n, err := signalrt.RunNow(ctx, pool, ids...)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d tasks due now\n", n)
		return nil
	case "pause":
		if err := signalrt.PauseQueue(ctx, pool, c.args[0]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "queue %s paused\n", c.args[0])
		return nil
	case "resume":
		was, err := signalrt.ResumeQueue(ctx, pool, c.args[0])
		if err != nil {
			return err
		}
		if !was {
			fmt.Fprintf(stdout, "queue %s was not paused\n", c.args[0])
			return nil
		}
		fmt.Fprintf(stdout, "queue %s resumed\n", c.args[0])
		return nil
	case "workers":
		return workers(ctx, pool, c, stdout)
	case "migrate":
		if err := signalrt.Migrate(ctx, pool); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "schema up to date")
		return nil
	case "serve":
		return serve(ctx, pool, c, stdout)
	}
	return nil
}

// checkArgs checks the positional arguments of each command.
func checkArgs(name string, c *cmd) error {
	switch name {
	case "stats", "list", "workers", "migrate", "serve":
		if len(c.args) > 0 {
			return usageError("%s takes no arguments, got %q", name, c.args)
		}
	case "show":
		if len(c.args) != 1 {
			return usageError("show takes one task id")
		}
		if _, err := parseIDs(c.args); err != nil {
			return err
		}
	case "pause", "resume":
		if len(c.args) != 1 {
			return usageError("%s takes one queue name", name)
		}
	case "run-now":
		if len(c.args) == 0 {
			return usageError("run-now takes task ids")
		}
		if _, err := parseIDs(c.args); err != nil {
			return err
		}
	case "retry", "discard", "cancel":
		filtered := c.q != (signalrt.TaskQuery{})
		switch {
		case len(c.args) > 0 && filtered:
			return usageError("%s: give task ids or filters, not both", name)
		case len(c.args) > 0:
			_, err := parseIDs(c.args)
			return err
		case name == "retry" && c.q.State != signalrt.StateDead && c.q.State != signalrt.StateAvailable:
			return usageError("retry by filter needs -state dead or -state available (waiting tasks); only those can be retried")
		case name == "discard" && c.q.State != signalrt.StateDead:
			return usageError("discard by filter needs -state dead; only dead tasks can be discarded")
		case name == "cancel" && c.q.State != signalrt.StateAvailable && c.q.State != signalrt.StateRunning:
			return usageError("cancel by filter needs -state available or -state running; only those can be cancelled")
		}
	}
	return nil
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

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table returns a writer for an aligned table; call Flush.
func table(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0) }

// statsMinutes is how many minutes of throughput stats shows.
const statsMinutes = 5

// queueReport is one queue of stats -json.
type queueReport struct {
	signalrt.QueueStats
	Receivers  []signalrt.ReceiverCounts `json:"receivers"`
	LagSeconds float64                   `json:"lag_seconds"`
	// Throughput is the succeeded, failed and dead counts of the last
	// minutes, oldest first, per queue; per receiver in Receivers.
	Throughput         []minuteCounts            `json:"throughput"`
	ReceiverThroughput map[string][]minuteCounts `json:"receiver_throughput"`
}

type minuteCounts struct {
	Minute    time.Time `json:"minute"`
	Succeeded int64     `json:"succeeded"`
	Failed    int64     `json:"failed"`
	Dead      int64     `json:"dead"`
}

func stats(ctx context.Context, db *pgxpool.Pool, c *cmd, w io.Writer) error {
	qs, err := signalrt.QueueOverview(ctx, db)
	if err != nil {
		return err
	}
	first, points, err := signalrt.Throughput(ctx, db, statsMinutes)
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
	// Queues with tasks, and queues whose tasks all finished lately (they
	// are deleted as they succeed): those have counters.
	seen := map[string]bool{}
	for _, q := range qs {
		seen[q.Queue] = true
	}
	for _, p := range points {
		if !seen[p.Queue] {
			seen[p.Queue] = true
			qs = append(qs, signalrt.QueueStats{Queue: p.Queue})
		}
	}
	sort.Slice(qs, func(i, j int) bool { return qs[i].Queue < qs[j].Queue })
	reports := make([]queueReport, len(qs))
	byQueue := map[string]*queueReport{}
	for i, q := range qs {
		receivers, err := signalrt.QueueReceivers(ctx, db, q.Queue)
		if err != nil {
			return err
		}
		reports[i] = queueReport{QueueStats: q, Receivers: receivers, LagSeconds: q.Lag.Seconds(), Throughput: series(), ReceiverThroughput: map[string][]minuteCounts{}}
		byQueue[q.Queue] = &reports[i]
	}
	for _, p := range points {
		r := byQueue[p.Queue]
		i := slot(p.Minute)
		if i < 0 || i >= statsMinutes {
			continue
		}
		if r.ReceiverThroughput[p.Receiver] == nil {
			r.ReceiverThroughput[p.Receiver] = series()
		}
		for _, s := range [][]minuteCounts{r.Throughput, r.ReceiverThroughput[p.Receiver]} {
			s[i].Succeeded += p.Succeeded
			s[i].Failed += p.Failed
			s[i].Dead += p.Dead
		}
	}
	if *c.json {
		return printJSON(w, reports)
	}
	if len(reports) == 0 {
		fmt.Fprintln(w, "no tasks")
		return nil
	}
	tw := table(w)
	fmt.Fprintf(tw, "QUEUE\tAVAILABLE\tRUNNING\tDEAD\tLAG\tDONE/MIN (last %d, oldest first)\tFAILED/MIN\tSTATUS\n", statsMinutes)
	for _, r := range reports {
		status := "running"
		if r.PausedAt != nil {
			status = "paused since " + r.PausedAt.Format(time.RFC3339)
		}
		if r.Pending > 0 { // sends made in BeginFunc, not fanned out into tasks yet
			status += fmt.Sprintf("; %d tasks waiting for fan-out", r.Pending)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\n", r.Queue, r.Available, r.Running, r.Dead, r.Lag.Round(time.Millisecond),
			perMinute(r.Throughput, func(m minuteCounts) int64 { return m.Succeeded }), perMinute(r.Throughput, func(m minuteCounts) int64 { return m.Failed + m.Dead }), status)
		for _, rc := range receiverRows(r) {
			s := r.ReceiverThroughput[rc.Receiver]
			if s == nil {
				s = series()
			}
			fmt.Fprintf(tw, "  %s\t%d\t%d\t%d\t\t%s\t%s\t\n", rc.Receiver, rc.Available, rc.Running, rc.Dead,
				perMinute(s, func(m minuteCounts) int64 { return m.Succeeded }), perMinute(s, func(m minuteCounts) int64 { return m.Failed + m.Dead }))
		}
	}
	return tw.Flush()
}

// receiverRows returns the receivers of a queue's report: those with tasks,
// and those with counters only, by key.
func receiverRows(r queueReport) []signalrt.ReceiverCounts {
	rows := slices.Clone(r.Receivers)
	for key := range r.ReceiverThroughput {
		if !slices.ContainsFunc(rows, func(c signalrt.ReceiverCounts) bool { return c.Receiver == key }) {
			rows = append(rows, signalrt.ReceiverCounts{Receiver: key})
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Receiver < rows[j].Receiver })
	return rows
}

func perMinute(s []minuteCounts, f func(minuteCounts) int64) string {
	parts := make([]string, len(s))
	for i, m := range s {
		parts[i] = strconv.FormatInt(f(m), 10)
	}
	return strings.Join(parts, " ")
}

// firstLine returns s's first line, cut to n runes.
func firstLine(s string, n int) string {
	s, _, _ = strings.Cut(s, "\n")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func list(ctx context.Context, db *pgxpool.Pool, c *cmd, w io.Writer) error {
	tasks, err := signalrt.SearchTasks(ctx, db, c.q)
	if err != nil {
		return err
	}
	if *c.json {
		return printJSON(w, tasks)
	}
	if len(tasks) == 0 {
		fmt.Fprintln(w, "no tasks")
		return nil
	}
	tw := table(w)
	fmt.Fprintln(tw, "ID\tSTATE\tQUEUE\tSIGNAL\tRECEIVER\tATTEMPT\tRUN AT\tLAST ERROR")
	for _, t := range tasks {
		last := ""
		if n := len(t.Errors); n > 0 {
			last = firstLine(t.Errors[n-1].Error, 60)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d/%d\t%s\t%s\n", t.ID, t.State, t.Queue, t.Signal, t.Receiver, t.Attempt, t.MaxAttempts,
			t.RunAt.Format(time.RFC3339), last)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(tasks) == c.q.Limit {
		fmt.Fprintf(w, "more: signalctl list -after %d (with the same filters)\n", tasks[len(tasks)-1].ID)
	}
	return nil
}

func show(ctx context.Context, db *pgxpool.Pool, c *cmd, w io.Writer) error {
	ids, _ := parseIDs(c.args)
	t, err := signalrt.GetTask(ctx, db, ids[0])
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("no task %d", ids[0])
	}
	if err != nil {
		return err
	}
	if *c.json {
		return printJSON(w, t)
	}
	tw := table(w)
	fmt.Fprintf(tw, "id\t%d\nsignal\t%s\nreceiver\t%s\nqueue\t%s\nstate\t%s\nattempt\t%d of %d\npriority\t%d\nrun at\t%s\ncreated\t%s\n",
		t.ID, t.Signal, t.Receiver, t.Queue, t.State, t.Attempt, t.MaxAttempts, t.Priority, t.RunAt.Format(time.RFC3339Nano), t.CreatedAt.Format(time.RFC3339Nano))
	if t.FinishedAt != nil {
		fmt.Fprintf(tw, "finished\t%s\n", t.FinishedAt.Format(time.RFC3339Nano))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\npayload:\n%s\n", signalrt.PrettyPayload(t.Payload))
	if len(t.Errors) == 0 {
		fmt.Fprintln(w, "\nno failed attempts")
		return nil
	}
	fmt.Fprintf(w, "\nfailed attempts (%d):\n", len(t.Errors))
	for _, e := range t.Errors {
		fmt.Fprintf(w, "\nattempt %d at %s on %s:\n%s\n", e.Attempt, e.At.Format(time.RFC3339Nano), e.Worker, e.Error)
	}
	return nil
}

func retry(ctx context.Context, db *pgxpool.Pool, c *cmd, w io.Writer) error {
	var n int64
	var err error
	if len(c.args) > 0 {
		ids, _ := parseIDs(c.args)
		n, err = signalrt.Retry(ctx, db, ids...)
	} else {
		n, err = signalrt.RetryMatching(ctx, db, c.q)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%d tasks retried\n", n)
	if n == 0 {
		return errors.New("nothing matched: no dead or waiting task had those ids or matched those filters")
	}
	return nil
}

func discard(ctx context.Context, db *pgxpool.Pool, c *cmd, w io.Writer) error {
	var n int64
	var err error
	if len(c.args) > 0 {
		ids, _ := parseIDs(c.args)
		n, err = signalrt.Discard(ctx, db, ids...)
	} else {
		n, err = signalrt.DiscardMatching(ctx, db, c.q)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%d dead tasks discarded\n", n)
	if n == 0 {
		return errors.New("nothing matched: no dead task had those ids or matched those filters")
	}
	return nil
}

func workers(ctx context.Context, db *pgxpool.Pool, c *cmd, w io.Writer) error {
	ws, err := signalrt.Workers(ctx, db)
	if err != nil {
		return err
	}
	if *c.json {
		return printJSON(w, ws)
	}
	if len(ws) == 0 {
		fmt.Fprintln(w, "no workers")
		return nil
	}
	tw := table(w)
	fmt.Fprintln(tw, "NAME\tHOST\tPID\tQUEUES\tSLOTS\tSTATUS\tLAST HEARTBEAT\tSTARTED\tRECEIVERS")
	for _, wk := range ws {
		status := "live"
		switch {
		case !wk.Live:
			status = "gone"
		case wk.Unhealthy != "":
			status = "unhealthy: " + wk.Unhealthy
		}
		keys := make([]string, 0, len(wk.Receivers))
		for k := range wk.Receivers {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%s\t%s ago\t%s\t%d: %s\n", wk.Name, wk.Host, wk.PID, strings.Join(wk.Queues, ","), wk.Concurrency, status,
			wk.HeartbeatAge.Round(time.Second), wk.StartedAt.Format(time.RFC3339), len(keys), firstLine(strings.Join(keys, ", "), 80))
	}
	return tw.Flush()
}

// serve serves the dashboard until ctx is cancelled.
func serve(ctx context.Context, db *pgxpool.Pool, c *cmd, w io.Writer) error {
	ln, err := net.Listen("tcp", *c.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           dashboard.New(db, dashboard.Options{ReadOnly: *c.readOnly}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	mode := ""
	if *c.readOnly {
		mode = " (read-only)"
	}
	fmt.Fprintf(w, "dashboard%s at http://%s/ (Ctrl-C stops it)\n", mode, ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		return srv.Shutdown(shut)
	}
}

func cancel(ctx context.Context, db *pgxpool.Pool, c *cmd, w io.Writer) error {
	var n int64
	var err error
	if len(c.args) > 0 {
		ids, _ := parseIDs(c.args)
		n, err = signalrt.Cancel(ctx, db, ids...)
	} else {
		n, err = signalrt.CancelMatching(ctx, db, c.q)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%d tasks cancelled\n", n)
	if n == 0 {
		return errors.New("nothing matched: no available or running task had those ids or matched those filters")
	}
	return nil
}
