// Package token is internal to app: the dispatch package cannot import it.
package token

// Token is a credential.
type Token struct {
	Value string `json:"value"`
}
