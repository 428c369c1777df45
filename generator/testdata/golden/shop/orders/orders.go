// Package orders owns orders and their lines.
package orders

// Line is one ordered item.
type Line struct {
	SKU string `json:"sku"`
	Qty int    `json:"qty"`
}
