// Package shipping runs the warehouse: it reserves stock for paid orders and
// opens their shipments.
package shipping

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	signalrt "github.com/reliablesignals/signals/runtime"

	"github.com/reliablesignals/signals/examples/shop/orders"
	"github.com/reliablesignals/signals/examples/shop/shopdb"
	"github.com/reliablesignals/signals/examples/shop/signals"
)

// Schema creates the module's tables (stock, reservation, shipment) if they
// do not exist, with plenty of stock.
//
//go:embed schema.sql
var Schema string

// StocktakeEvery selects the orders whose first reservation attempt fails
// in this demo: those whose id is a multiple of it. See [ReserveStock].
const StocktakeEvery = 7

// ErrStocktake is the transient failure of [ReserveStock].
var ErrStocktake = errors.New("warehouse: stock rows locked by the stocktake; try again later")

// ScanDelay is how long the warehouse scanner takes per order: ReserveStock
// waits this long before it writes, like a receiver that calls another
// system. It keeps some tasks in flight at any time, which the end-to-end
// test needs to kill a worker mid-task.
const ScanDelay = 5 * time.Millisecond

// ReserveStock holds the ordered items once the payment went through, and
// opens the order's shipment, which it announces with shipment_created: a
// signal that no package declares, so its sender is generated into the
// shop's signals package.
//
// It fails transiently, deterministically, to show retries: the first
// attempt for every order whose id is a multiple of [StocktakeEvery] returns
// [ErrStocktake], and the worker retries it after its backoff.
//
// At least once: a reservation row per order and SKU, inserted before the
// stock is taken, makes a second run take nothing; the shipment row does the
// same for the signal. Stock rows are updated in SKU order, so that two
// reservations never deadlock.
//
//signal:receiver payment_process_completed queue=warehouse attempts=10 timeout=30s
func ReserveStock(ctx context.Context, orderID int64, email string, lines []orders.Line) error {
	if t, ok := signalrt.TaskFromContext(ctx); ok && t.Attempt == 1 && orderID%StocktakeEvery == 0 {
		return ErrStocktake
	}
	db, err := shopdb.From(ctx)
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(ScanDelay):
	}
	lines = slices.Clone(lines)
	slices.SortFunc(lines, func(a, b orders.Line) int { return strings.Compare(a.SKU, b.SKU) })
	return pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		for _, l := range lines {
			tag, err := tx.Exec(ctx, `
				INSERT INTO reservation (order_id, sku, qty) VALUES ($1, $2, $3)
				ON CONFLICT (order_id, sku) DO NOTHING`, orderID, l.SKU, l.Qty)
			if err != nil {
				return fmt.Errorf("shipping: reserving %s for order %d: %w", l.SKU, orderID, err)
			}
			if tag.RowsAffected() == 0 {
				continue // reserved by an earlier run
			}
			if _, err := tx.Exec(ctx, `UPDATE stock SET on_hand = on_hand - $2 WHERE sku = $1`, l.SKU, l.Qty); err != nil {
				return fmt.Errorf("shipping: taking %d %s from stock for order %d: %w", l.Qty, l.SKU, orderID, err)
			}
		}
		tracking := TrackingNumber(orderID)
		tag, err := tx.Exec(ctx, `
			INSERT INTO shipment (order_id, tracking_number) VALUES ($1, $2)
			ON CONFLICT (order_id) DO NOTHING`, orderID, tracking)
		if err != nil {
			return fmt.Errorf("shipping: opening the shipment of order %d: %w", orderID, err)
		}
		if tag.RowsAffected() == 0 {
			return nil // opened and announced by an earlier run
		}
		return signals.SendShipmentCreated(ctx, tx, signals.ShipmentCreatedPayload{
			OrderID: orderID, Email: email, TrackingNumber: tracking,
		})
	})
}

// TrackingNumber is the tracking number of the order's shipment.
func TrackingNumber(orderID int64) string {
	return fmt.Sprintf("TRK-%07d", orderID)
}
