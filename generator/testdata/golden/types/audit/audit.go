// Package audit has a second receiver type named Handler.
package audit

import (
	"context"

	"example.com/types/model"
)

// Handler has pointer methods.
type Handler struct{ n int }

// OnCount receives the implicit signal inventory.counted.
//
//signal:receiver inventory.counted name=audit.count
func (h *Handler) OnCount(ctx context.Context, warehouse string, levels map[int64]int) error {
	h.n++
	return nil
}

// Reset is not a receiver, but a pointer method: Table takes *Handler.
func (h *Handler) Reset() { h.n = 0 }

// OnCustomer has the name of a method of hooks.Handler, and receives two
// signals: the structs it decodes into get longer names (with the package,
// then with the signal).
//
//signal:receiver customer.updated name=audit.customer.updated
//signal:receiver customer.deleted name=audit.customer.deleted
func (h *Handler) OnCustomer(ctx context.Context, id model.ID) error { return nil }
