// Package events declares a signal with many kinds of argument types.
package events

import (
	"encoding/json"
	"time"

	"example.com/types/model"
	v2 "example.com/types/v2/model"
)

// CustomerUpdated is sent when a customer changes.
//
//signal:define customer.updated
type CustomerUpdated func(
	id model.ID,
	customer model.Customer,
	before *model.Customer,
	tags model.Tags,
	at time.Time,
	changes map[string][]string,
	page model.Page[v2.Item],
	counts map[model.Key]int,
	digest [16]byte,
	raw json.RawMessage,
	note *string,
	httpURL string,
)
