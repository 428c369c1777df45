// Package payments captures payments and owns the payment signals.
package payments

import (
	"context"

	"github.com/jackc/pgx/v5"

	"example.com/shop/orders"
)

// Cents is an amount of money.
type Cents int64

// PaymentProcessCompleted is sent once a payment is captured.
//
//signal:define
type PaymentProcessCompleted func(orderID int64, email string, lines []orders.Line)

// Refunded is sent when money goes back to the customer.
//
//signal:define payment.refunded
type Refunded func(orderID int64, amount Cents)

// RefundRequested is sent when a customer asks for a refund. Nothing
// receives it yet.
//
//signal:define
type RefundRequested func(orderID int64, reason string)

// Capture records a captured payment and sends the signal in the same
// transaction.
func Capture(ctx context.Context, tx pgx.Tx, orderID int64, email string, lines []orders.Line) error {
	return SendPaymentProcessCompleted(ctx, tx, PaymentProcessCompletedPayload{OrderID: orderID, Email: email, Lines: lines})
}
