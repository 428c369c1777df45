package signalrt_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/reliablesignals/signals/internal/pgtest"
	signalrt "github.com/reliablesignals/signals/runtime"
)

// ids returns the ids of tasks, in their order.
func ids(tasks []signalrt.Task) []int64 {
	out := make([]int64, len(tasks))
	for i, t := range tasks {
		out[i] = t.ID
	}
	return out
}

// TestSearchTasks checks every filter of TaskQuery and keyset pagination,
// newest first, on tasks of known ids: 1-4 of receiver a (queue qa), 5-8
// of receiver b (queue qb); 2 and 6 dead with an error; 8 created a day ago.
func TestSearchTasks(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	ctx := context.Background()
	for i := 1; i <= 8; i++ {
		key, queue := "a", "qa"
		if i > 4 {
			key, queue = "b", "qb"
		}
		send(t, pool, []signalrt.Route{{Receiver: key, Queue: queue}}, i)
	}
	pgtest.Exec(t, pool, `UPDATE signal_task SET state = 'dead', finished_at = now(),
		errors = jsonb_build_array(jsonb_build_object('attempt', 1, 'at', now(), 'error', 'Card DECLINED for order ' || id, 'worker', 'w'))
		WHERE id IN (2, 6)`)
	pgtest.Exec(t, pool, "UPDATE signal_task SET created_at = now() - interval '1 day' WHERE id = 8")
	hourAgo := time.Now().Add(-time.Hour)
	for _, tc := range []struct {
		name string
		q    signalrt.TaskQuery
		want []int64
	}{
		{"all, newest first", signalrt.TaskQuery{}, []int64{8, 7, 6, 5, 4, 3, 2, 1}},
		{"state", signalrt.TaskQuery{State: signalrt.StateDead}, []int64{6, 2}},
		{"queue", signalrt.TaskQuery{Queue: "qa"}, []int64{4, 3, 2, 1}},
		{"receiver and state", signalrt.TaskQuery{Receiver: "b", State: signalrt.StateAvailable}, []int64{8, 7, 5}},
		{"signal", signalrt.TaskQuery{Signal: "nope"}, []int64{}},
		{"error text, any case", signalrt.TaskQuery{ErrorContains: "card declined"}, []int64{6, 2}},
		{"id range", signalrt.TaskQuery{MinID: 3, MaxID: 6}, []int64{6, 5, 4, 3}},
		{"created after", signalrt.TaskQuery{CreatedAfter: hourAgo, MinID: 7}, []int64{7}},
		{"created before", signalrt.TaskQuery{CreatedBefore: hourAgo}, []int64{8}},
		{"first page", signalrt.TaskQuery{Limit: 3}, []int64{8, 7, 6}},
		{"next page", signalrt.TaskQuery{Limit: 3, BeforeID: 6}, []int64{5, 4, 3}},
		{"last page", signalrt.TaskQuery{Limit: 3, BeforeID: 3}, []int64{2, 1}},
	} {
		gotPage, err := signalrt.SearchTasks(ctx, pool, tc.q)
		got := gotPage.Tasks
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if diff := cmp.Diff(tc.want, ids(got)); diff != "" {
			t.Errorf("%s: ids (-want +got):\n%s", tc.name, diff)
		}
	}
	for _, tc := range []struct {
		q    signalrt.TaskQuery
		want string
	}{
		{signalrt.TaskQuery{State: "done"}, `unknown state "done"; valid states are available, running, succeeded, dead`},
		{signalrt.TaskQuery{Limit: -1}, "limit -1; want 1 to 1000 (0: the default, 50)"},
		{signalrt.TaskQuery{MinID: 5, MaxID: 2}, "min id 5 is above max id 2"},
	} {
		if _, err := signalrt.SearchTasks(ctx, pool, tc.q); err == nil || err.Error() != tc.want {
			t.Errorf("SearchTasks(%+v): %v, want %q", tc.q, err, tc.want)
		}
	}
}

// TestOverviewPauseAndActions checks QueueOverview's counts, lag and pause
// state, and the actions: Retry/DiscardMatching and RunNow change exactly
// the tasks they may, and say how many.
func TestOverviewPauseAndActions(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	ctx := context.Background()
	for i := 1; i <= 6; i++ {
		send(t, pool, []signalrt.Route{{Receiver: "a", Queue: "qa"}, {Receiver: "b", Queue: "qa"}}, i)
	}
	send(t, pool, []signalrt.Route{{Receiver: "c", Queue: "qc"}}, 7, signalrt.After(time.Hour))
	pgtest.Exec(t, pool, "UPDATE signal_task SET state = 'dead', finished_at = now() WHERE receiver = 'b' AND (payload->>'n')::int <= 3")
	pgtest.Exec(t, pool, "UPDATE signal_task SET run_at = now() - interval '90 seconds' WHERE receiver = 'a' AND (payload->>'n')::int = 1")
	if err := signalrt.PauseQueue(ctx, pool, "qc"); err != nil {
		t.Fatal(err)
	}
	qs, err := signalrt.QueueOverview(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != 2 || qs[0].Queue != "qa" || qs[1].Queue != "qc" {
		t.Fatalf("queues %+v; want qa and qc", qs)
	}
	qa, qc := qs[0], qs[1]
	if qa.StateCounts != (signalrt.StateCounts{Available: 9, Dead: 3}) || qa.PausedAt != nil || qa.Lag < 90*time.Second || qa.Lag > time.Hour {
		t.Errorf("qa: %+v; want 9 available, 3 dead, not paused, lag about 90s", qa)
	}
	wantReceivers := []signalrt.ReceiverCounts{
		{Receiver: "a", StateCounts: signalrt.StateCounts{Available: 6}},
		{Receiver: "b", StateCounts: signalrt.StateCounts{Available: 3, Dead: 3}},
	}
	receivers, err := signalrt.QueueReceivers(ctx, pool, "qa")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantReceivers, receivers); diff != "" {
		t.Errorf("qa receivers (-want +got):\n%s", diff)
	}
	if qc.Available != 1 || qc.PausedAt == nil || qc.Lag != 0 {
		t.Errorf("qc: %+v; want 1 available, paused, no lag (nothing due)", qc)
	}

	// Actions by filter and by id.
	if _, err := signalrt.RetryMatching(ctx, pool, signalrt.TaskQuery{State: signalrt.StateRunning}); err == nil ||
		!strings.Contains(err.Error(), `retry: state "running"; retry changes only tasks that are dead, available`) {
		t.Errorf("RetryMatching of running tasks: %v", err)
	}
	n, err := signalrt.RetryMatching(ctx, pool, signalrt.TaskQuery{State: signalrt.StateDead, Receiver: "b", MaxID: 4})
	if err != nil || n != 2 { // tasks 2 and 4 are b's dead ones with ids <= 4
		t.Errorf("RetryMatching: %d, %v; want 2", n, err)
	}
	deadPage, err := signalrt.SearchTasks(ctx, pool, signalrt.TaskQuery{State: signalrt.StateDead})
	dead := deadPage.Tasks
	if err != nil || len(dead) != 1 {
		t.Fatalf("dead after retry: %v, %v; want 1", ids(dead), err)
	}
	if n, err := signalrt.Discard(ctx, pool, dead[0].ID, 1); err != nil || n != 1 {
		t.Errorf("Discard(dead, available): %d, %v; want 1 (the dead one only)", n, err)
	}
	pgtest.Exec(t, pool, "UPDATE signal_task SET state = 'dead', finished_at = now() WHERE receiver = 'a' AND (payload->>'n')::int > 4")
	if n, err := signalrt.DiscardMatching(ctx, pool, signalrt.TaskQuery{Queue: "qa"}); err != nil || n != 2 {
		t.Errorf("DiscardMatching: %d, %v; want 2", n, err)
	}
	if _, err := signalrt.DiscardMatching(ctx, pool, signalrt.TaskQuery{State: signalrt.StateAvailable}); err == nil {
		t.Error("DiscardMatching of available tasks: no error")
	}
	delayedPage, err := signalrt.SearchTasks(ctx, pool, signalrt.TaskQuery{Queue: "qc"})
	delayed := delayedPage.Tasks
	if err != nil || len(delayed) != 1 {
		t.Fatal(ids(delayed), err)
	}
	if n, err := signalrt.RunNow(ctx, pool, delayed[0].ID, dead[0].ID); err != nil || n != 1 {
		t.Errorf("RunNow: %d, %v; want 1", n, err)
	}
	if got, _ := signalrt.GetTask(ctx, pool, delayed[0].ID); got.RunAt.After(time.Now().Add(time.Minute)) {
		t.Errorf("RunNow left run_at at %v", got.RunAt)
	}

	// Resume reports whether the queue was paused, and a worker then runs
	// its task.
	for _, want := range []bool{true, false} {
		if was, err := signalrt.ResumeQueue(ctx, pool, "qc"); err != nil || was != want {
			t.Errorf("ResumeQueue: %v, %v; want %v", was, err, want)
		}
	}
	if err := signalrt.PauseQueue(ctx, pool, ""); err == nil {
		t.Error("PauseQueue with an empty name: no error")
	}
}

// TestWorkersAndThroughput checks the registry and the counters as the
// admin API reads them, while a worker runs and after it stopped.
func TestWorkersAndThroughput(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	ctx := context.Background()
	rec := newRecorder()
	table := signalrt.Table{rec.handler("ok", nil), rec.handler("bad", func(context.Context, num) error { return signalrt.Permanent(errors.New("no")) })}
	table[0].Contract = "sha256:1"
	cfg := fastConfig()
	cfg.Name = "w-1"
	_, stop := startWorker(t, pool, table, cfg)
	for i := range 4 {
		send(t, pool, routes("ok", "bad"), i)
	}
	var points []signalrt.MinuteStats
	waitFor(t, "the counters", func() bool {
		var err error
		_, points, err = signalrt.Throughput(ctx, pool, 60)
		if err != nil {
			t.Fatal(err)
		}
		var ok, dead int64
		for _, p := range points {
			ok, dead = ok+p.Succeeded, dead+p.Dead
		}
		return ok == 4 && dead == 4
	})
	ws, err := signalrt.Workers(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 1 || ws[0].Name != "w-1" || !ws[0].Live || ws[0].PID == 0 || ws[0].Concurrency != signalrt.DefaultConcurrency ||
		ws[0].Receivers["ok"].Contract != "sha256:1" || ws[0].Receivers["bad"].Queue != signalrt.DefaultQueue {
		t.Errorf("workers %+v", ws)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if ws, err := signalrt.Workers(ctx, pool); err != nil || len(ws) != 0 {
		t.Errorf("workers after a graceful stop: %+v, %v", ws, err)
	}
	// A worker that died: its row stays, no longer live.
	pgtest.Exec(t, pool, `INSERT INTO signal_worker (name, host, pid, queues, concurrency, expires_at)
		VALUES ('dead-1', 'h', 1, '{default}', 1, now() - interval '1 minute')`)
	if ws, err := signalrt.Workers(ctx, pool); err != nil || len(ws) != 1 || ws[0].Live {
		t.Errorf("a dead worker: %+v, %v; want listed, not live", ws, err)
	}
}
