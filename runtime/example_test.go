package signalrt_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reliablesignals/signals/internal/pgtest"
	signalrt "github.com/reliablesignals/signals/runtime"
)

// orderPlaced is the payload of the examples' signal, as a generated sender
// would define it.
type orderPlaced struct {
	OrderID int64  `json:"order_id"`
	Email   string `json:"email"`
}

// orderPlacedRoutes are the receivers of order_placed, as a generated sender
// knows them: by key only.
var orderPlacedRoutes = []signalrt.Route{
	{Receiver: "mail.SendReceipt"},
	{Receiver: "shipping.ReserveStock", Queue: "warehouse", MaxAttempts: 10, Timeout: 30 * time.Second},
}

// orderPlacedTable is the dispatch table a generated dispatch package would
// build for those receivers; here they print what they do.
var orderPlacedTable = signalrt.Table{
	{Key: "mail.SendReceipt", Signal: "order_placed", Handle: signalrt.Typed(func(ctx context.Context, p orderPlaced) error {
		fmt.Printf("receipt for order %d sent to %s\n", p.OrderID, p.Email)
		return nil
	})},
	{Key: "shipping.ReserveStock", Signal: "order_placed", Queue: "warehouse", Handle: signalrt.Typed(func(ctx context.Context, p orderPlaced) error {
		fmt.Printf("stock reserved for order %d\n", p.OrderID)
		return nil
	})},
}

// Send the signal inside the transaction that creates the order: the tasks
// commit or roll back with it. In a test, RunUntilIdle then runs every task
// and returns once the queue is idle.
func ExampleSend() {
	ctx := context.Background()
	pool, done := exampleDB("CREATE TABLE orders (id bigint PRIMARY KEY, email text NOT NULL)")
	defer done()

	placeOrder := func(id int64, email string, fail bool) error {
		return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "INSERT INTO orders (id, email) VALUES ($1, $2)", id, email); err != nil {
				return err
			}
			if err := signalrt.Send(ctx, tx, "order_placed", orderPlacedRoutes, orderPlaced{OrderID: id, Email: email}); err != nil {
				return err
			}
			if fail {
				return errors.New("card declined") // rolls back the order and its tasks
			}
			return nil
		})
	}
	fmt.Println("order 41:", placeOrder(41, "bob@example.com", true))
	fmt.Println("order 42:", placeOrder(42, "ada@example.com", false))

	stats, err := signalrt.RunUntilIdle(ctx, pool, orderPlacedTable)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%+v\n", stats)
	// Output:
	// order 41: card declined
	// order 42: <nil>
	// receipt for order 42 sent to ada@example.com
	// stock reserved for order 42
	// {Succeeded:2 Retried:0 Dead:0}
}

// In unit tests that need neither a database nor a worker, a context made
// by WithInline makes Send call the receivers at once. A receiver's error is
// returned to the sender, which a real send never does.
func ExampleWithInline() {
	table := signalrt.Table{
		{Key: "mail.SendReceipt", Signal: "order_placed", Handle: signalrt.Typed(func(ctx context.Context, p orderPlaced) error {
			fmt.Printf("receipt for order %d sent to %s\n", p.OrderID, p.Email)
			return nil
		})},
		{Key: "shipping.ReserveStock", Signal: "order_placed", Handle: signalrt.Typed(func(ctx context.Context, p orderPlaced) error {
			return fmt.Errorf("order %d: out of stock", p.OrderID)
		})},
	}
	ctx := signalrt.WithInline(context.Background(), table)
	err := signalrt.Send(ctx, nil, "order_placed", orderPlacedRoutes, orderPlaced{OrderID: 7, Email: "ada@example.com"})
	fmt.Println(err)
	// Output:
	// receipt for order 7 sent to ada@example.com
	// signal order_placed: receiver shipping.ReserveStock: order 7: out of stock
}

// A receiver returns a permanent error when retrying cannot help: its task
// ends dead at once, with the error kept for inspection.
func ExamplePermanent() {
	ctx := context.Background()
	pool, done := exampleDB()
	defer done()

	table := signalrt.Table{{Key: "shipping.ReserveStock", Signal: "order_placed", Queue: "warehouse", Handle: signalrt.Typed(func(ctx context.Context, p orderPlaced) error {
		return signalrt.Permanent(fmt.Errorf("order %d does not exist", p.OrderID))
	})}}
	routes := []signalrt.Route{{Receiver: "shipping.ReserveStock", Queue: "warehouse", MaxAttempts: 10}}
	if err := signalrt.Send(ctx, pool, "order_placed", routes, orderPlaced{OrderID: 404}); err != nil {
		panic(err)
	}
	stats, err := signalrt.RunUntilIdle(ctx, pool, table)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%+v\n", stats)

	dead, err := signalrt.SearchTasks(ctx, pool, signalrt.TaskQuery{State: signalrt.StateDead})
	if err != nil {
		panic(err)
	}
	for _, t := range dead.Tasks {
		fmt.Printf("%s: %s after attempt %d of %d: %s\n", t.Receiver, t.State, t.Attempt, t.MaxAttempts, t.LastError)
	}
	// Output:
	// {Succeeded:0 Retried:0 Dead:1}
	// shipping.ReserveStock: dead after attempt 1 of 10: order 404 does not exist
}

// During a rolling deploy, a worker of the old version, whose table lacks a
// new receiver, leaves that receiver's tasks to a worker of the new version.
func ExampleTable_rollingDeploy() {
	ctx := context.Background()
	pool, done := exampleDB()
	defer done()

	if err := signalrt.Send(ctx, pool, "order_placed", orderPlacedRoutes, orderPlaced{OrderID: 9, Email: "ada@example.com"}); err != nil {
		panic(err)
	}
	// An old binary that only knows the mail receiver.
	stats, err := signalrt.RunUntilIdle(ctx, pool, orderPlacedTable[:1])
	if err != nil {
		panic(err)
	}
	fmt.Printf("old binary: %+v\n", stats)
	stats, err = signalrt.RunUntilIdle(ctx, pool, orderPlacedTable)
	if err != nil {
		panic(err)
	}
	fmt.Printf("new binary: %+v\n", stats)
	// Output:
	// receipt for order 9 sent to ada@example.com
	// old binary: {Succeeded:1 Retried:0 Dead:0}
	// stock reserved for order 9
	// new binary: {Succeeded:1 Retried:0 Dead:0}
}

// A task whose receiver failed for good ends dead; after a deploy that
// fixes the receiver, Retry runs it again.
func ExampleRetry() {
	ctx := context.Background()
	pool, done := exampleDB()
	defer done()

	routes := []signalrt.Route{{Receiver: "shipping.ReserveStock"}}
	if err := signalrt.Send(ctx, pool, "order_placed", routes, orderPlaced{OrderID: 9}); err != nil {
		panic(err)
	}
	fixed := false
	table := signalrt.Table{{Key: "shipping.ReserveStock", Signal: "order_placed", Handle: signalrt.Typed(func(ctx context.Context, p orderPlaced) error {
		if !fixed {
			return signalrt.Permanent(fmt.Errorf("order %d: warehouse unknown", p.OrderID))
		}
		fmt.Printf("stock reserved for order %d\n", p.OrderID)
		return nil
	})}}
	stats, err := signalrt.RunUntilIdle(ctx, pool, table)
	if err != nil {
		panic(err)
	}
	fmt.Printf("before the fix: %+v\n", stats)

	fixed = true // deployed
	dead, err := signalrt.SearchTasks(ctx, pool, signalrt.TaskQuery{State: signalrt.StateDead})
	if err != nil {
		panic(err)
	}
	for _, t := range dead.Tasks {
		n, err := signalrt.Retry(ctx, pool, t.ID)
		fmt.Println("retried", t.Receiver, n, err)
	}
	stats, err = signalrt.RunUntilIdle(ctx, pool, table)
	if err != nil {
		panic(err)
	}
	fmt.Printf("after the fix: %+v\n", stats)
	// Output:
	// before the fix: {Succeeded:0 Retried:0 Dead:1}
	// retried shipping.ReserveStock 1 <nil>
	// stock reserved for order 9
	// after the fix: {Succeeded:1 Retried:0 Dead:0}
}

// A worker runs until its context is cancelled, then shuts down gracefully.
// Run one (or many, in many processes) next to the application.
func ExampleWorker_Run() {
	ctx := context.Background()
	pool, done := exampleDB()
	defer done()

	receipts := make(chan int64)
	table := signalrt.Table{{Key: "mail.SendReceipt", Signal: "order_placed", Handle: signalrt.Typed(func(ctx context.Context, p orderPlaced) error {
		receipts <- p.OrderID
		return nil
	})}}
	w, err := signalrt.NewWorker(pool, table, signalrt.Config{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		panic(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	stopped := make(chan error)
	go func() { stopped <- w.Run(runCtx) }()

	routes := []signalrt.Route{{Receiver: "mail.SendReceipt"}}
	if err := signalrt.Send(ctx, pool, "order_placed", routes, orderPlaced{OrderID: 1}); err != nil {
		panic(err)
	}
	fmt.Println("receipt for order", <-receipts)

	stop()
	fmt.Println("worker stopped:", <-stopped)
	// Output:
	// receipt for order 1
	// worker stopped: <nil>
}

// exampleDB returns a pool on a fresh, migrated schema (examples cannot use
// pgtest, which needs a *testing.T) after running setup statements in it,
// and a function that closes the pool and drops the schema.
func exampleDB(setup ...string) (*pgxpool.Pool, func()) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, pgtest.URL())
	if err != nil {
		panic(fmt.Sprintf("example: cannot connect to PostgreSQL at %s (set DATABASE_URL): %v", pgtest.URL(), err))
	}
	defer admin.Close(ctx)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "sigexample_" + hex.EncodeToString(b)
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		panic(err)
	}
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, pgtest.URL())
		if err != nil {
			panic(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			panic(err)
		}
	}
	pool, err := pgxpool.New(ctx, pgtest.WithSearchPath(pgtest.URL(), schema))
	if err == nil {
		err = signalrt.Migrate(ctx, pool)
	}
	for _, sql := range setup {
		if err == nil {
			_, err = pool.Exec(ctx, sql)
		}
	}
	if err != nil {
		if pool != nil {
			pool.Close()
		}
		drop()
		panic(err)
	}
	return pool, func() { pool.Close(); drop() }
}
