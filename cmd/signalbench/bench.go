package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultURL is the database used when neither -db nor DATABASE_URL is set.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// defaultWorkloads run when -run is not given, in this order.
var defaultWorkloads = []string{"W1", "W1u", "W1p", "W1l", "W2", "W3", "W4", "rss", "floor", "gen"}

// allWorkloads are the workloads -run accepts: the default ones, and the
// long ones that run only when named (scale, big payloads, a 10,000,000
// task backlog, the soak under autovacuum).
var allWorkloads = append(slices.Clone(defaultWorkloads), "scale", "rssbig", "backlog", "soak")

// options are the command-line settings of one run.
type options struct {
	db           string
	run          []string      // workload names, canonical spelling
	n            int           // W1 tasks
	concurrency  []int         // W1 worker slots
	otel         string        // W1, W1u and W1p: the worker's OpenTelemetry (see otelModes)
	unique       bool          // W2 and W4: send with signalrt.Unique
	batched      bool          // W2, W3: send in signalrt.BeginFunc
	receivers    []int         // W2 K
	senders      int           // W2 senders
	duration     time.Duration // W2, W3 and the pgbench runs
	soakDuration time.Duration
	soakCSV      io.Writer // the soak's samples, when -soak-csv is set
	soakCSVPath  string
	rate         int    // W3 tx/s
	pairs        int    // W4 transactions of each kind
	rssN         []int  // rss backlogs
	backlogN     int    // backlog tasks
	claimRows    int    // floor_claim prefill
	floorDir     string // pgbench scripts; empty: the embedded copies
	pgbench      string
	genPackages  int
	genRecv      int
	genRuns      int
	repo         string // module root for gen; empty: found with go env GOMOD
	timeout      time.Duration
	quick        bool
	stderr       io.Writer
	log          *slog.Logger // worker logs: warnings and errors only
}

func parseOptions(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("signalbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &options{stderr: stderr}
	def := os.Getenv("DATABASE_URL")
	if def == "" {
		def = DefaultURL
	}
	fs.StringVar(&o.db, "db", def, "PostgreSQL connection URL (default $DATABASE_URL, else "+DefaultURL+")")
	run := fs.String("run", strings.Join(defaultWorkloads, ","), "comma-separated workloads to run (also: scale, rssbig, backlog, soak, which run only when named)")
	fs.IntVar(&o.n, "n", 100_000, "W1: tasks inserted up front and drained")
	conc := fs.String("c", "16,100", "W1: worker concurrencies, one drain each")
	fs.StringVar(&o.otel, "otel", "off", "W1: the worker's OpenTelemetry: off, noop (otelsignal with an SDK that exports nowhere), sampled (the same, one trace in ten), memory (the SDK's in-memory exporter), sdkspan (no otelsignal: a bare SDK span per attempt, the floor of any span-per-attempt tracing) or sdkspan-attrs (that span with six attributes)")
	fs.BoolVar(&o.unique, "unique", false, "W2, W4: send with signalrt.Unique, a new key per order (the cost of the unique path)")
	fs.BoolVar(&o.batched, "batched", false, "W2, W3: send in signalrt.BeginFunc, with the COMMIT (W4 always measures both paths)")
	fs.IntVar(&o.backlogN, "backlog-n", 10_000_000, "backlog: tasks inserted up front and drained")
	recv := fs.String("k", "1,5", "W2: receivers per signal, one run each")
	fs.IntVar(&o.senders, "senders", 8, "W2: concurrent senders")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "length of W2, W3 and each timed pgbench run")
	fs.DurationVar(&o.soakDuration, "soak-duration", 10*time.Minute, "soak: length of the load (W2 with the largest -k, on a server whose autovacuum is on)")
	fs.StringVar(&o.soakCSVPath, "soak-csv", "", "soak: write the per-second samples to this CSV file")
	fs.IntVar(&o.rate, "rate", 200, "W3: transactions per second")
	fs.IntVar(&o.pairs, "pairs", 3000, "W4: transactions of each kind")
	rss := fs.String("rss-n", "100000,1000000", "rss: backlogs drained, one child process each")
	fs.IntVar(&o.claimRows, "claim-rows", 300_000, "floor: rows in q for floor_claim (claimed 100 per tx by 4 clients)")
	fs.StringVar(&o.floorDir, "floor-dir", "", "floor: directory of the pgbench scripts (default: the copies embedded in signalbench)")
	fs.StringVar(&o.pgbench, "pgbench", "pgbench", "floor: pgbench binary")
	fs.IntVar(&o.genPackages, "gen-packages", 100, "gen: packages in the synthetic module")
	fs.IntVar(&o.genRecv, "gen-receivers", 500, "gen: receivers in the synthetic module")
	fs.IntVar(&o.genRuns, "gen-runs", 3, "gen: timed runs of each command (the median is reported)")
	fs.StringVar(&o.repo, "repo", "", "gen: root of the signals module (default: found with go env GOMOD)")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Minute, "bound of each workload")
	fs.BoolVar(&o.quick, "quick", false, "smoke run: small sizes, short durations (explicit flags still win)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if o.quick {
		quick := map[string]func(){
			"n":             func() { o.n = 2000 },
			"duration":      func() { o.duration = time.Second },
			"pairs":         func() { o.pairs = 200 },
			"rss-n":         func() { *rss = "2000,10000" },
			"claim-rows":    func() { o.claimRows = 30_000 },
			"gen-packages":  func() { o.genPackages = 10 },
			"gen-receivers": func() { o.genRecv = 50 },
			"gen-runs":      func() { o.genRuns = 1 },
			"timeout":       func() { o.timeout = 2 * time.Minute },
			"soak-duration": func() { o.soakDuration = 15 * time.Second },
		}
		for name, f := range quick {
			if !set[name] {
				f()
			}
		}
	}
	var err error
	if o.run, err = parseWorkloads(*run); err != nil {
		return nil, err
	}
	if !slices.Contains(otelModes, o.otel) {
		return nil, fmt.Errorf("-otel %q: want one of %s", o.otel, strings.Join(otelModes, ", "))
	}
	if o.concurrency, err = parseInts("c", *conc); err != nil {
		return nil, err
	}
	if o.receivers, err = parseInts("k", *recv); err != nil {
		return nil, err
	}
	if o.rssN, err = parseInts("rss-n", *rss); err != nil {
		return nil, err
	}
	for _, k := range o.receivers {
		if k > len(receiverKeys) {
			return nil, fmt.Errorf("-k %d: at most %d receivers", k, len(receiverKeys))
		}
	}
	if o.soakDuration < 10*time.Second {
		return nil, errSoakNeedsTime
	}
	if !set["timeout"] && slices.Contains(o.run, "soak") {
		o.timeout = max(o.timeout, o.soakDuration+5*time.Minute)
	}
	if o.n <= 0 || o.pairs <= 0 || o.rate <= 0 || o.senders <= 0 || o.duration <= 0 || o.claimRows < 100 {
		return nil, errors.New("-n, -pairs, -rate, -senders and -duration must be positive, -claim-rows at least 100")
	}
	o.log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return o, nil
}

func parseWorkloads(s string) ([]string, error) {
	var out []string
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		i := slices.IndexFunc(allWorkloads, func(w string) bool { return strings.EqualFold(w, name) })
		if i < 0 {
			return nil, fmt.Errorf("-run: unknown workload %q; want some of %s", name, strings.Join(allWorkloads, ","))
		}
		if !slices.Contains(out, allWorkloads[i]) {
			out = append(out, allWorkloads[i])
		}
	}
	if len(out) == 0 {
		return nil, errors.New("-run: no workloads")
	}
	return out, nil
}

func parseInts(flagName, s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("-%s: %q is not a positive integer", flagName, f)
		}
		out = append(out, v)
	}
	return out, nil
}

// cli runs the command with args (without the program name) and returns the
// exit code. Result lines go to stdout, progress and errors to stderr.
func cli(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == childDrainCmd {
		return childDrain(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == childScaleCmd {
		return childScale(ctx, args[1:], stdout, stderr)
	}
	o, err := parseOptions(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "signalbench:", err)
		return 2
	}
	if err := checkDB(ctx, o.db); err != nil {
		fmt.Fprintln(stderr, "signalbench:", err)
		return 1
	}
	failed := false
	for _, name := range o.run {
		fmt.Fprintf(stderr, "signalbench: %s ...\n", name)
		err := runWorkload(ctx, o, name, func(l line) { fmt.Fprintln(stdout, l) })
		if err != nil {
			failed = true
			fmt.Fprintf(stderr, "signalbench: %s: %v\n", name, err)
			fmt.Fprintf(stdout, "workload=%s error=%q\n", name, err.Error())
		}
		if ctx.Err() != nil {
			fmt.Fprintln(stderr, "signalbench: interrupted")
			return 1
		}
	}
	if failed {
		return 1
	}
	return 0
}

// runWorkload runs the variants of one workload, each bounded by o.timeout,
// and emits their result lines.
func runWorkload(ctx context.Context, o *options, name string, emit func(line)) error {
	bounded := func(f func(ctx context.Context) (line, error)) error {
		ctx, cancel := context.WithTimeout(ctx, o.timeout)
		defer cancel()
		l, err := f(ctx)
		if err != nil {
			if ctx.Err() == context.DeadlineExceeded {
				err = fmt.Errorf("%w (bound: -timeout %s)", err, o.timeout)
			}
			return err
		}
		emit(l)
		return nil
	}
	switch name {
	case "W1", "W1u", "W1p", "W1l":
		for _, c := range o.concurrency {
			if err := bounded(func(ctx context.Context) (line, error) { return runDrain(ctx, o, name, o.n, c) }); err != nil {
				return err
			}
		}
	case "W2":
		for _, k := range o.receivers {
			if err := bounded(func(ctx context.Context) (line, error) { return runSend(ctx, o, k) }); err != nil {
				return err
			}
		}
	case "W3":
		return bounded(func(ctx context.Context) (line, error) { return runLatency(ctx, o) })
	case "soak":
		if o.soakCSVPath != "" {
			f, err := os.Create(o.soakCSVPath)
			if err != nil {
				return err
			}
			defer f.Close()
			o.soakCSV = f
		}
		return bounded(func(ctx context.Context) (line, error) { return runSoak(ctx, o) })
	case "W4":
		return bounded(func(ctx context.Context) (line, error) { return runOverhead(ctx, o) })
	case "rss":
		for _, n := range o.rssN {
			if err := bounded(func(ctx context.Context) (line, error) {
				return runDrain(ctx, o, "rss", n, 0)
			}); err != nil {
				return err
			}
		}
	case "floor":
		return runFloor(ctx, o, emit)
	case "scale":
		return runScale(ctx, o, emit)
	case "backlog":
		return bounded(func(ctx context.Context) (line, error) { return runBacklog(ctx, o) })
	case "rssbig":
		// 100 tasks of 512 KiB each, drained by a worker of the default
		// 100 slots whose receiver decodes the payload.
		return bounded(func(ctx context.Context) (line, error) { return runDrain(ctx, o, "rssbig", 100, 0) })
	case "gen":
		return bounded(func(ctx context.Context) (line, error) { return runGen(ctx, o) })
	default:
		return fmt.Errorf("unknown workload %q", name)
	}
	return nil
}

// checkDB connects once, so that a wrong URL fails early with advice.
func checkDB(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return fmt.Errorf("cannot connect to PostgreSQL at %s: %v\n"+
			"Start a server, or point signalbench at one where it may create schemas:\n"+
			"  DATABASE_URL='postgres://user:pass@host:5432/db?sslmode=disable' signalbench   (or -db URL)", url, err)
	}
	return conn.Close(ctx)
}

// line is one result: ordered key=value pairs.
type line struct {
	keys, values []string
}

func newLine(workload string) line {
	var l line
	l.add("workload", workload)
	return l
}

// add appends key=value. Floats get a precision that suits their size.
func (l *line) add(key string, v any) {
	var s string
	switch v := v.(type) {
	case string:
		s = v
		if s == "" || strings.ContainsAny(s, " \t\"=") {
			s = strconv.Quote(s)
		}
	case float64:
		s = formatFloat(v)
	case time.Duration:
		s = formatFloat(v.Seconds())
	default:
		s = fmt.Sprint(v)
	}
	l.keys = append(l.keys, key)
	l.values = append(l.values, s)
}

func formatFloat(v float64) string {
	switch a := max(v, -v); {
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
}

func (l line) String() string {
	var b strings.Builder
	for i, k := range l.keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(l.values[i])
	}
	return b.String()
}

// parseLine splits a result line into its key=value pairs; a value may be a
// Go-quoted string.
func parseLine(s string) (map[string]string, error) {
	m := map[string]string{}
	rest := strings.TrimSpace(s)
	for rest != "" {
		k, after, ok := strings.Cut(rest, "=")
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			return nil, fmt.Errorf("line %q: %q is not key=value", s, rest)
		}
		var v string
		if strings.HasPrefix(after, `"`) {
			q, err := strconv.QuotedPrefix(after)
			if err != nil {
				return nil, fmt.Errorf("line %q: key %s: %v", s, k, err)
			}
			v, _ = strconv.Unquote(q)
			after = after[len(q):]
		} else {
			end := strings.IndexAny(after, " \t")
			if end < 0 {
				end = len(after)
			}
			v, after = after[:end], after[end:]
		}
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("line %q: key %s twice", s, k)
		}
		m[k] = v
		rest = strings.TrimSpace(after)
	}
	if m["workload"] == "" {
		return nil, fmt.Errorf("line %q has no workload", s)
	}
	return m, nil
}

func progress(o *options, format string, args ...any) {
	fmt.Fprintf(o.stderr, "signalbench:   "+format+"\n", args...)
}
