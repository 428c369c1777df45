package main

import (
	"errors"
	"testing"

	"github.com/reliablesignals/signals/examples/shop/orders"
	"github.com/reliablesignals/signals/examples/shop/payments"
	"github.com/reliablesignals/signals/examples/shop/shopdb"
	"github.com/reliablesignals/signals/examples/shop/signals"
	"github.com/reliablesignals/signals/runtime/signaltest"
)

// TestAnOrderRunsItsChain tests the shop as a user of the toolkit would
// test their own: an order sends order_placed in its transaction (and a
// rolled-back one sends nothing); running the receivers pays, ships and
// mails it, each step sending the next signal.
func TestAnOrderRunsItsChain(t *testing.T) {
	t.Parallel()
	db := signaltest.NewDB(t)
	ctx := shopdb.With(t.Context(), db.Pool) // the function receivers' database
	if err := migrate(ctx, db.Pool, db.Schema); err != nil {
		t.Fatal(err)
	}
	tea := []orders.Line{{SKU: "tea", Qty: 2, UnitCents: 1200}}
	id, err := orders.Place(ctx, db.Pool, orders.NewOrder{Email: "ann@example.com", Lines: tea})
	if err != nil {
		t.Fatal(err)
	}
	_, err = orders.Place(ctx, db.Pool, orders.NewOrder{Email: "bob@example.com", Lines: tea, Coupon: expiredCoupon})
	if !errors.Is(err, orders.ErrCouponExpired) {
		t.Fatalf("an order with an expired coupon: %v; want it rolled back", err)
	}
	placed := signaltest.RequireSent[orders.OrderPlacedPayload](t, db.Pool)
	if len(placed) != 1 || placed[0].OrderID != id || placed[0].TotalCents != 2400 {
		t.Fatalf("order_placed sent %+v; want once, for order %d of 2400 cents (the rolled-back one sends nothing)", placed, id)
	}
	signaltest.RequireNotSent[payments.PaymentProcessCompletedPayload](t, db.Pool)

	stats := signaltest.RunContext(ctx, t, db.Pool, table(db.Pool))
	if stats.Succeeded != 7 || stats.Dead != 0 {
		t.Errorf("ran %+v; want the chain's 7 receivers to succeed", stats)
	}
	var paid, shipped bool
	if err := db.Pool.QueryRow(ctx, "SELECT paid_at IS NOT NULL, shipped_at IS NOT NULL FROM orders WHERE id = $1", id).Scan(&paid, &shipped); err != nil || !paid || !shipped {
		t.Errorf("order %d: paid %v, shipped %v (%v); want both", id, paid, shipped, err)
	}
	var mails int
	if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM mail_sent").Scan(&mails); err != nil || mails != 3 {
		t.Errorf("%d mails sent (%v); want the confirmation, the receipt and the shipping notice", mails, err)
	}
	_ = signals.ShipmentCreatedPayload{} // the implicit signal's payload, generated into ./signals
}
