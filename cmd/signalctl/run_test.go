package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
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
		{[]string{"list", "-state", "done"}, `unknown state "done"; valid states are available, running, succeeded, dead`},
		{[]string{"list", "-limit", "-1"}, "limit -1; want 1 to 1000"},
		{[]string{"list", "-limit", "0"}, "list: -limit 0; want 1 to 1000"},
		{[]string{"list", "-colour"}, "list: flag provided but not defined: -colour"},
		{[]string{"show"}, "show takes one task id"},
		{[]string{"show", "abc"}, `"abc" is not a task id (a positive integer)`},
		{[]string{"show", "-3"}, "show: flag provided but not defined: -3"},
		{[]string{"retry"}, "retry by filter needs -state dead or -state available"},
		{[]string{"retry", "-state", "running"}, "retry by filter needs -state dead or -state available"},
		{[]string{"retry", "1", "-queue", "q"}, "retry: give task ids or filters, not both"},
		{[]string{"discard", "-state", "available"}, "discard by filter needs -state dead"},
		{[]string{"cancel", "-state", "dead"}, "cancel by filter needs -state available or -state running"},
		{[]string{"pause"}, "pause takes one queue name"},
		{[]string{"stats", "extra"}, `stats takes no arguments, got ["extra"]`},
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
		{Key: "mail.Send", Signal: "order_placed", Queue: "mail", Handle: func(context.Context, []byte) error { return nil }},
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
		tasks, err := signalrt.SearchTasks(ctx, pool, signalrt.TaskQuery{State: signalrt.StateDead})
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
	for _, want := range []string{"QUEUE", "mail ", "ship ", "  ship.Reserve", "0 0 0 0 3"} {
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
		strings.Contains(r.stdout, "second line") || !strings.Contains(r.stdout, "more: signalctl list -after ") {
		t.Errorf("list -state dead -limit 2: %s", r)
	}
	r = ctl(t, url, "list", "-json", "-receiver", "ship.Reserve")
	var listed []signalrt.Task
	if err := json.Unmarshal([]byte(r.stdout), &listed); err != nil || len(listed) != 3 || listed[0].ID < listed[2].ID {
		t.Fatalf("list -json: %v\n%s", err, r)
	}
	if r := ctl(t, url, "list", "-receiver", "ship.Reserve", "-after", fmt.Sprint(listed[1].ID)); r.code != 0 || strings.Count(r.stdout, "ship.Reserve") != 1 {
		t.Errorf("list -after: %s", r)
	}
	if r := ctl(t, url, "list", "-error", "WAREHOUSE", "-queue", "mail"); r.code != 0 || r.stdout != "no tasks\n" {
		t.Errorf("list with no match: %s", r)
	}

	id := fmt.Sprint(listed[0].ID)
	r = ctl(t, url, "show", id)
	for _, want := range []string{"receiver  ship.Reserve", "state     dead", "priority  0\n", "\"order_id\": 3", "failed attempts (1):", "warehouse closed\nsecond line", "on ctl-worker"} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("show: want %q in:\n%s", want, r)
		}
	}
	if r := ctl(t, url, "show", "99999"); r.code != 1 || r.stderr != "signalctl: no task 99999\n" {
		t.Errorf("show of a missing task: %s", r)
	}

	if r := ctl(t, url, "pause", "ship"); r.code != 0 || r.stdout != "queue ship paused\n" {
		t.Errorf("pause: %s", r)
	}
	if r := ctl(t, url, "stats"); !strings.Contains(r.stdout, "paused since") {
		t.Errorf("stats of a paused queue: %s", r)
	}
	if r := ctl(t, url, "retry", id); r.code != 0 || r.stdout != "1 tasks retried\n" {
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
	if r := ctl(t, url, "discard", id, "1"); r.code != 0 || r.stdout != "1 dead tasks discarded\n" {
		t.Errorf("discard IDS: %s", r)
	}
	if r := ctl(t, url, "discard", "-state", "dead", "-queue", "ship"); r.code != 0 || r.stdout != "2 dead tasks discarded\n" {
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
	if r := ctl(t, url, "cancel", "1"); r.code != 0 || r.stdout != "1 tasks cancelled\n" {
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
