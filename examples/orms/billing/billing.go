// Package billing is the module of examples/orms that sends a signal: an
// invoice was paid. Its tests send it from inside the transactions of
// database/sql, sqlx, GORM and bun.
package billing

import (
	"context"
	"sync/atomic"
)

// InvoicePaid is sent when an invoice is marked paid, in the same
// transaction.
//
//signal:define
type InvoicePaid func(invoiceID int64, amountCents int64)

// Receipts counts the receipts sent, for the tests.
var Receipts atomic.Int64

// SendReceipt mails the receipt of a paid invoice.
//
//signal:receiver invoice_paid queue=mail
func SendReceipt(ctx context.Context, invoiceID int64, amountCents int64) error {
	Receipts.Add(1)
	return nil
}

// BookRevenue books the payment in the ledger.
//
//signal:receiver invoice_paid
func BookRevenue(ctx context.Context, invoiceID int64, amountCents int64) error {
	return nil
}
