// Package context has the name of a standard package.
package context

// Trace identifies a request.
type Trace struct {
	ID string `json:"id"`
}
