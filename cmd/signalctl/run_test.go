package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/reliablesignals/signals/internal/pgtest"
	signalrt "github.com/reliablesignals/signals/runtime"
)

type result struct {
	code           int
	stdout, stderr string
}

// ctl runs signalctl with args, DATABASE_URL set to url.
func ctl(t *testing.T, url string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	getenv := func(k string) string {
		if k == "DATABASE_URL" {
			return url
		}
		return ""
	}
	code := run(context.Background(), args, getenv, &out, &errb)
	return result{code, out.String(), errb.String()}
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// TestUsageErrors checks that bad command lines exit 2 with a message that
// says what is allowed, without touching a database.
func TestUsageErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "no command"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"; commands are stats, list, show, retry, discard, cancel, run-now, pause, resume, workers, migrate, serve`},
		{[]string{"-db"}, "flag needs an argument: -db"},
		{[]string{"pause", ""}, "takes one queue name"},
		{[]string{"resume", ""}, "takes one queue name"},
		{[]string{"serve", "-addr", "bad:addr:x"}, `serve: -addr "bad:addr:x"`},
		{[]string{"list", "-queue", "\x00"}, `argument "\x00": a NUL byte or invalid UTF-8`},
		{[]string{"list", "-queue", "\xff"}, `argument "\xff": a NUL byte or invalid UTF-8`},
		{[]string{"list", "-state", "done"}, `unknown state "done"; valid states are available, running, succeeded, dead`},
		{[]string{"list", "-limit", "-1"}, "limit -1; want 1 to 1000"},
		{[]string{"list", "-limit", "0"}, "list: limit 0; want 1 to 1000"},
		{[]string{"list", "-colour"}, "list: flag provided but not defined: -colour"},
		{[]string{"show"}, "show: takes one task id"},
		{[]string{"show", "abc"}, `"abc" is not a task id (a positive integer)`},
		{[]string{"show", "-3"}, "show: flag provided but not defined: -3"},
		{[]string{"retry"}, "retry by filter needs -state dead or -state available: retry changes only those tasks"},
		{[]string{"retry", "-state", "running"}, "retry by filter needs -state dead or -state available"},
		{[]string{"retry", "1", "-queue", "q"}, "retry: give task ids or filters, not both"},
		{[]string{"discard", "-state", "available"}, "discard by filter needs -state dead"},
		{[]string{"cancel", "-state", "dead"}, "cancel by filter needs -state available or -state running"},
		{[]string{"pause"}, "pause: takes one queue name"},
		{[]string{"stats", "extra"}, `stats: takes no arguments, got ["extra"]`},
		{[]string{"stats", "-schema", "Shop"}, `-schema "Shop": want a lowercase identifier`},
	} {
		r := ctl(t, "postgres://nobody@127.0.0.1:1/none", tc.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) || !strings.Contains(r.stderr, "usage: signalctl") {
			t.Errorf("signalctl %q: %s\nwant exit 2 and %q with the usage", tc.args, r, tc.want)
		}
	}
	if r := ctl(t, "", "stats"); r.code != 2 || !strings.Contains(r.stderr, "no database: set DATABASE_URL or pass -db URL") {
		t.Errorf("no database: %s", r)
	}
	if r := ctl(t, "", "-h"); r.code != 0 || !strings.Contains(r.stdout, "commands:") {
		t.Errorf("-h: %s", r)
	}
	if r := ctl(t, "", "-db", "postgres://nobody@127.0.0.1:1/none?connect_timeout=2", "stats"); r.code != 1 || !strings.Contains(r.stderr, "connecting to 127.0.0.1") {
		t.Errorf("-db before the command: %s; want a connection error, not a usage error", r)
	}
}

// TestCommands runs every command against a real schema with tasks of two
// receivers, some dead, and a live worker.
func TestCommands(t *testing.T) {
	t.Parallel()
	schema, url := pgtest.Schema(t)
	base := pgtest.URL()
	if r := ctl(t, base, "migrate", "-schema", schema); r.code != 0 || r.stdout != "schema up to date\n" {
		t.Fatalf("migrate: %s", r)
	}
	pool := pgtest.PoolFor(t, url)
	ctx := context.Background()
	type payload struct {
		OrderID int64  `json:"order_id"`
		Note    string `json:"note"`
	}
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		for i := 1; i <= 3; i++ {
			routes := []signalrt.Route{{Receiver: "mail.Send", Queue: "mail"}, {Receiver: "ship.Reserve", Queue: "ship"}}
			if err := signalrt.Send(ctx, tx, "order_placed", routes, payload{OrderID: int64(i), Note: "n"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The ship tasks fail for good; the mail tasks succeed.
	table := signalrt.Table{
		{Key: "mail.Send", Signal: "order_placed", Queue: "mail", Limit: signalrt.Limit{Concurrency: 5}, Handle: func(context.Context, []byte) error { return nil }},
		{Key: "ship.Reserve", Signal: "order_placed", Queue: "ship", Handle: func(context.Context, []byte) error {
			return signalrt.Permanent(errors.New("warehouse closed\nsecond line"))
		}},
	}
	w, err := signalrt.NewWorker(pool, table, signalrt.Config{Name: "ctl-worker", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	deadline := time.Now().Add(time.Minute)
	for {
		tasksPage, err := signalrt.SearchTasks(ctx, pool, signalrt.TaskQuery{State: signalrt.StateDead})
		tasks := tasksPage.Tasks
		if err != nil {
			t.Fatal(err)
		}
		_, points, err := signalrt.Throughput(ctx, pool, 5)
		if err != nil {
			t.Fatal(err)
		}
		if len(tasks) == 3 && len(points) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the worker did not finish: %d dead, %d counter rows", len(tasks), len(points))
		}
		time.Sleep(20 * time.Millisecond)
	}

	r := ctl(t, url, "stats")
	for _, want := range []string{"QUEUE", "mail ", "ship ", "  ship.Reserve", "0 0 0 0 3", "limit concurrency=5", "running: 1 worker"} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("stats: want %q in:\n%s", want, r)
		}
	}
	r = ctl(t, url, "stats", "-json")
	var stats []struct {
		Queue      string `json:"queue"`
		Dead       int64  `json:"dead"`
		Throughput []struct {
			Dead int64 `json:"dead"`
		} `json:"throughput"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &stats); err != nil || len(stats) != 2 || stats[1].Queue != "ship" || stats[1].Dead != 3 || stats[1].Throughput[4].Dead != 3 {
		t.Errorf("stats -json: %v; %+v\n%s", err, stats, r)
	}

	r = ctl(t, url, "list", "-state", "dead", "-limit", "2")
	if r.code != 0 || strings.Count(r.stdout, "ship.Reserve") != 2 || !strings.Contains(r.stdout, "warehouse closed") ||
		strings.Contains(r.stdout, "second line") || !strings.Contains(r.stdout, "more: signalctl list -before ") {
		t.Errorf("list -state dead -limit 2: %s", r)
	}
	r = ctl(t, url, "list", "-json", "-receiver", "ship.Reserve")
	var listed signalrt.TaskPage
	if err := json.Unmarshal([]byte(r.stdout), &listed); err != nil || len(listed.Tasks) != 3 || listed.Tasks[0].ID < listed.Tasks[2].ID {
		t.Fatalf("list -json: %v\n%s", err, r)
	}
	if !strings.Contains(r.stdout, `"last_error": "warehouse closed`) || !strings.Contains(r.stdout, `"max_attempts": 25`) || strings.Contains(r.stdout, `"payload"`) {
		t.Errorf("list -json: want snake_case keys, the last error and no payload:\n%s", r.stdout)
	}
	if r := ctl(t, url, "list", "-receiver", "ship.Reserve", "-before", fmt.Sprint(listed.Tasks[1].ID)); r.code != 0 || strings.Count(r.stdout, "ship.Reserve") != 1 {
		t.Errorf("list -before: %s", r)
	}
	if r := ctl(t, url, "list", "-error", "WAREHOUSE", "-queue", "mail"); r.code != 0 || r.stdout != "no tasks\n" {
		t.Errorf("list with no match: %s", r)
	}
	// The end of a key stands for the key; flags may come before the command.
	if r := ctl(t, url, "-schema", schema, "list", "-receiver", "Reserve", "-state", "dead"); r.code != 0 || strings.Count(r.stdout, "ship.Reserve") != 3 ||
		!strings.Contains(r.stderr, "-receiver Reserve: ship.Reserve") {
		t.Errorf("list -receiver Reserve: %s", r)
	}
	if r := ctl(t, url, "list", "-queue", "mial"); r.code != 0 || !strings.Contains(r.stdout, `no queue "mial" is known; known queues: mail, ship`) {
		t.Errorf("list -queue mial: %s", r)
	}
	if r := ctl(t, url, "list", "-receiver", "SendWelcome"); r.code != 0 || !strings.Contains(r.stdout, `no receiver "SendWelcome" is known; known receivers: mail.Send, ship.Reserve`) {
		t.Errorf("list -receiver SendWelcome: %s", r)
	}

	id := fmt.Sprint(listed.Tasks[0].ID)
	r = ctl(t, url, "show", id)
	for _, want := range []string{"receiver  ship.Reserve", "state     dead", "priority  0\n", "\"order_id\": 3", "failed attempts (1):", "warehouse closed\nsecond line", "on ctl-worker"} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("show: want %q in:\n%s", want, r)
		}
	}
	if r := ctl(t, url, "show", "99999"); r.code != 1 || !strings.Contains(r.stderr, "signalctl: no task 99999: it never existed, or it was deleted (succeeded tasks are deleted as they succeed unless") {
		t.Errorf("show of a missing task: %s", r)
	}
	if r := ctl(t, url, "run-now", "99999"); r.code != 1 || !strings.Contains(r.stderr, "nothing matched") {
		t.Errorf("run-now of a missing task: %s; want exit 1 as retry, discard and cancel", r)
	}
	if r := ctl(t, url, "pause", "mial"); r.code != 1 || !strings.Contains(r.stderr, `no queue "mial" is known`) || !strings.Contains(r.stderr, "-force") {
		t.Errorf("pause of an unknown queue: %s", r)
	}
	if r := ctl(t, url, "pause", "-force", "later"); r.code != 0 || r.stdout != "queue later paused\n" {
		t.Errorf("pause -force: %s", r)
	}

	if r := ctl(t, url, "pause", "ship"); r.code != 0 || r.stdout != "queue ship paused\n" {
		t.Errorf("pause: %s", r)
	}
	if r := ctl(t, url, "stats"); !strings.Contains(r.stdout, "paused since") {
		t.Errorf("stats of a paused queue: %s", r)
	}
	if r := ctl(t, url, "retry", id); r.code != 0 || r.stdout != "1 task retried\n" {
		t.Errorf("retry ID: %s", r)
	}
	if r := ctl(t, url, "retry", "-state", "dead", "-receiver", "ship.Reserve"); r.code != 0 || r.stdout != "2 tasks retried\n" {
		t.Errorf("retry by filter: %s", r)
	}
	if r := ctl(t, url, "retry", "-state", "dead"); r.code != 1 || !strings.Contains(r.stderr, "nothing matched") {
		t.Errorf("retry matching nothing: %s", r)
	}
	// Paused: the retried tasks wait.
	time.Sleep(200 * time.Millisecond) // 4 poll intervals; not a timing assertion
	if r := ctl(t, url, "list", "-state", "available", "-queue", "ship"); strings.Count(r.stdout, "ship.Reserve") != 3 {
		t.Errorf("retried tasks of a paused queue: %s", r)
	}
	if r := ctl(t, url, "resume", "ship"); r.code != 0 || r.stdout != "queue ship resumed\n" {
		t.Errorf("resume: %s", r)
	}
	if r := ctl(t, url, "resume", "ship"); r.code != 0 || r.stdout != "queue ship was not paused\n" {
		t.Errorf("resume again: %s", r)
	}
	deadline = time.Now().Add(time.Minute)
	for r := ctl(t, url, "list", "-state", "dead"); strings.Count(r.stdout, "ship.Reserve") != 3; r = ctl(t, url, "list", "-state", "dead") {
		if time.Now().After(deadline) {
			t.Fatalf("the retried tasks did not die again after resume: %s", r)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r := ctl(t, url, "discard", id, "1"); r.code != 0 || r.stdout != "1 task discarded\n" {
		t.Errorf("discard IDS: %s", r)
	}
	if r := ctl(t, url, "discard", "-state", "dead", "-queue", "ship"); r.code != 0 || r.stdout != "2 tasks discarded\n" {
		t.Errorf("discard by filter: %s", r)
	}

	r = ctl(t, url, "workers")
	for _, want := range []string{"NAME", "ctl-worker", "mail,ship", "live", "2: mail.Send, ship.Reserve"} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("workers: want %q in:\n%s", want, r)
		}
	}
	var ws []signalrt.WorkerInfo
	if r := ctl(t, url, "workers", "-json"); json.Unmarshal([]byte(r.stdout), &ws) != nil || len(ws) != 1 || !ws[0].Live {
		t.Errorf("workers -json: %s", r)
	}
}

func TestCancelCommand(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, url := pgtest.Schema(t)
	pool := pgtest.PoolFor(t, url)
	routes := []signalrt.Route{{Receiver: "mail.Send", Queue: "mail"}, {Receiver: "ship.Reserve", Queue: "ship"}}
	for i := range 3 {
		if err := signalrt.Send(ctx, pool, "order_placed", routes, map[string]int{"order_id": i}, signalrt.After(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if r := ctl(t, url, "cancel", "1"); r.code != 0 || r.stdout != "1 task cancelled\n" {
		t.Errorf("cancel ID: %s", r)
	}
	if r := ctl(t, url, "cancel", "-state", "available", "-queue", "ship"); r.code != 0 || r.stdout != "3 tasks cancelled\n" {
		t.Errorf("cancel by filter: %s", r)
	}
	if r := ctl(t, url, "cancel", "-state", "available", "-queue", "ship"); r.code != 1 || !strings.Contains(r.stderr, "nothing matched") {
		t.Errorf("cancel with nothing left: %s", r)
	}
	var left int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM signal_task").Scan(&left); err != nil || left != 2 {
		t.Errorf("%d tasks left (%v); want mail's 2", left, err)
	}
}

// TestDocMatchesTable: the package documentation lists every command of
// the table, with its synopsis and summary, in the table's order.
func TestDocMatchesTable(t *testing.T) {
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(src)
	last := 0
	for _, c := range commands {
		line := c.name
		if c.args != "" {
			line += " " + c.args
		}
		i := strings.Index(doc, "//\t"+line)
		if i < 0 {
			t.Errorf("the package doc lacks the line %q", line)
			continue
		}
		if i < last {
			t.Errorf("the package doc lists %s out of the table's order", c.name)
		}
		last = i
		if !strings.Contains(doc[i:], c.summary) {
			t.Errorf("the package doc lacks the summary of %s: %q", c.name, c.summary)
		}
	}
}

// TestHostileData: names, messages and payloads written by someone else
// reach the terminal escaped and bounded; a damaged row lists as damaged.
func TestHostileData(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, url := pgtest.Schema(t)
	pool := pgtest.PoolFor(t, url)
	nested := strings.Repeat("[", 5000) + strings.Repeat("]", 5000)
	routes := []signalrt.Route{{Receiver: "evil\x1b]52;c;aGk=\x07", Queue: "q\x1b[2J"}}
	if err := signalrt.Send(ctx, pool, "s\r\nfake row", routes, json.RawMessage(nested)); err != nil {
		t.Fatal(err)
	}
	pgtest.Exec(t, pool, `UPDATE signal_task SET state = 'dead', finished_at = now(), errors = '{"oops": 1}'`)
	if err := signalrt.Send(ctx, pool, "ok", []signalrt.Route{{Receiver: "fine"}}, map[string]int{"n": 1}); err != nil {
		t.Fatal(err)
	}

	r := ctl(t, url, "list")
	if r.code != 0 || strings.ContainsAny(r.stdout, "\x1b\x07\r") || !strings.Contains(r.stdout, `q\x1b[2J`) ||
		!strings.Contains(r.stdout, "(damaged: its error history is not a list of attempts)") || !strings.Contains(r.stdout, "fine") {
		t.Errorf("list of hostile names: %q", r.stdout)
	}
	r = ctl(t, url, "show", "1")
	if r.code != 0 || strings.ContainsAny(r.stdout, "\x1b\x07\r") || len(r.stdout) > 100_000 || !strings.Contains(r.stdout, "signalctl show -raw prints it whole") {
		t.Errorf("show of a deep payload: %d bytes, exit %d: %.600q", len(r.stdout), r.code, r.stdout)
	}
	if r := ctl(t, url, "show", "-raw", "1"); r.code != 0 || r.stdout != nested+"\n" {
		t.Errorf("show -raw: %d bytes, want the payload as stored", len(r.stdout))
	}
	r = ctl(t, url, "stats", "-json")
	if r.code != 0 || strings.Count(r.stdout, `"lag_ns"`) != 2 || strings.Contains(r.stdout, "lag_seconds") || !strings.Contains(r.stdout, `"workers": 0`) {
		t.Errorf("stats -json: one lag per queue, in ns, and the workers: %s", r)
	}
	if r := ctl(t, url, "stats"); r.code != 0 || !strings.Contains(r.stdout, "no live worker runs it") || strings.ContainsRune(r.stdout, '\x1b') {
		t.Errorf("stats of queues without workers: %s", r)
	}
}
