// Package model has the types the signals carry.
package model

import (
	"fmt"
	"strings"
)

// ID identifies a customer.
type ID int64

// Status is a customer's state.
type Status string

// Tags is an exported alias.
type Tags = []string

// Point is a place on earth.
type Point struct {
	Lat, Lng float64
}

// Address is nested in Customer.
type Address struct {
	Street string
	City   string
	Geo    *Point `json:"geo,omitempty"`
}

// Money is an amount in a currency.
type Money struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

// Customer has nested structs, slices and maps, and an unexported field
// that encoding/json ignores.
type Customer struct {
	ID        ID                 `json:"id"`
	Name      string             `json:"name"`
	Addresses []Address          `json:"addresses"`
	Balances  map[string]Money   `json:"balances"`
	Status    Status             `json:"status"`
	cache     map[string]float64 // not encoded
}

// Page is a generic type.
type Page[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next"`
}

// Key is a map key that encodes itself as text.
type Key struct{ Region, Code string }

// MarshalText implements encoding.TextMarshaler.
func (k Key) MarshalText() ([]byte, error) { return []byte(k.Region + "/" + k.Code), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *Key) UnmarshalText(b []byte) error {
	r, c, ok := strings.Cut(string(b), "/")
	if !ok {
		return fmt.Errorf("key %q has no /", b)
	}
	k.Region, k.Code = r, c
	return nil
}
