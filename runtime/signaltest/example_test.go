package signaltest_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"

	signalrt "github.com/reliablesignals/signals/runtime"
	"github.com/reliablesignals/signals/runtime/signaltest"
)

// exampleT stands for the *testing.T of a test in these examples; it
// prints what a test would report.
type exampleT struct {
	testing.TB
	cleanups []func()
}

func (t *exampleT) Helper()                  {}
func (t *exampleT) Context() context.Context { return context.Background() }
func (t *exampleT) Cleanup(f func())         { t.cleanups = append(t.cleanups, f) }
func (t *exampleT) Log(args ...any)          {}
func (t *exampleT) Logf(string, ...any)      {}
func (t *exampleT) Errorf(format string, args ...any) {
	fmt.Printf("test error: "+format+"\n", args...)
}
func (t *exampleT) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (t *exampleT) done() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}

// UserSignedUpPayload stands for a payload type that signalgen generated.
type UserSignedUpPayload struct {
	UserID int64  `json:"user_id"`
	Email  string `json:"email"`
}

// SignalName is what signalgen generates for it.
func (UserSignedUpPayload) SignalName() string { return "user_signed_up" }

// sendUserSignedUp stands for a generated sender, with two receivers.
func sendUserSignedUp(ctx context.Context, db signalrt.Executor, p UserSignedUpPayload) error {
	return signalrt.Send(ctx, db, "user_signed_up", []signalrt.Route{{Receiver: "mail.Welcome"}, {Receiver: "billing.Open"}}, p)
}

// A test asserts what its code sent, in the transaction before it commits.
func ExampleRequireSent() {
	t := &exampleT{}
	defer t.done()

	db := signaltest.NewDB(t)
	ctx := context.Background()
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatalf("%v", err)
	}
	defer tx.Rollback(ctx)
	if err := sendUserSignedUp(ctx, tx, UserSignedUpPayload{UserID: 7, Email: "ada@example.com"}); err != nil {
		t.Fatalf("%v", err)
	}
	sent := signaltest.RequireSent[UserSignedUpPayload](t, tx)
	fmt.Printf("%d sent: %+v\n", len(sent), sent[0])
	signaltest.RequireNotSent[UserSignedUpPayload](t, db.Pool) // not committed
	fmt.Println("nothing committed yet")
	// Output:
	// 1 sent: {UserID:7 Email:ada@example.com}
	// nothing committed yet
}

// A test runs the receivers; a task that dies fails the test, with its
// error.
func ExampleRun() {
	t := &exampleT{}
	defer t.done()

	db := signaltest.NewDB(t)
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		return sendUserSignedUp(ctx, tx, UserSignedUpPayload{UserID: 7, Email: "ada@example.com"})
	})
	if err != nil {
		t.Fatalf("%v", err)
	}
	table := signalrt.Table{
		{Key: "mail.Welcome", Signal: "user_signed_up", Handle: signalrt.Typed(func(ctx context.Context, p UserSignedUpPayload) error {
			fmt.Println("welcome", p.Email)
			return nil
		})},
		{Key: "billing.Open", Signal: "user_signed_up", Handle: signalrt.Typed(func(ctx context.Context, p UserSignedUpPayload) error {
			return signalrt.Permanent(fmt.Errorf("no plan for user %d", p.UserID))
		})},
	}
	stats := signaltest.Run(t, db.Pool, table)
	fmt.Printf("%+v\n", stats)
	// Output:
	// welcome ada@example.com
	// test error: signaltest: task 2 (receiver billing.Open, signal user_signed_up) ended dead after 1 attempt: no plan for user 7
	// {Succeeded:1 Retried:0 Dead:1}
}
