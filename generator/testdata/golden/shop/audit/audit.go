// Package audit keeps an audit trail.
package audit

import (
	"context"

	"example.com/shop/payments"
	"example.com/shop/record"
)

// Log writes audit entries with a prefix.
type Log struct {
	Prefix string
}

// Payment records a payment. The key is set with name=, so renaming the
// method keeps queued tasks working.
//
//signal:receiver payment_process_completed name=audit.payment attempts=3
func (l Log) Payment(ctx context.Context, orderID int64) error {
	return record.Got("audit.Log.Payment prefix=%s orderID=%d", l.Prefix, orderID)
}

// Refund records a refund; it takes the arguments in another order than
// the declaration.
//
//signal:receiver payment.refunded queue=audit
func (l Log) Refund(ctx context.Context, amount payments.Cents, orderID int64) error {
	return record.Got("audit.Log.Refund prefix=%s orderID=%d amount=%d", l.Prefix, orderID, amount)
}
