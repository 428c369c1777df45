package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/reliablesignals/signals/internal/pgtest"
	signalrt "github.com/reliablesignals/signals/runtime"
)

// TestCheckMode queues tasks as an older version of the shop would have:
// a payment_process_completed whose order_id was a string, and a task of a
// receiver key this version no longer has. The check mode reports both
// and exits 1; on a clean queue it exits 0.
func TestCheckMode(t *testing.T) {
	t.Parallel()
	schema, url := pgtest.Schema(t)
	pool := pgtest.PoolFor(t, url)
	ctx := context.Background()
	check := func() (int, string) {
		var stdout, stderr bytes.Buffer
		code := run(ctx, []string{"check", "-schema", schema}, testEnv(pgtest.URL()), &stdout, &stderr)
		return code, stdout.String() + stderr.String()
	}
	if code, out := check(); code != 0 || !strings.Contains(out, "no task would fail") {
		t.Fatalf("empty queue: exit %d\n%s", code, out)
	}

	const reserve = "github.com/reliablesignals/signals/examples/shop/shipping.ReserveStock"
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		old := map[string]any{"order_id": "A-1", "email": "ann@example.com", "lines": []any{}}
		if err := signalrt.Send(ctx, tx, "payment_process_completed", []signalrt.Route{{Receiver: reserve}}, old); err != nil {
			return err
		}
		current := map[string]any{"order_id": 2, "email": "bob@example.com"}
		return signalrt.Send(ctx, tx, "payment_process_completed", []signalrt.Route{{Receiver: reserve}, {Receiver: "shipping.Reserve"}}, current)
	})
	if err != nil {
		t.Fatal(err)
	}
	code, out := check()
	for _, want := range []string{
		"checked 3 queued tasks (available, running or dead), 2 payloads decoded\n",
		"would fail: signal payment_process_completed, receiver " + reserve + ": 1 available, 0 running, 0 dead: payload does not decode into dispatch.reserveStockArgs: json: cannot unmarshal string into Go struct field reserveStockArgs.order_id of type int64 (e.g. task ",
		"would fail: signal payment_process_completed, receiver shipping.Reserve: 1 available, 0 running, 0 dead: unknown receiver: the key is not in this binary's dispatch table\n",
		"shop: check: 2 queued tasks would fail with this binary; do not deploy it\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if code != 1 || t.Failed() {
		t.Fatalf("exit %d, want 1; output:\n%s", code, out)
	}
}
