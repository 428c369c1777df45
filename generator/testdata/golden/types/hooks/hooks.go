// Package hooks receives the signals.
package hooks

import (
	"context"
	"time"

	appctx "example.com/types/context"
	"example.com/types/model"
	v2 "example.com/types/v2/model"
)

// Handler is a value receiver; a type of the same name lives in package
// audit.
type Handler struct{ Name string }

// OnCustomer takes a subset of customer.updated.
//
//signal:receiver customer.updated
func (h Handler) OnCustomer(ctx context.Context, customer model.Customer, before *model.Customer, at time.Time) error {
	return nil
}

// Index takes generic, alias and text-keyed map arguments.
//
//signal:receiver customer.updated queue=search
func Index(ctx context.Context, id model.ID, tags model.Tags, page model.Page[v2.Item], counts map[model.Key]int, httpURL string) error {
	return nil
}

// tagList is an unexported alias: generated code writes what it stands for.
type tagList = model.Tags

// Count receives an implicit signal whose payload has an anonymous
// struct, an array, and a map with integer keys.
//
//signal:receiver inventory.counted
func Count(ctx context.Context, warehouse string, levels map[int64]int, at time.Time, meta struct {
	Source string `json:"source"`
}, window [2]time.Time, labels tagList, trace appctx.Trace) error {
	return nil
}

// Model has a name that the dispatch table cannot use for its parameter
// (the model package is imported there).
type Model struct{}

// Beat receives a signal without arguments.
//
//signal:receiver heartbeat attempts=1 timeout=250ms
func (m *Model) Beat(ctx context.Context) error { return nil }
