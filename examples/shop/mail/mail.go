// Package mail sends the shop's e-mail to customers. It listens to the
// other modules' signals and imports none of them.
package mail

import (
	"context"
	_ "embed"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	signalrt "github.com/reliablesignals/signals/runtime"
)

// Schema creates the module's table (mail_sent) if it does not exist.
//
//go:embed schema.sql
var Schema string

// Kinds of mail, as stored in mail_sent.kind.
const (
	KindConfirmation = "confirmation"
	KindReceipt      = "receipt"
	KindShipping     = "shipping"
)

// UndeliverableDomain is the domain whose addresses the mail server rejects
// in this demo (.invalid is reserved and never resolves, RFC 2606).
const UndeliverableDomain = ".invalid"

// SMTPDelay is how long handing one mail to the mail server takes.
const SMTPDelay = 2 * time.Millisecond

// Mailer sends mail from one address and records each mail in the
// mail_sent table. Its methods are signal receivers: the worker's dispatch
// table is built with a *Mailer, which holds everything they need.
type Mailer struct {
	// DB is where sent mail is recorded.
	DB *pgxpool.Pool
	// From is the sender address.
	From string
}

// SendOrderConfirmation tells the customer that the order arrived.
//
//signal:receiver order_placed queue=mail attempts=5
func (m *Mailer) SendOrderConfirmation(ctx context.Context, orderID int64, email string) error {
	return m.send(ctx, orderID, KindConfirmation, email, fmt.Sprintf("We got your order %d", orderID))
}

// SendReceipt mails the receipt of a paid order.
//
//signal:receiver payment_process_completed queue=mail attempts=5 timeout=10s
func (m *Mailer) SendReceipt(ctx context.Context, orderID int64, email string, amountCents int64) error {
	return m.send(ctx, orderID, KindReceipt, email,
		fmt.Sprintf("Receipt for order %d: %d.%02d EUR", orderID, amountCents/100, amountCents%100))
}

// SendShippingNotice tells the customer how to track the parcel.
//
//signal:receiver shipment_created queue=mail attempts=5
func (m *Mailer) SendShippingNotice(ctx context.Context, orderID int64, email, trackingNumber string) error {
	return m.send(ctx, orderID, KindShipping, email,
		fmt.Sprintf("Order %d is on its way: %s", orderID, trackingNumber))
}

// send hands one mail to the (simulated) mail server and records it.
//
// An address the server rejects is a permanent failure: retrying cannot
// make it deliverable, so the receiver returns signalrt.Permanent and its
// task ends dead at once, with the reason in its error history.
//
// At least once: a mail whose task runs again after the worker died is
// recorded once (the primary key is order and kind). A real mailer would
// also pass that key to its provider as an idempotency key.
func (m *Mailer) send(ctx context.Context, orderID int64, kind, to, subject string) error {
	if strings.HasSuffix(to, UndeliverableDomain) {
		return signalrt.Permanent(fmt.Errorf("mail: %s rejected by the mail server: 550 no such domain", to))
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(SMTPDelay):
	}
	_, err := m.DB.Exec(ctx, `
		INSERT INTO mail_sent (order_id, kind, sender, recipient, subject) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (order_id, kind) DO NOTHING`, orderID, kind, m.From, to, subject)
	if err != nil {
		return fmt.Errorf("mail: recording the %s mail of order %d: %w", kind, orderID, err)
	}
	return nil
}
