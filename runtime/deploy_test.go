//go:build unix

package signalrt_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reliablesignals/signals/internal/pgtest"
	signalrt "github.com/reliablesignals/signals/runtime"
)

// A rolling deploy, as the tests below play it: version 1 and version 2 of
// a program, with these differences between their dispatch tables:
//
//	key           v1                      v2
//	audit         queue audit             queue audit             (unchanged)
//	flaky         -                       queue audit             (1) added
//	legacy        queue audit             -                       (2) removed
//	stable        Old (name=stable)       New (name=stable)       (3) renamed with name=
//	mail.Send     queue mail              - (now mail.SendV2)     (3) renamed without name=
//	price         amount int, contract c1 amount string, c2       (4) payload field type changed
//	ship          queue warehouse         queue shipping          (5) moved to another queue
//
// Each version's senders send one signal per receiver of its own table (as
// generated senders know the receivers of their version), with payload n.
// The receivers record (key, n, version) in deployran.

// deployRoutes are the routes of a version's senders.
func deployRoutes(version string) map[string][]signalrt.Route {
	r := func(key, queue string) []signalrt.Route { return []signalrt.Route{{Receiver: key, Queue: queue}} }
	common := map[string][]signalrt.Route{
		"audit":  r("audit", "audit"),
		"stable": r("stable", ""),
		"price":  r("price", ""),
	}
	if version == "v1" {
		common["legacy"] = r("legacy", "audit")
		common["mail.Send"] = r("mail.Send", "mail")
		common["ship"] = r("ship", "warehouse")
	} else {
		common["flaky"] = r("flaky", "audit")
		common["mail.SendV2"] = r("mail.SendV2", "mail")
		common["ship"] = r("ship", "shipping")
	}
	return common
}

// deployPayload is what a version's sender sends to key: price's amount is
// an int in v1 and a string in v2.
func deployPayload(version, key string, n int) any {
	if key == "price" && version == "v2" {
		return map[string]any{"n": n, "amount": fmt.Sprint(n * 100)}
	}
	if key == "price" {
		return map[string]any{"n": n, "amount": n * 100}
	}
	return num{N: n}
}

// deployTable returns version mode's dispatch table, or nil when mode is not
// a version.
func deployTable(mode string, pool *pgxpool.Pool) signalrt.Table {
	if mode != "v1" && mode != "v2" {
		return nil
	}
	record := func(ctx context.Context, key string, n int) error {
		info, _ := signalrt.TaskFromContext(ctx)
		_, err := pool.Exec(ctx, "INSERT INTO deployran (key, n, version, attempt, pid) VALUES ($1, $2, $3, $4, $5)", key, n, mode, info.Attempt, os.Getpid())
		return err
	}
	rec := func(key, queue string) signalrt.Receiver {
		return signalrt.Receiver{Key: key, Signal: "test", Queue: queue, Contract: "num", Handle: signalrt.Typed(func(ctx context.Context, p num) error {
			return record(ctx, key, p.N)
		})}
	}
	type priceV1 struct {
		N      int `json:"n"`
		Amount int `json:"amount"`
	}
	type priceV2 struct {
		N      int    `json:"n"`
		Amount string `json:"amount"`
	}
	if mode == "v1" {
		return signalrt.Table{
			rec("audit", "audit"), rec("legacy", "audit"), rec("stable", ""), rec("mail.Send", "mail"), rec("ship", "warehouse"),
			{Key: "price", Signal: "priced", Contract: "c1", Handle: signalrt.Typed(func(ctx context.Context, p priceV1) error {
				return record(ctx, "price", p.N)
			})},
		}
	}
	return signalrt.Table{
		rec("audit", "audit"), rec("flaky", "audit"), rec("stable", ""), rec("mail.SendV2", "mail"), rec("ship", "shipping"),
		{Key: "price", Signal: "priced", Contract: "c2", Handle: signalrt.Typed(func(ctx context.Context, p priceV2) error {
			return record(ctx, "price", p.N)
		})},
	}
}

// sendVersion sends, as version's senders do, one signal to each receiver
// they know for each n in [first, first+count), in transactions of 10.
func sendVersion(t *testing.T, pool *pgxpool.Pool, version string, first, count int) {
	t.Helper()
	ctx := context.Background()
	for start := first; start < first+count; start += 10 {
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			for n := start; n < min(start+10, first+count); n++ {
				for key, rs := range deployRoutes(version) {
					if err := signalrt.Send(ctx, tx, "test", rs, deployPayload(version, key, n)); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestRollingDeploy runs an old and a new worker process side by side on
// one database while old and new senders send, then stops the old one, as
// a rolling deploy does. Payload numbers tell the batches apart: 1-99 were
// sent by old senders before the new worker started, 100-199 by new
// senders and 200-299 by old senders while both workers ran, 300-399 by an
// old sender still running after the old worker stopped.
//
// What must hold, per receiver key:
//   - keys the new version has (audit, flaky, stable, ship, mail.SendV2):
//     every task ran exactly once and succeeded, whichever batch and queue
//     it came from; ship's tasks on the old queue, warehouse, ran too.
//   - price: every payload ran exactly once in the version that decodes it,
//     except ints sent after the old worker stopped: no live worker can
//     decode them, so they end dead at once with the decoding error.
//   - keys only the old version has (legacy, mail.Send): the old worker ran
//     batches 1-299; batch 300-399 ends dead as "unknown receiver" once no
//     worker that knows the key has run for the orphan grace period.
//   - no task died while the old worker, or any worker that could run it,
//     was alive.
func TestRollingDeploy(t *testing.T) {
	// Not parallel: child processes are heavy on a small shared machine.
	const grace = 3 * time.Second
	pool, url := processSetup(t)
	ctx := context.Background()
	pgtest.Exec(t, pool, "CREATE TABLE deployran (key text NOT NULL, n integer NOT NULL, version text NOT NULL, attempt integer NOT NULL, pid integer NOT NULL)")
	graceEnv := childGraceEnv + "=" + grace.String()

	old := startChild(t, url, "v1", "old", 4*time.Second, graceEnv)
	// Started means registered (signal_worker), not only ready: a worker
	// leaves a payload it cannot decode to a *registered* worker of
	// another version, and the child records readiness before Run
	// registers it.
	waitProcesses(t, "the old worker to start", []*child{old}, func() bool {
		return queryInt(t, pool, "SELECT count(*) FROM signal_worker") == 1
	})
	sendVersion(t, pool, "v1", 1, 99)
	neu := startChild(t, url, "v2", "new", 4*time.Second, graceEnv)
	both := []*child{old, neu}
	waitProcesses(t, "the new worker to start", both, func() bool {
		return queryInt(t, pool, "SELECT count(*) FROM signal_worker") == 2
	})
	sendVersion(t, pool, "v2", 100, 100)
	sendVersion(t, pool, "v1", 200, 100)

	// Everything sent so far runs: each key has a live worker that knows
	// it, and each price payload a live worker that decodes it.
	waitProcesses(t, "batches 1-299 to run", both, func() bool {
		return queryInt(t, pool, "SELECT count(*) FROM signal_task WHERE state IN ('available', 'running')") == 0
	})
	if n := queryInt(t, pool, "SELECT count(*) FROM signal_task WHERE state = 'dead'"); n != 0 {
		t.Fatalf("%d tasks died while both versions ran; want none", n)
	}
	old.stop(t)
	var stopped time.Time
	if err := pool.QueryRow(ctx, "SELECT now()").Scan(&stopped); err != nil {
		t.Fatal(err)
	}
	sendVersion(t, pool, "v1", 300, 100)

	// ship's tasks on warehouse move to shipping; price's ints die at
	// once; legacy and mail.Send die after the grace period.
	waitProcesses(t, "batch 300-399 to settle", []*child{neu}, func() bool {
		return queryInt(t, pool, "SELECT count(*) FROM signal_task WHERE state IN ('available', 'running')") == 0
	})
	neu.stop(t)

	// Keys of the new version: every payload ran exactly once.
	want := map[string]string{ // key -> the payload numbers that must have run, as SQL
		"audit":       "n BETWEEN 1 AND 399",
		"stable":      "n BETWEEN 1 AND 399",
		"ship":        "n BETWEEN 1 AND 399",
		"flaky":       "n BETWEEN 100 AND 199",
		"mail.SendV2": "n BETWEEN 100 AND 199",
		"legacy":      "n BETWEEN 1 AND 99 OR n BETWEEN 200 AND 299",
		"mail.Send":   "n BETWEEN 1 AND 99 OR n BETWEEN 200 AND 299",
		"price":       "n BETWEEN 1 AND 299",
	}
	for key, cond := range want {
		wantN := queryInt(t, pool, "SELECT count(*) FROM generate_series(1, 399) AS g(n) WHERE "+cond)
		if n := queryInt(t, pool, "SELECT count(DISTINCT n) FROM deployran WHERE key = $1 AND ("+cond+")", key); n != wantN {
			t.Errorf("%s: %d of the %d payloads (%s) ran", key, n, wantN, cond)
		}
		if n := queryInt(t, pool, "SELECT count(*) FROM deployran WHERE key = $1 AND NOT ("+cond+")", key); n != 0 {
			t.Errorf("%s: %d runs of payloads outside %s", key, n, cond)
		}
		if n := queryInt(t, pool, "SELECT count(*) FROM (SELECT n FROM deployran WHERE key = $1 GROUP BY n HAVING count(*) > 1) AS twice", key); n != 0 {
			t.Errorf("%s: %d payloads ran more than once", key, n)
		}
	}
	// price ran each payload in the version that decodes it: ints (1-99,
	// 200-299) in v1, strings (100-199) in v2.
	if n := queryInt(t, pool, "SELECT count(*) FROM deployran WHERE key = 'price' AND (version = 'v2') <> (n BETWEEN 100 AND 199)"); n != 0 {
		t.Errorf("price: %d payloads ran in a version whose payload type does not fit", n)
	}
	// The tasks that ran (and only they) succeeded; the rest are dead, all
	// of them since the old worker stopped, each for the right reason.
	if n := queryInt(t, pool, "SELECT count(*) FROM signal_task WHERE state = 'succeeded'"); n != queryInt(t, pool, "SELECT count(*) FROM deployran") {
		t.Errorf("%d tasks succeeded, but %d receiver runs were recorded", n, queryInt(t, pool, "SELECT count(*) FROM deployran"))
	}
	if n := queryInt(t, pool, "SELECT count(*) FROM signal_task WHERE state = 'dead' AND finished_at < $1", stopped); n != 0 {
		t.Errorf("%d tasks died before the old worker stopped", n)
	}
	dead := map[string]string{"price": "payload does not decode into", "legacy": "unknown receiver legacy", "mail.Send": "unknown receiver mail.Send"}
	for key, reason := range dead {
		ts, err := listTasks(t, pool, signalrt.TaskQuery{Receiver: key, State: signalrt.StateDead})
		if err != nil {
			t.Fatal(err)
		}
		if len(ts) != 100 {
			t.Errorf("%s: %d dead tasks, want the 100 of batch 300-399", key, len(ts))
		}
		for _, task := range ts {
			if last := task.Errors[len(task.Errors)-1]; !strings.Contains(last.Error, reason) {
				t.Errorf("%s: task %d died with %q, want %q", key, task.ID, last.Error, reason)
				break
			}
		}
	}
	if n := queryInt(t, pool, "SELECT count(*) FROM signal_task WHERE state = 'dead' AND receiver NOT IN ('price', 'legacy', 'mail.Send')"); n != 0 {
		t.Errorf("%d tasks of other receivers died", n)
	}
	// ship's tasks that the old worker left on its old queue were moved to
	// the new queue and ran there.
	if n := queryInt(t, pool, "SELECT count(*) FROM signal_task WHERE receiver = 'ship' AND queue = 'shipping' AND (payload->>'n')::int >= 300"); n != 100 {
		t.Errorf("%d ship tasks of batch 300-399 on queue shipping, want 100", n)
	}
	if n := queryInt(t, pool, "SELECT count(DISTINCT n) FROM deployran WHERE key = 'ship' AND n >= 300 AND version = 'v2'"); n != 100 {
		t.Errorf("%d ship tasks of batch 300-399 ran in the new version, want 100", n)
	}
	declined := queryInt(t, pool, "SELECT count(*) FROM signal_task WHERE declined IS NOT NULL")
	t.Logf("price tasks declined by one version and run by the other: %d", declined)
	// Gracefully stopped workers leave no registry row.
	if n := queryInt(t, pool, "SELECT count(*) FROM signal_worker"); n != 0 {
		t.Errorf("%d rows in signal_worker after both workers stopped", n)
	}
}

// TestRegistryPauseAndStats checks what a worker publishes for the ops
// views and for other workers: its row in signal_worker while it runs (and
// none after a graceful stop), its receivers in signal_receiver, its
// outcomes in signal_stat; and that it claims nothing from a paused queue
// until the queue is resumed.
func TestRegistryPauseAndStats(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	rec := newRecorder()
	fail := rec.handler("fails", func(context.Context, num) error { return signalrt.Permanent(fmt.Errorf("no")) })
	table := signalrt.Table{rec.handler("ok", nil), fail}
	table[0].Contract = "sha256:abc"
	pgtest.Exec(t, pool, "INSERT INTO signal_queue (name, paused_at) VALUES ('default', now())")
	cfg := fastConfig()
	cfg.Name = "registered"
	_, stop := startWorker(t, pool, table, cfg)
	waitFor(t, "the worker's rows", func() bool {
		return queryInt(t, pool, "SELECT count(*) FROM signal_worker WHERE name = 'registered' AND queues = '{default}' AND expires_at > now()") == 1 &&
			queryInt(t, pool, "SELECT count(*) FROM signal_receiver") == 2
	})
	if got := queryText(t, pool, "SELECT receivers::text FROM signal_worker"); got != `{"ok": {"queue": "default", "signal": "test", "contract": "sha256:abc"}, "fails": {"queue": "default", "signal": "test", "contract": ""}}` {
		t.Errorf("signal_worker.receivers = %s", got)
	}
	if got := queryText(t, pool, "SELECT string_agg(key || '/' || contract, ',' ORDER BY key) FROM signal_receiver"); got != "fails/,ok/sha256:abc" {
		t.Errorf("signal_receiver: %s", got)
	}

	for i := range 5 {
		send(t, pool, routes("ok", "fails"), i)
	}
	// Paused: nothing is claimed, however often the worker polls.
	time.Sleep(300 * time.Millisecond) // 6 poll intervals; not a timing assertion
	if n := rec.count("ok") + rec.count("fails"); n != 0 {
		t.Fatalf("%d tasks ran on a paused queue", n)
	}
	pgtest.Exec(t, pool, "UPDATE signal_queue SET paused_at = NULL")
	waitFor(t, "the resumed queue to drain", func() bool {
		s := states(t, pool)
		return s[signalrt.StateSucceeded] == 5 && s[signalrt.StateDead] == 5
	})
	waitFor(t, "the counters", func() bool {
		return queryInt(t, pool, "SELECT coalesce(sum(succeeded), 0) FROM signal_stat WHERE receiver = 'ok'") == 5 &&
			queryInt(t, pool, "SELECT coalesce(sum(dead), 0) FROM signal_stat WHERE receiver = 'fails'") == 5
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, pool, "SELECT count(*) FROM signal_worker"); n != 0 {
		t.Errorf("%d rows in signal_worker after a graceful stop", n)
	}
}

// queryText runs a query that returns one text value.
func queryText(t testing.TB, pool *pgxpool.Pool, sql string, args ...any) string {
	t.Helper()
	var s string
	if err := pool.QueryRow(context.Background(), sql, args...).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}
