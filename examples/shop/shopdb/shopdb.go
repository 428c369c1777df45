// Package shopdb hands the shop's database to function receivers.
//
// A method receiver holds its dependencies in its struct (see
// [github.com/reliablesignals/signals/examples/shop/mail.Mailer]). A plain
// function receiver has no struct, so the worker's program puts the pool into
// the context it runs the worker with, and the function takes it from the
// context of each call with [From]. The runtime runs receivers on a context
// derived from the one given to Worker.Run, so the value reaches them.
package shopdb

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5/pgxpool"
	signalrt "github.com/reliablesignals/signals/runtime"
)

type key struct{}

// With returns a copy of ctx that carries pool.
func With(ctx context.Context, pool *pgxpool.Pool) context.Context {
	return context.WithValue(ctx, key{}, pool)
}

// From returns the pool that [With] put into ctx. Without one it returns a
// permanent error: retrying cannot fix a worker that was started without its
// database, so the task ends dead and says why.
func From(ctx context.Context) (*pgxpool.Pool, error) {
	if pool, ok := ctx.Value(key{}).(*pgxpool.Pool); ok && pool != nil {
		return pool, nil
	}
	return nil, signalrt.Permanent(errors.New("shopdb: no database in the receiver's context; run the worker with shopdb.With(ctx, pool)"))
}
