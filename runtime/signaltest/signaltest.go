// Package signaltest helps test code that sends signals and receivers
// that run them, against a real PostgreSQL.
//
// A test gets a schema of its own, migrated and dropped when it ends:
//
//	func TestSignup(t *testing.T) {
//		db := signaltest.NewDB(t)
//		if err := users.SignUp(ctx, db.Pool, "ada@example.com"); err != nil {
//			t.Fatal(err)
//		}
//		sent := signaltest.RequireSent[users.UserSignedUpPayload](t, db.Pool)
//		if sent[0].Email != "ada@example.com" { ... }
//
//		signaltest.Run(t, db.Pool, dispatch.Table(&mail.Mailer{...}))
//		// the receivers ran; the test failed if one of their tasks died
//	}
//
// [Sent], [RequireSent] and [RequireNotSent] find the sends of a signal by
// its generated payload type, in the database or in the sender's open
// transaction (which sees its own sends before they commit). [Run] runs a
// dispatch table's receivers until nothing is due and nothing runs, and
// fails the test on every task that ended dead.
//
// # The server
//
// Tests connect to DATABASE_URL, or to
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable when it is
// unset. When no server answers there and PostgreSQL's server binaries are
// installed (Debian's and Ubuntu's postgresql package), the first test
// starts a throwaway server for the test binary, in a temporary directory
// on a Unix socket with no TCP port, logs that it did, and the server
// stops when the test binary exits. When neither is there, the test fails
// with a message that says how to get a server.
package signaltest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	signalrt "github.com/reliablesignals/signals/runtime"
	"github.com/reliablesignals/signals/runtime/internal/dbsqlc"
)

// DefaultURL is the server tests use when DATABASE_URL is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

var queries = dbsqlc.New()

// DB is a schema of one test's own, on the test server.
type DB struct {
	// Pool is connected to the schema (its search_path), and closed when
	// the test ends.
	Pool *pgxpool.Pool
	// URL is a connection string for the schema, for other processes and
	// pools of the test.
	URL string
	// Schema is the schema's name.
	Schema string
}

// NewDB returns a fresh schema, with the runtime's migrations applied, on
// the test server (see the package documentation). The schema is dropped
// when the test ends.
func NewDB(t testing.TB) *DB {
	t.Helper()
	name, url := Schema(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatalf("signaltest: %v", err)
	}
	t.Cleanup(pool.Close)
	if err := signalrt.Migrate(ctx, pool); err != nil {
		t.Fatalf("signaltest: %v", err)
	}
	return &DB{Pool: pool, URL: url, Schema: name}
}

// Schema creates a fresh, empty schema on the test server and returns its
// name and a connection string whose search_path is that schema, for
// tests that apply the migrations with a tool of their own. The schema is
// dropped when the test ends.
func Schema(t testing.TB) (name, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	base := ServerURL(t)
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("signaltest: connecting to %s: %v", redact(base), err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name = "sigtest_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatalf("signaltest: creating schema %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("signaltest: dropping schema %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+name+" CASCADE"); err != nil {
			t.Errorf("signaltest: dropping schema %s: %v", name, err)
		}
	})
	return name, WithSearchPath(base, name)
}

// WithSearchPath returns the connection string u with its search_path set
// to schema.
func WithSearchPath(u, schema string) string {
	if !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
		return u + " search_path=" + schema // keyword/value form
	}
	if strings.Contains(u, "?") {
		return u + "&search_path=" + schema
	}
	return u + "?search_path=" + schema
}

// redact hides the password of a connection URL.
func redact(u string) string {
	cfg, err := pgx.ParseConfig(u)
	if err != nil || cfg.Password == "" {
		return u
	}
	return strings.Replace(u, cfg.Password, "xxxxx", 1)
}

// Payload is a payload type that signalgen generated: it knows the name of
// its signal.
type Payload interface {
	SignalName() string
}

// Sent returns the payload of every send of P's signal that db holds, in
// the order they were sent: the sends whose tasks are still in the table
// (in any state: a receiver that ran and succeeded deletes its task,
// unless Config.Retention keeps it) and those made in [signalrt.BeginFunc]
// that no worker has fanned out yet. db may be the sender's transaction:
// it sees its own sends before they commit. A send to a signal without
// receivers writes nothing, and so is not found; nor are the sends of
// [signalrt.WithInline].
func Sent[P Payload](t testing.TB, db signalrt.Executor) []P {
	t.Helper()
	var zero P
	signal := zero.SignalName()
	ctx := context.Background()
	tasks, err := queries.TestTasksOf(ctx, db, signal)
	if err != nil {
		t.Fatalf("signaltest: the tasks of signal %s: %v", signal, migrateHint(err))
	}
	sends, err := queries.TestSendsOf(ctx, db, signal)
	if err != nil {
		t.Fatalf("signaltest: the pending sends of signal %s: %v", signal, migrateHint(err))
	}
	type sent struct {
		at      time.Time
		payload []byte
	}
	var all []sent
	// The tasks of one send have consecutive ids, one per receiver, with
	// its created_at and payload.
	var receivers map[string]bool
	for i, tk := range tasks {
		prev := i - 1
		same := prev >= 0 && tk.ID == tasks[prev].ID+1 && tk.CreatedAt.Equal(tasks[prev].CreatedAt) &&
			string(tk.Payload) == string(tasks[prev].Payload) && !receivers[tk.Receiver]
		if !same {
			receivers = map[string]bool{}
			all = append(all, sent{at: tk.CreatedAt, payload: tk.Payload})
		}
		receivers[tk.Receiver] = true
	}
	for _, s := range sends {
		all = append(all, sent{at: s.CreatedAt, payload: s.Payload})
	}
	// Sends made in BeginFunc and fanned out keep their created_at: order
	// all by it (stable: tasks first, in id order, among equals).
	slices.SortStableFunc(all, func(a, b sent) int { return a.at.Compare(b.at) })
	out := make([]P, 0, len(all))
	for _, s := range all {
		var p P
		if err := json.Unmarshal(s.payload, &p); err != nil {
			t.Fatalf("signaltest: a payload of signal %s does not decode into %T: %v\n%s", signal, p, err, s.payload)
		}
		out = append(out, p)
	}
	return out
}

// RequireSent fails the test unless db holds a send of P's signal (see
// [Sent]), and returns the payloads of all of them.
func RequireSent[P Payload](t testing.TB, db signalrt.Executor) []P {
	t.Helper()
	sent := Sent[P](t, db)
	if len(sent) == 0 {
		var zero P
		t.Fatalf("signaltest: signal %s was not sent (no task or pending send of it in the database)", zero.SignalName())
	}
	return sent
}

// RequireNotSent fails the test if db holds a send of P's signal (see
// [Sent]).
func RequireNotSent[P Payload](t testing.TB, db signalrt.Executor) {
	t.Helper()
	if sent := Sent[P](t, db); len(sent) > 0 {
		var zero P
		t.Fatalf("signaltest: signal %s was sent %d times, want none; first payload: %+v", zero.SignalName(), len(sent), sent[0])
	}
}

// RunTimeout bounds how long [Run] waits for tasks that another worker
// runs.
var RunTimeout = time.Minute

// Run runs the receivers of table on every due task in pool's database, in
// the calling goroutine, until no task is due, none runs and no send waits
// for its fan-out, and returns what it ran. It fails the test
//   - for every task that ended dead meanwhile, whoever ran it, with its
//     last error;
//   - when due tasks are left that no receiver of table runs (a receiver
//     missing from the table, or a payload it cannot decode), naming their
//     receivers.
//
// Tasks that another worker runs (one the test started, say) are waited
// for, up to [RunTimeout], rather than counted as done: Run returns only
// once the database is idle. Retries are scheduled with the default
// backoff, so a task that fails is not due again within the call; call
// Run again after [signalrt.RunNow], or use a worker with a Config.
func Run(t testing.TB, pool *pgxpool.Pool, table signalrt.Table) signalrt.RunStats {
	t.Helper()
	return RunContext(t.Context(), t, pool, table)
}

// RunContext is [Run] with the receivers called on ctx (and contexts
// derived from it), for receivers that take values from their context, as
// they would from the context a worker runs with.
func RunContext(ctx context.Context, t testing.TB, pool *pgxpool.Pool, table signalrt.Table) signalrt.RunStats {
	t.Helper()
	since, err := queries.TestNow(ctx, pool)
	if err != nil {
		t.Fatalf("signaltest: %v", migrateHint(err))
	}
	var total signalrt.RunStats
	deadline := time.Now().Add(RunTimeout)
	for {
		st, err := signalrt.RunUntilIdle(ctx, pool, table)
		if err != nil {
			t.Fatalf("signaltest: running the receivers: %v", migrateHint(err))
		}
		total.Succeeded += st.Succeeded
		total.Retried += st.Retried
		total.Dead += st.Dead
		busy, err := queries.TestBusy(ctx, pool)
		if err != nil {
			t.Fatalf("signaltest: %v", err)
		}
		if busy.Running == 0 && busy.Sends == 0 {
			if busy.Due > 0 {
				leftDue(t, pool, table)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("signaltest: the database is not idle after %s: %d tasks running in another worker, %d sends waiting for their fan-out",
				RunTimeout, busy.Running, busy.Sends)
		}
		time.Sleep(10 * time.Millisecond)
	}
	dead, err := queries.TestDeadSince(ctx, pool, since)
	if err != nil {
		t.Fatalf("signaltest: %v", err)
	}
	for _, id := range dead {
		task, err := signalrt.GetTask(ctx, pool, id)
		if err != nil {
			t.Errorf("signaltest: task %d ended dead (%v)", id, err)
			continue
		}
		last := "no error recorded"
		if n := len(task.Errors); n > 0 {
			last = task.Errors[n-1].Error
		}
		attempts := fmt.Sprintf("%d attempts", task.Attempt)
		if task.Attempt == 1 {
			attempts = "1 attempt"
		}
		t.Errorf("signaltest: task %d (receiver %s, signal %s) ended dead after %s: %s", id, task.Receiver, task.Signal, attempts, last)
	}
	return total
}

// leftDue fails the test with the due tasks that table did not run.
func leftDue(t testing.TB, pool *pgxpool.Pool, table signalrt.Table) {
	t.Helper()
	rows, err := queries.TestDueByReceiver(context.Background(), pool)
	if err != nil {
		t.Fatalf("signaltest: %v", err)
	}
	known := map[string]bool{}
	for _, r := range table {
		known[r.Key] = true
	}
	var parts []string
	for _, r := range rows {
		why := "the table does not have this receiver"
		if known[r.Receiver] {
			why = "its payload does not decode for this table, or its queue is paused"
		}
		parts = append(parts, fmt.Sprintf("%d of %s (%s)", r.N, r.Receiver, why))
	}
	t.Errorf("signaltest: due tasks were left that the table does not run: %s", strings.Join(parts, "; "))
}

// migrateHint adds advice to an error that says the runtime's tables do
// not exist.
func migrateHint(err error) error {
	if err != nil && strings.Contains(err.Error(), "SQLSTATE 42P01") {
		return fmt.Errorf("%w (the runtime's tables are missing: use signaltest.NewDB, or run signalrt.Migrate)", err)
	}
	return err
}

// URLFromEnv returns DATABASE_URL, or DefaultURL when it is unset.
func URLFromEnv() string {
	if u := os.Getenv("DATABASE_URL"); u != "" {
		return u
	}
	return DefaultURL
}
