// Package mail sends e-mail.
package mail

import (
	"context"

	"example.com/shop/record"
)

// Mailer sends e-mail from one address.
type Mailer struct {
	From string
}

// SendReceipt mails the receipt of a paid order.
//
//signal:receiver payment_process_completed
func (m *Mailer) SendReceipt(ctx context.Context, orderID int64, email string) error {
	return record.Got("mail.Mailer.SendReceipt from=%s orderID=%d email=%s", m.From, orderID, email)
}

// Welcome greets a new user. No package declares user.signed_up: its
// sender is generated into the signals package.
//
//signal:receiver user.signed_up queue=mail timeout=1m30s
func (m *Mailer) Welcome(ctx context.Context, userID int64, email string) error {
	return record.Got("mail.Mailer.Welcome from=%s userID=%d email=%s", m.From, userID, email)
}
