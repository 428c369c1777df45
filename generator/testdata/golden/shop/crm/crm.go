// Package crm keeps the contact list.
package crm

import (
	"context"
	"time"

	"example.com/shop/record"
)

// AddContact adds a new user to the contact list.
//
//signal:receiver user.signed_up
func AddContact(ctx context.Context, email string, signedUpAt time.Time) error {
	return record.Got("crm.AddContact email=%s signedUpAt=%s", email, signedUpAt.UTC().Format(time.RFC3339))
}
