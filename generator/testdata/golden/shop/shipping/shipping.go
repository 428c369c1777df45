// Package shipping reserves stock for paid orders.
package shipping

import (
	"context"

	"example.com/shop/orders"
	"example.com/shop/record"
)

// ReserveStock holds the ordered items once the payment went through.
//
//signal:receiver payment_process_completed queue=warehouse attempts=10 timeout=30s priority=5 concurrency=4 rate=50/s burst=10
func ReserveStock(ctx context.Context, orderID int64, lines []orders.Line) error {
	return record.Got("shipping.ReserveStock orderID=%d lines=%v", orderID, lines)
}
