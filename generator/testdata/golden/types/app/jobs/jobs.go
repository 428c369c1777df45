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

// Keeper keeps tokens: its methods receive a type that the dispatch
// package cannot name.
type Keeper struct{ n int }

// Keep has a pointer receiver.
//
//signal:receiver app.token_issued
func (k *Keeper) Keep(ctx context.Context, tok token.Token) error {
	k.n++
	return nil
}

// Check has a value receiver: Table takes a *Keeper, whose method set has
// it too.
//
//signal:receiver app.token_issued
func (k Keeper) Check(ctx context.Context, user string, tok token.Token) error { return nil }

// Auditor has only value methods: Table takes an Auditor.
type Auditor struct{}

// Audit receives a type that the dispatch package cannot name, on a value.
//
//signal:receiver app.token_issued
func (Auditor) Audit(ctx context.Context, tok token.Token) error { return nil }
