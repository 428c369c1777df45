// Package payments captures the payment of each placed order and owns the
// payment_process_completed signal.
package payments

import (
	"context"
	_ "embed"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/reliablesignals/signals/examples/shop/orders"
	"github.com/reliablesignals/signals/examples/shop/shopdb"
)

// Schema creates the module's table (payment) if it does not exist.
//
//go:embed schema.sql
var Schema string

// PaymentProcessCompleted is sent once a payment is captured.
//
//signal:define
type PaymentProcessCompleted func(orderID int64, email string, lines []orders.Line, amountCents int64)

// Capture charges a placed order and, in the same transaction, sends
// payment_process_completed.
//
// Tasks run at least once, so Capture may run again for an order it already
// charged (its worker died before recording the success). The payment row's
// primary key makes the second run a no-op, and the signal is sent only with
// the row that was actually inserted: one capture, one signal.
//
// The name= option pins the receiver key, so the function can be renamed or
// moved without orphaning queued tasks.
//
//signal:receiver order_placed name=payments.capture
func Capture(ctx context.Context, orderID int64, email string, lines []orders.Line, totalCents int64) error {
	db, err := shopdb.From(ctx)
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		var captured int64
		err := tx.QueryRow(ctx, `
			INSERT INTO payment (order_id, email, amount_cents) VALUES ($1, $2, $3)
			ON CONFLICT (order_id) DO NOTHING
			RETURNING order_id`, orderID, email, totalCents).Scan(&captured)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // captured by an earlier run
		}
		if err != nil {
			return fmt.Errorf("payments: capturing order %d: %w", orderID, err)
		}
		return SendPaymentProcessCompleted(ctx, tx, PaymentProcessCompletedPayload{
			OrderID: orderID, Email: email, Lines: lines, AmountCents: totalCents,
		})
	})
}
