package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/reliablesignals/signals/internal/pgtest"
)

// TestDemoTrace runs the demo with -trace and checks that each order's trace
// is printed as a tree: the send, its receivers' attempts, the signals they
// sent and their receivers' attempts, the failed attempt with its error.
func TestDemoTrace(t *testing.T) {
	schema, _ := pgtest.Schema(t)
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if code := run(ctx, []string{"-schema", schema, "-trace", "-orders", "5", "-rollback-every", "0"}, testEnv(pgtest.URL()), &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{
		"4. Each order's trace",
		"\n   trace 5 (",
		"\n     send order_placed → 2 receivers (",
		"\n       process order_placed: payments.capture, attempt 1: succeeded (",
		"\n         send payment_process_completed → 3 receivers (",
		"\n           process payment_process_completed: shipping.ReserveStock, attempt 1: succeeded (",
		"\n             send shipment_created → 2 receivers (",
		"\n               process shipment_created: orders.MarkShipped, attempt 1: succeeded (",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out, "\n   trace 6 (") {
		t.Error("more traces than orders")
	}
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}
}
