// Package audit has a second receiver type named Handler.
package audit

import "context"

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
