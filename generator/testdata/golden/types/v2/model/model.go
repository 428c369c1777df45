// Package model is a second package named model: generated code imports it
// under another name.
package model

// Item is a catalogue item.
type Item struct {
	Name string `json:"name"`
}
