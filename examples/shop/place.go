package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reliablesignals/signals/examples/shop/orders"
)

// customers place the demo's orders in turn. The last one's address is in
// a domain the mail server rejects, so every mail to it ends dead.
var customers = []string{
	"ann@example.com", "bob@example.com", "chen@example.com", "dana@example.com",
	"eli@example.com", "fay@example.com", "gus@example.com", "hana@example.com",
	"ivan@example.com", "jo@example.com", "kim@example.com", "zed@shop.invalid",
}

// catalog is what the shop sells, in cents; shipping stocks the same SKUs.
var catalog = []orders.Line{
	{SKU: "cup", UnitCents: 450},
	{SKU: "kettle", UnitCents: 3900},
	{SKU: "spoon", UnitCents: 250},
	{SKU: "tea", UnitCents: 1200},
	{SKU: "tray", UnitCents: 1500},
}

// expiredCoupon is the coupon that makes a checkout roll back.
const expiredCoupon = "SPRING23"

// demoOrder returns the i-th order (from 0) of a run that rolls back every
// rollbackEvery-th one (none when 0), and whether it will roll back. The
// orders differ in customer, lines and coupon, deterministically.
func demoOrder(i, rollbackEvery int) (orders.NewOrder, bool) {
	o := orders.NewOrder{Email: customers[i%len(customers)]}
	for k := range 1 + i%3 {
		l := catalog[(i+2*k)%len(catalog)]
		l.Qty = 1 + (i+k)%3
		o.Lines = append(o.Lines, l)
	}
	rollback := rollbackEvery > 0 && (i+1)%rollbackEvery == 0
	switch {
	case rollback:
		o.Coupon = expiredCoupon
	case i%4 == 1:
		o.Coupon = "WELCOME"
	}
	return o, rollback
}

// placeOrders places n demo orders, parallel at a time, and returns the ids
// of the orders that committed and of those that rolled back (sorted). A
// rollback is expected for every rollbackEvery-th order; any other failure
// stops the run.
func placeOrders(ctx context.Context, pool *pgxpool.Pool, n, rollbackEvery, parallel int) (committed, rolledBack []int64, err error) {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	next := make(chan int)
	for range max(parallel, 1) {
		wg.Go(func() {
			for i := range next {
				o, wantRollback := demoOrder(i, rollbackEvery)
				id, err := orders.Place(ctx, pool, o)
				mu.Lock()
				switch {
				case err == nil && !wantRollback:
					committed = append(committed, id)
				case errors.Is(err, orders.ErrCouponExpired) && wantRollback:
					rolledBack = append(rolledBack, id)
				case err == nil:
					errs = append(errs, fmt.Errorf("order %d with coupon %s committed; it should have rolled back", id, o.Coupon))
				default:
					errs = append(errs, err)
				}
				mu.Unlock()
			}
		})
	}
	for i := range n {
		mu.Lock()
		failed := len(errs) > 0
		mu.Unlock()
		if failed || ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if len(errs) == 0 && ctx.Err() != nil {
		errs = append(errs, ctx.Err())
	}
	slices.Sort(committed)
	slices.Sort(rolledBack)
	return committed, rolledBack, errors.Join(errs...)
}
