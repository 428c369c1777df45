// Package orders takes orders and owns the order_placed signal.
//
// [Place] writes an order and sends order_placed in one transaction: the
// signal exists exactly when the order does. The package also keeps each
// order's progress up to date by receiving what other modules announce
// ([MarkPaid], [MarkShipped]) without importing them.
package orders

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/reliablesignals/signals/examples/shop/shopdb"
)

// Schema creates the module's tables (orders, order_line, coupon) if they do
// not exist, and the coupons the demo uses.
//
//go:embed schema.sql
var Schema string

// Line is one ordered item.
type Line struct {
	SKU       string `json:"sku"`        // what
	Qty       int    `json:"qty"`        // how many
	UnitCents int64  `json:"unit_cents"` // price of one, in cents
}

// OrderPlaced is sent once an order is stored.
//
//signal:define
type OrderPlaced func(orderID int64, email string, lines []Line, totalCents int64)

// NewOrder is what a customer checks out.
type NewOrder struct {
	Email  string // the customer's address
	Lines  []Line // at least one
	Coupon string // optional; an expired one fails the checkout
}

// ErrCouponExpired is returned by [Place] for an order with a coupon past
// its expiry date.
var ErrCouponExpired = errors.New("coupon expired")

// Beginner starts a transaction: a *pgxpool.Pool, a *pgx.Conn, or a pgx.Tx
// (which starts a savepoint).
type Beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Place stores an order and sends order_placed, in one transaction.
//
// The coupon is applied last, after the signal was sent: when it has
// expired, Place returns an error wrapping [ErrCouponExpired] and the whole
// transaction rolls back. The order and its order_placed tasks then never
// existed, so no receiver ever hears of it. Even then Place returns the id
// the order had inside the rolled-back transaction (never used again), so
// callers can log it.
func Place(ctx context.Context, db Beginner, o NewOrder) (int64, error) {
	if len(o.Lines) == 0 {
		return 0, errors.New("orders: an order needs at least one line")
	}
	lines := slices.Clone(o.Lines)
	slices.SortFunc(lines, func(a, b Line) int { return strings.Compare(a.SKU, b.SKU) })
	var total int64
	for _, l := range lines {
		total += int64(l.Qty) * l.UnitCents
	}
	var id int64
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx,
			`INSERT INTO orders (email, total_cents) VALUES ($1, $2) RETURNING id`,
			o.Email, total).Scan(&id); err != nil {
			return fmt.Errorf("storing order: %w", err)
		}
		for _, l := range lines {
			if _, err := tx.Exec(ctx,
				`INSERT INTO order_line (order_id, sku, qty, unit_cents) VALUES ($1, $2, $3, $4)`,
				id, l.SKU, l.Qty, l.UnitCents); err != nil {
				return fmt.Errorf("storing order line %s: %w", l.SKU, err)
			}
		}
		// The signal's tasks are rows in this same transaction.
		if err := SendOrderPlaced(ctx, tx, OrderPlacedPayload{OrderID: id, Email: o.Email, Lines: lines, TotalCents: total}); err != nil {
			return err
		}
		if o.Coupon == "" {
			return nil
		}
		return applyCoupon(ctx, tx, id, o.Coupon)
	})
	if err != nil {
		return id, fmt.Errorf("orders: placing order %d for %s: %w", id, o.Email, err)
	}
	return id, nil
}

func applyCoupon(ctx context.Context, tx pgx.Tx, orderID int64, code string) error {
	var expires time.Time
	if err := tx.QueryRow(ctx, `SELECT expires_at FROM coupon WHERE code = $1`, code).Scan(&expires); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("unknown coupon %q", code)
		}
		return err
	}
	if time.Now().After(expires) {
		return fmt.Errorf("coupon %s: %w on %s", code, ErrCouponExpired, expires.Format(time.DateOnly))
	}
	_, err := tx.Exec(ctx, `UPDATE orders SET coupon = $2 WHERE id = $1`, orderID, code)
	return err
}

// MarkPaid records that the order's payment went through. Running it twice
// changes nothing: the first time stays.
//
//signal:receiver payment_process_completed
func MarkPaid(ctx context.Context, orderID int64) error {
	return mark(ctx, orderID, `UPDATE orders SET paid_at = coalesce(paid_at, now()) WHERE id = $1`)
}

// MarkShipped records the order's tracking number once its shipment exists.
// Running it twice changes nothing.
//
//signal:receiver shipment_created
func MarkShipped(ctx context.Context, orderID int64, trackingNumber string) error {
	return mark(ctx, orderID,
		`UPDATE orders SET shipped_at = coalesce(shipped_at, now()), tracking_number = $2 WHERE id = $1`,
		trackingNumber)
}

func mark(ctx context.Context, orderID int64, sql string, args ...any) error {
	db, err := shopdb.From(ctx)
	if err != nil {
		return err
	}
	tag, err := db.Exec(ctx, sql, append([]any{orderID}, args...)...)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		// Signals are sent only by committed transactions, so this is a bug.
		return fmt.Errorf("orders: no order %d", orderID)
	}
	return nil
}
