//go:build unix

package signalrt_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reliablesignals/signals/internal/pgtest"
	signalrt "github.com/reliablesignals/signals/runtime"
)

// The tests in this file run the runtime behind a real PgBouncer (Debian's
// pgbouncer package, which .ci/run installs), started by the test on a free
// port with a generated configuration and killed when the test ends.
//
// The test's schema reaches the clients through a role of the test's own
// whose search_path is that schema (ALTER ROLE ... SET search_path), as it
// would in production: PgBouncer forwards no search_path (nor any other
// unknown startup parameter), and a server-side default survives both
// pooling modes (session pooling's DISCARD ALL resets a SET, not a role's
// default).

// childPoolerEnv tells a child worker that it runs behind PgBouncer in
// transaction pooling mode: it polls only, leaves synchronous_commit alone,
// and deletes its tasks when they succeed (Retention 0).
const childPoolerEnv = "SIGNALS_TEST_CHILD_POOLER"

// fanoutKeys are the receivers of the "fanout" child mode.
var fanoutKeys = []string{"fan1", "fan2", "fan3"}

// fanoutTable is the dispatch table of a child in mode "fanout": three
// receivers of one signal, each recording its run (task id, receiver,
// payload, pid) in the executions table. It is nil for other modes.
func fanoutTable(mode string, pool *pgxpool.Pool) signalrt.Table {
	if mode != "fanout" {
		return nil
	}
	pid := os.Getpid()
	var table signalrt.Table
	for _, key := range fanoutKeys {
		table = append(table, signalrt.Receiver{Key: key, Signal: "test", Handle: signalrt.Typed(func(ctx context.Context, p num) error {
			info, _ := signalrt.TaskFromContext(ctx)
			_, err := pool.Exec(ctx, "INSERT INTO executions (task, receiver, n, pid) VALUES ($1, $2, $3, $4)", info.ID, key, p.N, pid)
			return err
		})})
	}
	return table
}

// pgBouncerPath returns the pgbouncer binary, or skips (locally) or fails
// (in CI, where .ci/run installs it) the test when there is none.
func pgBouncerPath(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("pgbouncer"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/pgbouncer"); err == nil {
		return "/usr/sbin/pgbouncer" // not on a non-root PATH
	}
	msg := "no pgbouncer on PATH nor in /usr/sbin: install Debian's pgbouncer (apt-get install pgbouncer) to run the PgBouncer tests"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// bouncerRole creates a login role named like the test's schema whose
// search_path is that schema, and drops it (and what it owns) when the test
// ends. Tests reach PostgreSQL through PgBouncer as this role.
func bouncerRole(t *testing.T, direct *pgxpool.Pool, schema string) string {
	t.Helper()
	role := schema
	// SUPERUSER: the test's tables need no grants; the role lives only as
	// long as the test.
	pgtest.Exec(t, direct, "CREATE ROLE "+role+" LOGIN SUPERUSER")
	pgtest.Exec(t, direct, "ALTER ROLE "+role+" SET search_path = "+schema)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// Connections of the role may linger for a moment after PgBouncer
		// is killed: end them, or DROP ROLE fails.
		_, _ = direct.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", role)
		for _, sql := range []string{"DROP OWNED BY " + role + " CASCADE", "DROP ROLE " + role} {
			if _, err := direct.Exec(ctx, sql); err != nil {
				t.Errorf("%s: %v", sql, err)
			}
		}
	})
	return role
}

// pgBouncer is a PgBouncer process started by a test.
type pgBouncer struct {
	port int
	out  *syncBuffer
}

// url returns a connection string through the bouncer as role, with the
// extra connection parameters params (e.g. "default_query_exec_mode=exec").
func (b *pgBouncer) url(role, db string, params ...string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?%s", role, b.port, db, strings.Join(append([]string{"sslmode=disable"}, params...), "&"))
}

// startPgBouncer starts a PgBouncer in poolMode (session or transaction) in
// front of the test server (pgtest.URL), letting in users without a
// password (auth_type trust: the test server trusts local logins), waits
// until it accepts connections, and kills it when the test ends. It returns
// the bouncer and the name of the database to connect to.
func startPgBouncer(t *testing.T, poolMode string, users ...string) (*pgBouncer, string) {
	t.Helper()
	bin := pgBouncerPath(t)
	server, err := pgconn.ParseConfig(pgtest.URL())
	if err != nil {
		t.Fatalf("parsing the test server's URL: %v", err)
	}
	// PgBouncer refuses to run as root; it drops to the user named in its
	// configuration, who must be able to read the configuration directory.
	dir, err := os.MkdirTemp("", "pgbouncer-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var auth strings.Builder
	for _, u := range users {
		fmt.Fprintf(&auth, "%q \"\"\n", u)
	}
	writeFile(t, filepath.Join(dir, "users.txt"), auth.String())
	runAs := ""
	if os.Geteuid() == 0 {
		runAs = "user = nobody"
		if _, err := user.Lookup("postgres"); err == nil {
			runAs = "user = postgres"
		}
	}
	for attempt := 1; ; attempt++ {
		port := freePort(t)
		ini := filepath.Join(dir, "pgbouncer.ini")
		writeFile(t, ini, fmt.Sprintf(`[databases]
%s = host=%s port=%d dbname=%s

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = trust
auth_file = %s
pool_mode = %s
max_client_conn = 500
default_pool_size = 40
%s
`, server.Database, server.Host, server.Port, server.Database, port, filepath.Join(dir, "users.txt"), poolMode, runAs))
		b := &pgBouncer{port: port, out: &syncBuffer{}}
		cmd := exec.Command(bin, ini)
		cmd.Stdout, cmd.Stderr = b.out, b.out
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting %s: %v", bin, err)
		}
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		stop := func() {
			_ = cmd.Process.Kill()
			<-done
		}
		if err := waitAccepting(b.url(users[0], server.Database), done); err != nil {
			stop()
			if attempt < 3 && strings.Contains(b.out.String(), "in use") {
				continue // lost the free port to someone else
			}
			t.Fatalf("PgBouncer (%s) did not accept connections: %v\n%s", bin, err, b.out.String())
		}
		t.Cleanup(func() {
			stop()
			if t.Failed() {
				t.Logf("PgBouncer's output:\n%s", b.out.String())
			}
		})
		return b, server.Database
	}
}

// waitAccepting connects to url until it works, the process ends (done
// closes), or a generous deadline passes.
func waitAccepting(url string, done <-chan struct{}) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		conn, err := pgx.Connect(ctx, url)
		if err == nil {
			err = conn.Ping(ctx)
			_ = conn.Close(ctx)
		}
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("pgbouncer exited (last connection error: %v)", err)
		default:
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// bouncerPool opens a pool on url and closes it when the test ends.
func bouncerPool(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// TestPgBouncerTransactionPooling runs senders and two worker processes
// through PgBouncer in transaction pooling mode, with the settings the
// README documents: default_query_exec_mode=exec on the connection string
// (no named prepared statements), and workers with PollOnly (LISTEN does
// not work) and SynchronousCommit (PgBouncer refuses the synchronous_commit
// startup parameter). The schema is migrated through PgBouncer too. 10,000
// sends of 3 receivers each: every task runs exactly once and none is left.
func TestPgBouncerTransactionPooling(t *testing.T) {
	const sends, senders, perTx = 10_000, 8, 10
	pgBouncerPath(t)
	schema, directURL := pgtest.Schema(t)
	direct := bouncerPool(t, directURL)
	role := bouncerRole(t, direct, schema)
	b, db := startPgBouncer(t, "transaction", role)
	url := b.url(role, db, "default_query_exec_mode=exec")
	pool := bouncerPool(t, url)
	ctx := context.Background()

	start := time.Now()
	// Migrate through the bouncer, twice at once and then once more: the
	// migration lock must hold on whichever server connections PgBouncer
	// hands out.
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- signalrt.Migrate(ctx, pool) }()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Migrate through PgBouncer (transaction pooling): %v", err)
		}
	}
	if err := signalrt.Migrate(ctx, pool); err != nil {
		t.Fatalf("Migrate through PgBouncer again: %v", err)
	}
	ms, _ := signalrt.ListMigrations()
	if got := queryInt(t, direct, "SELECT count(*) FROM signal_schema_version"); got != len(ms) {
		t.Fatalf("signal_schema_version has %d rows, want %d (one per migration)", got, len(ms))
	}
	pgtest.Exec(t, pool, "CREATE TABLE executions (task bigint NOT NULL, receiver text NOT NULL, n integer NOT NULL, pid integer NOT NULL)")
	pgtest.Exec(t, pool, "CREATE TABLE ready (name text NOT NULL, pid integer NOT NULL)")
	t.Logf("PgBouncer up, schema migrated through it: %s", time.Since(start).Round(time.Millisecond))

	children := []*child{
		startChild(t, url, "fanout", "bouncer-a", 30*time.Second, childPoolerEnv+"=transaction"),
		startChild(t, url, "fanout", "bouncer-b", 30*time.Second, childPoolerEnv+"=transaction"),
	}
	waitProcesses(t, "both workers to start", children, func() bool {
		return queryInt(t, direct, "SELECT count(*) FROM ready") == len(children)
	})

	start = time.Now()
	rs := make([]signalrt.Route, len(fanoutKeys))
	for i, k := range fanoutKeys {
		rs[i] = signalrt.Route{Receiver: k}
	}
	sendErrs := make(chan error, senders)
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Odd senders use signalrt.BeginFunc: their sends go in the
			// COMMIT's batch as signal_send rows, which the workers fan
			// out through PgBouncer too.
			begin := func(fn func(pgx.Tx) error) error { return pgx.BeginFunc(ctx, pool, fn) }
			if s%2 == 1 {
				begin = func(fn func(pgx.Tx) error) error { return signalrt.BeginFunc(ctx, pool, fn) }
			}
			for i := s * perTx; i < sends; i += senders * perTx {
				err := begin(func(tx pgx.Tx) error {
					for n := i; n < i+perTx; n++ {
						if err := signalrt.Send(ctx, tx, "test", rs, num{N: n}); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					sendErrs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(sendErrs)
	for err := range sendErrs {
		t.Fatalf("sending through PgBouncer: %v", err)
	}
	sent := time.Since(start)
	want := sends * len(fanoutKeys)
	waitProcesses(t, fmt.Sprintf("%d executions and an empty signal_task", want), children, func() bool {
		return queryInt(t, direct, "SELECT count(*) FROM executions") >= want &&
			queryInt(t, direct, "SELECT count(*) FROM signal_task") == 0 &&
			queryInt(t, direct, "SELECT count(*) FROM signal_send") == 0
	})
	t.Logf("%d sends (%d tasks) through PgBouncer in %s; all run and gone after %s",
		sends, want, sent.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	for _, c := range children {
		c.stop(t)
	}
	if got := queryInt(t, direct, "SELECT count(*) FROM executions"); got != want {
		t.Errorf("%d executions, want %d", got, want)
	}
	if got := queryInt(t, direct, "SELECT count(DISTINCT (receiver, n)) FROM executions WHERE n BETWEEN 0 AND $1", sends-1); got != want {
		t.Errorf("%d distinct (receiver, payload) executions, want %d", got, want)
	}
	if got := queryInt(t, direct, "SELECT count(*) FROM (SELECT task FROM executions GROUP BY task HAVING count(*) > 1) twice"); got != 0 {
		t.Errorf("%d tasks ran more than once", got)
	}
	if got := queryInt(t, direct, "SELECT count(DISTINCT pid) FROM executions"); got != len(children) {
		t.Logf("only %d of %d worker processes ran tasks", got, len(children))
	}
	if got := queryInt(t, direct, "SELECT count(*) FROM signal_task"); got != 0 {
		t.Errorf("%d tasks left in signal_task, want none", got)
	}
}

// TestPgBouncerSessionPooling runs a worker without PollOnly through
// PgBouncer in session pooling mode, where LISTEN works: with a poll
// interval of a minute, only a notification can explain a task that runs
// within seconds of its send.
func TestPgBouncerSessionPooling(t *testing.T) {
	pgBouncerPath(t)
	schema, directURL := pgtest.Schema(t)
	direct := bouncerPool(t, directURL)
	role := bouncerRole(t, direct, schema)
	b, db := startPgBouncer(t, "session", role)
	pool := bouncerPool(t, b.url(role, db))
	ctx := context.Background()
	if err := signalrt.Migrate(ctx, pool); err != nil {
		t.Fatalf("Migrate through PgBouncer (session pooling): %v", err)
	}

	ran := make(chan int, 10)
	table := signalrt.Table{{Key: "wake", Signal: "test", Handle: signalrt.Typed(func(_ context.Context, p num) error {
		ran <- p.N
		return nil
	})}}
	// Without SynchronousCommit, Run says what to do.
	w, err := signalrt.NewWorker(pool, table, signalrt.Config{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := w.Run(runCtx); err == nil || !strings.Contains(err.Error(), "Config.SynchronousCommit") {
		t.Fatalf("Run behind PgBouncer without SynchronousCommit: %v, want an error that names Config.SynchronousCommit", err)
	}

	cfg := signalrt.Config{
		PollInterval:      time.Minute,
		HotPoll:           10 * time.Millisecond,
		HotWindow:         50 * time.Millisecond,
		SynchronousCommit: true, // PgBouncer refuses the synchronous_commit startup parameter
		Logger:            quiet(),
	}
	startWorker(t, pool, table, cfg)
	// Wait until the worker listens (its LISTEN connection runs LISTEN,
	// then TaskSchema, then polls each queue once), then past its hot
	// window, so that from now on it polls once a minute.
	waitFor(t, "the worker's LISTEN", func() bool {
		return queryInt(t, direct, `SELECT count(*) FROM pg_stat_activity WHERE usename = $1 AND state = 'idle'
			AND (query LIKE '-- name: Listen %' OR query LIKE '-- name: TaskSchema %')`, role) > 0
	})
	time.Sleep(500 * time.Millisecond)

	// Sends 4 and 5 are made in signalrt.BeginFunc: the NOTIFY on
	// signal_send wakes the fan-out, which notifies the queue.
	for n := 1; n <= 5; n++ {
		sent := time.Now()
		if n <= 3 {
			send(t, pool, routes("wake"), n)
		} else if err := signalrt.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			return signalrt.Send(ctx, tx, "test", routes("wake"), num{N: n})
		}); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-ran:
			if got != n {
				t.Fatalf("ran task %d, want %d", got, n)
			}
			t.Logf("send %d ran %s after it was sent", n, time.Since(sent).Round(time.Millisecond))
		case <-time.After(10 * time.Second):
			t.Fatalf("send %d has not run 10s after it was sent, with a poll interval of %s: NOTIFY did not reach the worker through PgBouncer", n, cfg.PollInterval)
		}
		time.Sleep(200 * time.Millisecond) // past the hot window again
	}
}

// childPoolerConfig adjusts the Config of a child worker for PgBouncer in
// the pooling mode named by childPoolerEnv.
func childPoolerConfig(cfg *signalrt.Config) error {
	switch mode := os.Getenv(childPoolerEnv); mode {
	case "":
	case "transaction":
		cfg.PollOnly = true
		cfg.SynchronousCommit = true
		cfg.Retention = 0
	default:
		return fmt.Errorf("%s=%s: want transaction", childPoolerEnv, strconv.Quote(mode))
	}
	return nil
}
