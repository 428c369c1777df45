package signalrt_test

import (
	"context"
	"sync"
	"testing"
	"time"

	signalrt "github.com/reliablesignals/signals/runtime"
)

// runLog counts the runs of each task id and the peak of receivers running
// at once.
type runLog struct {
	mu         sync.Mutex
	runs       map[int64]int
	now, peak  int
	slowTaskNo int // the payload n whose receiver takes slow
	slow       time.Duration
	slowID     int64         // the slow task's id, once it started
	slowStart  chan struct{} // closed when the slow task starts, if not nil
}

func (l *runLog) handler(key string) signalrt.Receiver {
	return signalrt.Receiver{Key: key, Signal: "test", Queue: signalrt.DefaultQueue, Handle: signalrt.Typed(func(ctx context.Context, p num) error {
		info, _ := signalrt.TaskFromContext(ctx)
		l.mu.Lock()
		l.runs[info.ID]++
		l.now++
		l.peak = max(l.peak, l.now)
		l.mu.Unlock()
		if p.N == l.slowTaskNo {
			l.mu.Lock()
			l.slowID = info.ID
			l.mu.Unlock()
			if l.slowStart != nil {
				close(l.slowStart)
			}
			time.Sleep(l.slow)
		}
		l.mu.Lock()
		l.now--
		l.mu.Unlock()
		return nil
	})}
}

// check fails unless n tasks ran, each exactly once.
func (l *runLog) check(t *testing.T, n int) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.runs) != n {
		t.Errorf("%d tasks ran, want %d", len(l.runs), n)
	}
	for id, runs := range l.runs {
		if runs != 1 {
			t.Errorf("task %d ran %d times, want once", id, runs)
		}
	}
}

// TestQuickQueueClaimsAhead: a queue of 4 slots whose receivers return at
// once claims ahead (Config.NoPrefetch), so 2,000 tasks take far fewer
// claims than the 500 that claims of at most 4 would need; yet no more than
// 4 receivers run at once, and each task runs once. With NoPrefetch the
// same drain takes at least 500 claims.
func TestQuickQueueClaimsAhead(t *testing.T) {
	t.Parallel()
	const tasks, slots = 2000, 4
	for _, noPrefetch := range []bool{false, true} {
		pool := setup(t)
		insertTasks(t, pool, "quick", 1, tasks)
		l := &runLog{runs: map[int64]int{}}
		cfg := fastConfig()
		cfg.Concurrency = slots
		cfg.NoPrefetch = noPrefetch
		w, stop := startWorker(t, pool, signalrt.Table{l.handler("quick")}, cfg)
		waitFor(t, "the drain", func() bool { return states(t, pool)[signalrt.StateSucceeded] == tasks })
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		l.check(t, tasks)
		if l.peak > slots {
			t.Errorf("NoPrefetch %v: %d receivers ran at once, over the queue's %d slots", noPrefetch, l.peak, slots)
		}
		claims, _ := w.ClaimCounts()
		t.Logf("NoPrefetch %v: %d claims for %d tasks", noPrefetch, claims, tasks)
		switch {
		case !noPrefetch && claims >= tasks/slots:
			t.Errorf("%d claims for %d tasks in %d slots: the queue did not claim ahead", claims, tasks, slots)
		case noPrefetch && claims < tasks/slots:
			t.Errorf("NoPrefetch: %d claims for %d tasks in %d slots: it claimed ahead", claims, tasks, slots)
		}
	}
}

// TestSlowQueueDoesNotClaimAhead: receivers that take a few milliseconds
// are claimed for free slots only.
func TestSlowQueueDoesNotClaimAhead(t *testing.T) {
	t.Parallel()
	const tasks, slots = 60, 2
	pool := setup(t)
	insertTasks(t, pool, "slow", 1, tasks)
	table := signalrt.Table{{Key: "slow", Signal: "test", Queue: signalrt.DefaultQueue, Handle: func(context.Context, []byte) error {
		time.Sleep(3 * time.Millisecond)
		return nil
	}}}
	cfg := fastConfig()
	cfg.Concurrency = slots
	w, stop := startWorker(t, pool, table, cfg)
	waitFor(t, "the drain", func() bool { return states(t, pool)[signalrt.StateSucceeded] == tasks })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if claims, _ := w.ClaimCounts(); claims < tasks/slots {
		t.Errorf("%d claims for %d tasks of 3 ms in %d slots: it claimed ahead for slow receivers", claims, tasks, slots)
	}
}

// TestTasksClaimedAheadKeepTheirLease: a worker of one slot has claimed
// quick tasks ahead when one of them takes five leases; the tasks waiting
// behind it keep their leases (the heartbeat extends them like a running
// task's), so a second worker, which rescues expired leases, never runs
// them too.
func TestTasksClaimedAheadKeepTheirLease(t *testing.T) {
	t.Parallel()
	const tasks = 200
	pool := setup(t)
	insertTasks(t, pool, "quick", 1, tasks)
	l := &runLog{runs: map[int64]int{}, slowTaskNo: 100, slow: 1500 * time.Millisecond}
	table := signalrt.Table{l.handler("quick")}
	cfg := fastConfig()
	cfg.Concurrency = 1
	cfg.Lease = 300 * time.Millisecond
	_, stop := startWorker(t, pool, table, cfg)
	// The second worker starts once the first one is quick, and claims
	// ahead: it has tasks waiting behind the slow one.
	waitFor(t, "the first worker to run 50 tasks", func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return len(l.runs) >= 50
	})
	_, stop2 := startWorker(t, pool, table, cfg)
	waitFor(t, "the drain", func() bool { return states(t, pool)[signalrt.StateSucceeded] == tasks })
	for _, s := range []func() error{stop, stop2} {
		if err := s(); err != nil {
			t.Fatal(err)
		}
	}
	l.check(t, tasks)
	var again int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM signal_task WHERE attempt <> 1").Scan(&again); err != nil {
		t.Fatal(err)
	}
	if again != 0 {
		t.Errorf("%d tasks were claimed more than once", again)
	}
}

// TestShutdownGivesBackTasksClaimedAhead: a worker stopped while its one
// slot runs a receiver that outlasts the grace period gives back that task
// and the tasks it claimed ahead, and does not start those afterwards,
// when the stuck receiver returns (another worker may be running them by
// then). Every task that ran was recorded as succeeded, except the stuck
// one, which is available again; the others were not touched.
func TestShutdownGivesBackTasksClaimedAhead(t *testing.T) {
	t.Parallel()
	const tasks = 200
	pool := setup(t)
	insertTasks(t, pool, "quick", 1, tasks)
	started := make(chan struct{})
	l := &runLog{runs: map[int64]int{}, slowTaskNo: 50, slow: 1500 * time.Millisecond, slowStart: started}
	table := signalrt.Table{l.handler("quick")}
	cfg := fastConfig()
	cfg.Concurrency = 1
	cfg.ShutdownGrace = 200 * time.Millisecond
	_, stop := startWorker(t, pool, table, cfg)
	<-started
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second) // the stuck receiver returns; its executor drains the channel
	l.mu.Lock()
	ran := len(l.runs)
	l.mu.Unlock()
	l.check(t, ran)
	rows, err := pool.Query(context.Background(), "SELECT id, state, attempt FROM signal_task")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var state signalrt.TaskState
		var attempt int
		if err := rows.Scan(&id, &state, &attempt); err != nil {
			t.Fatal(err)
		}
		l.mu.Lock()
		ran, slow := l.runs[id] > 0, id == l.slowID
		l.mu.Unlock()
		switch {
		case ran && state != signalrt.StateSucceeded && attempt != 0:
			t.Errorf("task %d ran and is %s at attempt %d; want succeeded, or given back (attempt 0) if it was the stuck one", id, state, attempt)
		case ran && state == signalrt.StateAvailable && !slow:
			t.Errorf("task %d ran after it was given back at shutdown (claimed ahead, started after the release)", id)
		case !ran && (state != signalrt.StateAvailable || attempt != 0):
			t.Errorf("task %d never ran and is %s at attempt %d; want available at attempt 0", id, state, attempt)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// TestKilledWorkerLosesNoTaskClaimedAhead: a worker process of 2 slots
// whose receivers are quick claims ahead; killed mid-drain, the tasks it
// held (running or waiting for a slot) come back when their leases run
// out, and a second process runs them: every task ran, every task
// succeeded, and only tasks the killed process held ran twice.
func TestKilledWorkerLosesNoTaskClaimedAhead(t *testing.T) {
	// Not parallel: child processes are heavy on a small shared machine.
	const tasks = 3000
	pool, url := processSetup(t)
	insertTasks(t, pool, childKey, 1, tasks)
	victim := startChild(t, url, "count", "victim", time.Second, childConcEnv+"=2")
	waitProcesses(t, "the victim to run 300 tasks", []*child{victim}, func() bool {
		return queryInt(t, pool, "SELECT count(*) FROM ran") >= 300
	})
	victim.kill(t)
	held := queryInt(t, pool, "SELECT count(*) FROM signal_task WHERE state = 'running'")
	t.Logf("the killed worker held %d tasks (2 slots)", held)

	rescuer := startChild(t, url, "count", "rescuer", 4*time.Second)
	waitProcesses(t, "every task to succeed", []*child{rescuer}, func() bool {
		return states(t, pool)[signalrt.StateSucceeded] == tasks
	})
	rescuer.stop(t)
	if n := queryInt(t, pool, "SELECT count(DISTINCT n) FROM ran"); n != tasks {
		t.Errorf("%d distinct tasks ran, want %d", n, tasks)
	}
	if twice := queryInt(t, pool, "SELECT count(*) FROM (SELECT n FROM ran GROUP BY n HAVING count(*) > 1) AS again"); twice > held {
		t.Errorf("%d tasks ran more than once, more than the %d the killed worker held", twice, held)
	}
}
