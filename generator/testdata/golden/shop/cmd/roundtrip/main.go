// Command roundtrip sends the shop's signals in a PostgreSQL transaction,
// runs the generated dispatch table until no task is left, and prints what
// each receiver was called with. The generator's round-trip test runs it
// with DATABASE_URL pointing at a fresh schema.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	signalrt "github.com/reliablesignals/signals/runtime"

	"example.com/shop/audit"
	"example.com/shop/mail"
	"example.com/shop/orders"
	"example.com/shop/payments"
	"example.com/shop/record"
	"example.com/shop/signals"
	"example.com/shop/signals/dispatch"
)

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "roundtrip:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := signalrt.Migrate(ctx, pool); err != nil {
		return err
	}

	// Committed: every receiver's task is stored.
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if err := payments.Capture(ctx, tx, 42, "ann@example.com", []orders.Line{{SKU: "tea", Qty: 2}, {SKU: "cup", Qty: 1}}); err != nil {
		return err
	}
	if err := payments.SendPaymentRefunded(ctx, tx, payments.PaymentRefundedPayload{OrderID: 42, Amount: 1250}); err != nil {
		return err
	}
	if err := payments.SendRefundRequested(ctx, tx, payments.RefundRequestedPayload{OrderID: 42, Reason: "no receivers"}); err != nil {
		return err
	}
	signedUp := time.Date(2025, 3, 1, 12, 30, 0, 0, time.UTC)
	if err := signals.SendUserSignedUp(ctx, tx, signals.UserSignedUpPayload{UserID: 7, Email: "bob@example.com", SignedUpAt: signedUp}); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}

	// Rolled back: no task.
	tx2, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	if err := payments.Capture(ctx, tx2, 99, "rolled@back.example", nil); err != nil {
		return err
	}
	if err := tx2.Rollback(ctx); err != nil {
		return err
	}

	table := dispatch.Table(audit.Log{Prefix: "audit"}, &mail.Mailer{From: "shop@example.com"})
	stats, err := signalrt.RunUntilIdle(ctx, pool, table)
	if err != nil {
		return err
	}
	for _, c := range record.Calls() {
		fmt.Println(c)
	}
	fmt.Printf("succeeded=%d retried=%d dead=%d\n", stats.Succeeded, stats.Retried, stats.Dead)
	return nil
}
