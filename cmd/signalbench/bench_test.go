package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestMain lets the test binary stand in for signalbench when a workload
// re-executes itself as a drain child.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == childDrainCmd {
		os.Exit(cli(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func dbURL() string {
	if u := os.Getenv("DATABASE_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// TestQuick runs the quick mode of every workload but the pgbench floor
// against the real database and checks that each result line
// parses and makes sense. Timing targets are not asserted: the machine is
// shared.
func TestQuick(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := checkDB(ctx, dbURL()); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := cli(ctx, []string{"-quick", "-run", "W1,W1u,W1p,W2,W3,W4,rss,gen"}, &stdout, &stderr)
	t.Logf("stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	if code != 0 {
		t.Fatalf("signalbench -quick exited with %d", code)
	}
	byWorkload := map[string][]map[string]string{}
	for _, ln := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		m, err := parseLine(ln)
		if err != nil {
			t.Fatal(err)
		}
		if m["error"] != "" {
			t.Errorf("%s failed: %s", m["workload"], m["error"])
		}
		byWorkload[m["workload"]] = append(byWorkload[m["workload"]], m)
	}
	want := map[string]int{"W1": 2, "W1u": 2, "W1p": 2, "W2": 2, "W3": 1, "W4": 1, "rss": 2, "gen": 1}
	for w, n := range want {
		if len(byWorkload[w]) != n {
			t.Errorf("%d %s lines, want %d", len(byWorkload[w]), w, n)
		}
	}
	if len(byWorkload) != len(want) {
		t.Errorf("workloads %v, want those of %v", byWorkload, want)
	}

	num := func(m map[string]string, k string) float64 {
		t.Helper()
		v, err := strconv.ParseFloat(m[k], 64)
		if err != nil {
			t.Errorf("%s: %s=%q is not a number", m["workload"], k, m[k])
		}
		return v
	}
	positive := func(m map[string]string, keys ...string) {
		t.Helper()
		for _, k := range keys {
			if v := num(m, k); !(v > 0) {
				t.Errorf("%s: %s=%v, want > 0", m["workload"], k, v)
			}
		}
	}
	rss := func(m map[string]string) {
		t.Helper()
		if v := num(m, "peak_rss_mib"); v < 1 || v > 1024 {
			t.Errorf("%s: peak_rss_mib=%v, want between 1 and 1024", m["workload"], v)
		}
	}

	for i, m := range byWorkload["W1"] {
		positive(m, "seconds", "tasks_per_s")
		rss(m)
		if m["tasks"] != "2000" || m["concurrency"] != []string{"16", "100"}[i] {
			t.Errorf("W1 line %d: %v; want tasks=2000 concurrency=16, then 100", i, m)
		}
		if got, want := num(m, "tasks_per_s"), 2000/num(m, "seconds"); got < want*0.95 || got > want*1.05 {
			t.Errorf("W1: tasks_per_s=%v, but tasks/seconds=%v", got, want)
		}
	}
	for i, m := range byWorkload["W2"] {
		positive(m, "seconds", "sends", "sends_per_s", "tasks_sent", "tasks_per_s")
		k := num(m, "receivers")
		if k != []float64{1, 5}[i] {
			t.Errorf("W2 line %d: receivers=%v, want 1, then 5", i, k)
		}
		// runSend derives tasks_done from what is left in the table and
		// fails (an error line, caught above) when receivers ran fewer
		// times or tasks ended dead; here the reported rate must match.
		sent, done, backlog := num(m, "tasks_sent"), num(m, "tasks_done"), num(m, "backlog")
		if sent != num(m, "sends")*k || backlog < 0 || backlog > sent || num(m, "backlog_s") < 0 {
			t.Errorf("W2: inconsistent counts: %v", m)
		}
		if got, want := num(m, "tasks_per_s"), done/num(m, "seconds"); got < want*0.95 || got > want*1.05 {
			t.Errorf("W2: tasks_per_s=%v, but tasks_done/seconds=%v", got, want)
		}
	}
	for _, m := range byWorkload["W3"] {
		positive(m, "seconds", "sends", "p50_ms", "p95_ms", "p99_ms", "max_ms")
		if m["received"] != m["sends"] {
			t.Errorf("W3: received %s of %s", m["received"], m["sends"])
		}
		if !(num(m, "min_ms") <= num(m, "p50_ms") && num(m, "p50_ms") <= num(m, "p95_ms") &&
			num(m, "p95_ms") <= num(m, "p99_ms") && num(m, "p99_ms") <= num(m, "max_ms")) {
			t.Errorf("W3: percentiles out of order: %v", m)
		}
	}
	for _, m := range byWorkload["W4"] {
		positive(m, "bare_median_ms", "signal_median_ms", "ratio")
		if got, want := num(m, "ratio"), num(m, "signal_median_ms")/num(m, "bare_median_ms"); got < want*0.9 || got > want*1.1 {
			t.Errorf("W4: ratio=%v, medians give %v", got, want)
		}
	}
	for i, m := range byWorkload["rss"] {
		positive(m, "seconds", "tasks_per_s")
		rss(m)
		if m["backlog"] != []string{"2000", "10000"}[i] {
			t.Errorf("rss line %d: backlog=%s, want 2000, then 10000", i, m["backlog"])
		}
	}
	for _, m := range byWorkload["gen"] {
		positive(m, "signalgen_s", "go_vet_s", "ratio")
		if m["packages"] != "10" || m["receivers"] != "50" {
			t.Errorf("gen: %v; want the quick synthetic module of 10 packages and 50 receivers", m)
		}
	}
}

func TestCheckDBSaysHowToSetTheURL(t *testing.T) {
	err := checkDB(context.Background(), "postgres://postgres@127.0.0.1:1/nowhere?sslmode=disable&connect_timeout=2")
	if err == nil || !strings.Contains(err.Error(), "DATABASE_URL=") {
		t.Fatalf("checkDB on a closed port: %v; want advice on DATABASE_URL", err)
	}
}

func TestLineRoundTrip(t *testing.T) {
	l := newLine("W9")
	l.add("n", 3)
	l.add("rate", 12345.6)
	l.add("small", 0.01234)
	l.add("seconds", 1500*time.Millisecond)
	l.add("error", `bad "thing" = here`)
	s := l.String()
	if want := `workload=W9 n=3 rate=12346 small=0.012 seconds=1.50 error="bad \"thing\" = here"`; s != want {
		t.Fatalf("line %s\nwant %s", s, want)
	}
	m, err := parseLine(s)
	if err != nil {
		t.Fatal(err)
	}
	if m["error"] != `bad "thing" = here` || m["rate"] != "12346" || len(m) != 6 {
		t.Fatalf("parsed %v", m)
	}
	for _, bad := range []string{"n=1", "workload=W1 x", "workload=W1 a=1 a=2", `workload=W1 e="open`} {
		if _, err := parseLine(bad); err == nil {
			t.Errorf("parseLine(%q) succeeded", bad)
		}
	}
}

func TestParsePgbench(t *testing.T) {
	out := `pgbench (15.20 (Debian 15.20-0+deb12u1))
transaction type: floor_send.sql
scaling factor: 1
query mode: simple
number of clients: 8
number of threads: 2
maximum number of tries: 1
duration: 10 s
number of transactions actually processed: 21034
number of failed transactions: 0 (0.000%)
latency average = 3.801 ms
initial connection time = 9.513 ms
tps = 2104.681234 (without initial connection time)
`
	r, err := parsePgbench(out)
	if err != nil || r.tps != 2104.681234 || r.txns != 21034 || r.latencyMS != 3.801 {
		t.Fatalf("parsePgbench: %+v, %v", r, err)
	}
	if _, err := parsePgbench("pgbench: error: connection refused\n"); err == nil {
		t.Fatal("parsePgbench accepted a failed run")
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 200; i++ {
		d = append(d, time.Duration(i))
	}
	for p, want := range map[float64]time.Duration{50: 100, 95: 190, 99: 198, 100: 200, 0: 1} {
		if got := percentile(d, p); got != want {
			t.Errorf("p%v = %v, want %v", p, got, want)
		}
	}
	if percentile(nil, 50) != 0 {
		t.Error("percentile of nothing")
	}
}

func TestParseVmHWM(t *testing.T) {
	kib, err := parseVmHWM("Name:\tx\nVmPeak:\t  3060 kB\nVmHWM:\t    1768 kB\nVmRSS:\t 1700 kB\n")
	if err != nil || kib != 1768 {
		t.Fatalf("parseVmHWM: %d, %v", kib, err)
	}
	if kib, err := peakRSS(); err != nil || kib <= 0 {
		t.Fatalf("peakRSS of this process: %d, %v", kib, err)
	}
}

func TestOptions(t *testing.T) {
	var errs bytes.Buffer
	o, err := parseOptions([]string{"-quick", "-run", "w1,FLOOR,w1", "-n", "77"}, &errs)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(o.run, ",") != "W1,floor" || o.n != 77 || o.duration != time.Second || o.pairs != 200 {
		t.Fatalf("options %+v", o)
	}
	for _, args := range [][]string{{"-run", "W7"}, {"-k", "6"}, {"-c", "0"}, {"extra"}, {"-otel", "sdk"}} {
		if _, err := parseOptions(args, &errs); err == nil {
			t.Errorf("parseOptions(%q) accepted", args)
		}
	}
}

// TestOTelModes drains a small W1 with each -otel mode and checks, from the
// spans the worker counted, that the mode's hooks ran: a span for every
// attempt, some but not all with one trace in ten, none when off.
func TestOTelModes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := checkDB(ctx, dbURL()); err != nil {
		t.Fatal(err)
	}
	const n = 1000
	for _, mode := range otelModes {
		t.Run(mode, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := cli(ctx, []string{"-quick", "-run", "W1", "-c", "16", "-n", strconv.Itoa(n), "-otel", mode}, &stdout, &stderr)
			if code != 0 {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
			}
			m, err := parseLine(strings.TrimSpace(stdout.String()))
			if err != nil {
				t.Fatal(err)
			}
			if m["tasks"] != strconv.Itoa(n) || m["error"] != "" {
				t.Fatalf("line %v", m)
			}
			spans, counted := m["spans"]
			switch mode {
			case "off":
				if counted || m["otel"] != "" {
					t.Errorf("off: %v; want no otel and no spans", m)
				}
			case "sampled":
				if k, _ := strconv.Atoi(spans); k <= 0 || k >= n {
					t.Errorf("sampled: spans=%q of %d attempts; want some, not all", spans, n)
				}
			default:
				if m["otel"] != mode || spans != strconv.Itoa(n) {
					t.Errorf("%s: otel=%q spans=%q; want a span for each of %d attempts", mode, m["otel"], spans, n)
				}
			}
		})
	}
}

// TestSoak runs a short soak. It needs a server whose autovacuum is on,
// as production servers run it (.ci/run turns it on; the soak refuses a
// server where it is off, and this test then fails with its advice).
func TestSoak(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	csv := filepath.Join(t.TempDir(), "soak.csv")
	var stdout, stderr bytes.Buffer
	code := cli(ctx, []string{"-run", "soak", "-soak-duration", "10s", "-k", "2", "-senders", "2", "-soak-csv", csv}, &stdout, &stderr)
	t.Logf("stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	if code != 0 {
		t.Fatalf("signalbench -run soak exited with %d", code)
	}
	m, err := parseLine(strings.TrimSpace(stdout.String()))
	if err != nil {
		t.Fatal(err)
	}
	num := func(k string) float64 {
		t.Helper()
		v, err := strconv.ParseFloat(m[k], 64)
		if err != nil {
			t.Fatalf("%s=%q is not a number (line %v)", k, m[k], m)
		}
		return v
	}
	if m["workload"] != "soak" || num("receivers") != 2 || num("samples") < 5 || num("tasks_per_s") <= 0 {
		t.Errorf("soak line %v; want receivers=2, at least 5 samples and a rate", m)
	}
	if worst, p99 := num("worst_age_s"), num("p99_age_s"); p99 < 0 || worst < p99 {
		t.Errorf("worst_age_s=%v, p99_age_s=%v; want 0 <= p99 <= worst", worst, p99)
	}
	if num("table_mb_end") <= 0 || num("index_mb_end") <= 0 || num("longest_claim_s") < 0 {
		t.Errorf("soak line %v: want the table's and indexes' size", m)
	}
	b, err := os.ReadFile(csv)
	if err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(strings.TrimSpace(string(b)), "\n")
	if !strings.HasPrefix(rows[0], "second,backlog,oldest_due_age_s,") || len(rows)-1 != int(num("samples")) {
		t.Errorf("soak CSV: %d rows after %q; want one per sample (%v)", len(rows)-1, rows[0], m["samples"])
	}
}

// TestSoakRefusesWithoutAutovacuum: a session whose statistics are not
// collected (track_counts off, which a superuser may set for a session)
// stands for a server whose autovacuum does not run.
func TestSoakRefusesWithoutAutovacuum(t *testing.T) {
	ctx := context.Background()
	sep := "?"
	if strings.Contains(dbURL(), "?") {
		sep = "&"
	}
	conn, err := pgx.Connect(ctx, dbURL()+sep+"track_counts=off")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	err = checkAutovacuum(ctx, conn)
	if err == nil || !strings.Contains(err.Error(), "track_counts is off") || !strings.Contains(err.Error(), "ALTER SYSTEM SET track_counts = on") {
		t.Fatalf("checkAutovacuum with track_counts off: %v; want a refusal that says how to turn it on", err)
	}
}

func TestSummarizeSoak(t *testing.T) {
	var samples []soakSample
	for i := range 200 {
		sm := soakSample{at: time.Duration(i+1) * time.Second, age: 0.01, table: 100 << 20, idx: 10 << 20, autovacuums: int64(i / 60)}
		if i == 50 {
			sm.age, sm.claim = 3, 2.5 // one stall
		}
		if i == 10 || i == 11 {
			sm.age = 0.5
		}
		samples = append(samples, sm)
	}
	var l line
	summarize(samples, &l)
	m, err := parseLine("workload=x " + l.String())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"samples": "200", "worst_age_s": "3.00", "p99_age_s": "0.500", "longest_claim_s": "2.50",
		"autovacuums": "3", "table_mb_end": "100", "levelled": "true", "goal_met": "false"}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s=%q, want %q (line %s)", k, m[k], v, l.String())
		}
	}
}
