package signaltest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	signalrt "github.com/reliablesignals/signals/runtime"
	"github.com/reliablesignals/signals/runtime/signaltest"
)

// userSignedUp stands for a payload type that signalgen generates.
type userSignedUp struct {
	UserID int64  `json:"user_id"`
	Email  string `json:"email"`
}

func (userSignedUp) SignalName() string { return "user_signed_up" }

type orderPlaced struct {
	OrderID int64 `json:"order_id"`
}

func (orderPlaced) SignalName() string { return "order_placed" }

var signupRoutes = []signalrt.Route{{Receiver: "mail.Welcome"}, {Receiver: "billing.Open"}}

func signUp(ctx context.Context, tx pgx.Tx, id int64) error {
	return signalrt.Send(ctx, tx, "user_signed_up", signupRoutes, userSignedUp{UserID: id, Email: fmt.Sprintf("u%d@example.com", id)})
}

func TestSentSeesTheTransactionAndTheDatabase(t *testing.T) {
	t.Parallel()
	db := signaltest.NewDB(t)
	ctx := context.Background()
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	for id := int64(1); id <= 2; id++ {
		if err := signUp(ctx, tx, id); err != nil {
			t.Fatal(err)
		}
	}
	// Two sends of the same payload in one transaction are two sends.
	if err := signUp(ctx, tx, 2); err != nil {
		t.Fatal(err)
	}
	got := signaltest.RequireSent[userSignedUp](t, tx)
	want := []userSignedUp{{1, "u1@example.com"}, {2, "u2@example.com"}, {2, "u2@example.com"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("in the transaction: sent %v, want %v", got, want)
	}
	signaltest.RequireNotSent[userSignedUp](t, db.Pool) // not committed yet
	signaltest.RequireNotSent[orderPlaced](t, tx)
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := signaltest.Sent[userSignedUp](t, db.Pool); len(got) != 3 {
		t.Errorf("after the commit: %d sends, want 3", len(got))
	}

	// A send made in BeginFunc is one pending row until a worker fans it
	// out: seen either way.
	err = signalrt.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error { return signUp(ctx, tx, 3) })
	if err != nil {
		t.Fatal(err)
	}
	if got := signaltest.Sent[userSignedUp](t, db.Pool); len(got) != 4 || got[3].UserID != 3 {
		t.Errorf("with a pending BeginFunc send: %v; want 4 sends, the last of user 3", got)
	}
}

// fakeT records what a helper reports; Fatal ends the goroutine, as the
// testing package's does.
type fakeT struct {
	testing.TB
	mu      sync.Mutex
	errs    []string
	cleanup []func()
}

func (f *fakeT) Helper()                         {}
func (f *fakeT) Context() context.Context        { return context.Background() }
func (f *fakeT) Log(args ...any)                 {}
func (f *fakeT) Logf(format string, args ...any) {}
func (f *fakeT) Cleanup(fn func())               { f.cleanup = append(f.cleanup, fn) }
func (f *fakeT) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, fmt.Sprintf(format, args...))
}
func (f *fakeT) Fatalf(format string, args ...any) {
	f.Errorf(format, args...)
	panic(errFatal)
}

var errFatal = errors.New("fatal")

// call runs fn with f, stopping at a Fatalf.
func (f *fakeT) call(fn func()) {
	defer func() {
		if v := recover(); v != nil && v != errFatal {
			panic(v)
		}
	}()
	fn()
}

func (f *fakeT) reported() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.errs, "\n")
}

func TestRunFailsTheTestOnDeadTasksAndLeftovers(t *testing.T) {
	t.Parallel()
	db := signaltest.NewDB(t)
	ctx := context.Background()
	if err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error { return signUp(ctx, tx, 7) }); err != nil {
		t.Fatal(err)
	}
	var welcomed atomic.Int64
	table := signalrt.Table{{
		Key: "mail.Welcome", Signal: "user_signed_up",
		Handle: signalrt.Typed(func(ctx context.Context, p userSignedUp) error {
			welcomed.Add(1)
			return signalrt.Permanent(errors.New("mailbox full"))
		}),
	}} // billing.Open is missing
	f := &fakeT{}
	var st signalrt.RunStats
	f.call(func() { st = signaltest.Run(f, db.Pool, table) })
	got := f.reported()
	if !strings.Contains(got, "receiver mail.Welcome, signal user_signed_up) ended dead after 1 attempt: mailbox full") {
		t.Errorf("Run reported:\n%s\nwant the dead task with its error", got)
	}
	if !strings.Contains(got, "1 of billing.Open (the table does not have this receiver)") {
		t.Errorf("Run reported:\n%s\nwant the task left for billing.Open", got)
	}
	if st.Dead != 1 || welcomed.Load() != 1 {
		t.Errorf("stats %+v, %d runs; want 1 dead, 1 run", st, welcomed.Load())
	}
}

// TestRunWaitsForAnotherWorker: a worker that the test started takes the
// tasks first; Run returns only once it has finished them, and reports
// the one that died there.
func TestRunWaitsForAnotherWorker(t *testing.T) {
	t.Parallel()
	db := signaltest.NewDB(t)
	ctx := context.Background()
	release := make(chan struct{})
	var finished atomic.Int64
	slow := signalrt.Table{
		{Key: "mail.Welcome", Signal: "user_signed_up", Handle: func(context.Context, []byte) error {
			<-release
			finished.Add(1)
			return nil
		}},
		{Key: "billing.Open", Signal: "user_signed_up", Handle: func(context.Context, []byte) error {
			<-release
			finished.Add(1)
			return signalrt.Permanent(errors.New("no such plan"))
		}},
	}
	w, err := signalrt.NewWorker(db.Pool, slow, signalrt.Config{PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	defer func() { stop(); <-done }()
	if err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error { return signUp(ctx, tx, 1) }); err != nil {
		t.Fatal(err)
	}
	// Wait until the worker holds both tasks: Run then has nothing to
	// claim, and RunUntilIdle alone would return at once.
	for {
		busyPage, err := signalrt.SearchTasks(ctx, db.Pool, signalrt.TaskQuery{State: signalrt.StateRunning})
		busy := busyPage.Tasks
		if err != nil {
			t.Fatal(err)
		}
		if len(busy) == 2 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	go func() { time.Sleep(100 * time.Millisecond); close(release) }()
	f := &fakeT{}
	var st signalrt.RunStats
	f.call(func() { st = signaltest.Run(f, db.Pool, slow) })
	if finished.Load() != 2 {
		t.Errorf("Run returned while the other worker still ran %d of 2 tasks", 2-finished.Load())
	}
	if st != (signalrt.RunStats{}) {
		t.Errorf("stats %+v; want nothing run by Run itself", st)
	}
	if got := f.reported(); !strings.Contains(got, "billing.Open") || !strings.Contains(got, "no such plan") {
		t.Errorf("Run reported:\n%s\nwant the task that died in the other worker", got)
	}
}

func TestMissingTablesSayToMigrate(t *testing.T) {
	t.Parallel()
	_, url := signaltest.Schema(t) // not migrated
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	f := &fakeT{}
	f.call(func() { signaltest.Sent[userSignedUp](f, conn) })
	if got := f.reported(); !strings.Contains(got, "use signaltest.NewDB, or run signalrt.Migrate") {
		t.Errorf("Sent on an unmigrated schema reported:\n%s\nwant advice to migrate", got)
	}
}
