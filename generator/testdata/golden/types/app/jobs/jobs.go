// Package jobs receives app's signals.
package jobs

import (
	"context"

	"example.com/types/app/internal/token"
)

// Store receives a type that the dispatch package cannot name: its
// signature is not asserted there, but the call still type-checks.
//
//signal:receiver app.token_issued
func Store(ctx context.Context, tok token.Token, user string) error { return nil }
