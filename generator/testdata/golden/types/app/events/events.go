// Package events declares a signal whose argument type is internal to app.
package events

import "example.com/types/app/internal/token"

// Issued is sent when a token is issued.
//
//signal:define app.token_issued
type Issued func(user string, tok token.Token)
