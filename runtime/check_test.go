package signalrt_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/reliablesignals/signals/internal/pgtest"
	signalrt "github.com/reliablesignals/signals/runtime"
)

// TestCheckTasks queues tasks with an older payload shape (order_id a
// number) and checks them against a table whose payload changed (order_id
// a string) and that lost a receiver: the check counts, per receiver and
// state, the tasks that would fail, and why, without running anything.
func TestCheckTasks(t *testing.T) {
	pool := setup(t)
	ctx := context.Background()
	type oldPayload struct {
		OrderID int64 `json:"order_id"`
	}
	type newPayload struct {
		OrderID string `json:"order_id"`
	}
	type keptPayload struct {
		OrderID int64 `json:"order_id"`
	}
	sendAs := func(p any, keys ...string) {
		t.Helper()
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			return signalrt.Send(ctx, tx, "order_placed", routes(keys...), p)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		sendAs(oldPayload{OrderID: int64(i + 1)}, "ship", "mail", "gone")
	}
	sendAs(newPayload{OrderID: "A-4"}, "ship")
	// One old task of ship is dead, one of mail succeeded (not checked).
	pgtest.Exec(t, pool, "UPDATE signal_task SET state = 'dead', finished_at = now() WHERE id = (SELECT min(id) FROM signal_task WHERE receiver = 'ship')")
	pgtest.Exec(t, pool, "UPDATE signal_task SET state = 'succeeded', finished_at = now() WHERE id = (SELECT min(id) FROM signal_task WHERE receiver = 'mail')")

	never := func(ctx context.Context, p any) error { t.Error("the check ran a receiver"); return nil }
	table := signalrt.Table{
		{Key: "ship", Signal: "order_placed", Queue: signalrt.DefaultQueue,
			Handle: signalrt.Typed(func(ctx context.Context, p newPayload) error { return never(ctx, p) }),
			Decode: signalrt.DecodeAs[newPayload]},
		{Key: "mail", Signal: "order_placed", Queue: signalrt.DefaultQueue,
			Handle: signalrt.Typed(func(ctx context.Context, p keptPayload) error { return never(ctx, p) }),
			Decode: signalrt.DecodeAs[keptPayload]},
	}
	rep, err := signalrt.CheckTasks(ctx, pool, table, 0)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Tasks != 9 || rep.Decoded != 6 || rep.Sampled {
		t.Errorf("tasks %d, decoded %d, sampled %v; want 9, 6, false", rep.Tasks, rep.Decoded, rep.Sampled)
	}
	if len(rep.Failures) != 2 {
		t.Fatalf("failures: %+v", rep.Failures)
	}
	gone, ship := rep.Failures[0], rep.Failures[1]
	if gone.Receiver != "gone" || gone.Available != 3 || !strings.HasPrefix(gone.Reason, "unknown receiver") {
		t.Errorf("first failure %+v, want 3 available tasks of receiver gone, unknown", gone)
	}
	if ship.Receiver != "ship" || ship.Available != 2 || ship.Dead != 1 || ship.Example == 0 ||
		!strings.Contains(ship.Reason, "payload does not decode into signalrt_test.newPayload: json: cannot unmarshal number into Go struct field newPayload.order_id of type string") {
		t.Errorf("second failure %+v, want 2 available and 1 dead task of ship that do not decode", ship)
	}
	if rep.Failed() != 6 {
		t.Errorf("Failed() = %d, want 6", rep.Failed())
	}
	var out strings.Builder
	if err := rep.Write(&out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "would fail: signal order_placed, receiver gone: 3 available, 0 running, 0 dead: unknown receiver") || !strings.HasSuffix(out.String(), "6 tasks would fail\n") {
		t.Errorf("report:\n%s", out.String())
	}

	// A limit makes it a sample, and says so.
	rep, err = signalrt.CheckTasks(ctx, pool, table, 2)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Decoded != 2 || !rep.Sampled {
		t.Errorf("with limit 2: decoded %d, sampled %v; want 2, true", rep.Decoded, rep.Sampled)
	}

	// A receiver without a Decode function (a hand-built table) is named,
	// not checked.
	bare := append(signalrt.Table(nil), table...)
	bare[1].Decode = nil
	rep, err = signalrt.CheckTasks(ctx, pool, bare, 0)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Decoded != 4 || len(rep.Unchecked) != 1 || rep.Unchecked[0] != "mail" {
		t.Errorf("without mail's Decode: decoded %d, unchecked %v; want 4, [mail]", rep.Decoded, rep.Unchecked)
	}

	// Nothing changed: the check ran no receiver.
	available := states(t, pool)[signalrt.StateAvailable]
	if available != 8 {
		t.Errorf("available tasks after the check: %d, want 8", available)
	}
}

// TestCheckTasksSeesPendingSends: the tasks of a send made in BeginFunc
// that no worker has fanned out yet are checked as available tasks.
func TestCheckTasksSeesPendingSends(t *testing.T) {
	pool := setup(t)
	ctx := context.Background()
	type oldPayload struct {
		OrderID int64 `json:"order_id"`
	}
	type newPayload struct {
		OrderID string `json:"order_id"`
	}
	for i := range 3 {
		if err := signalrt.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			return signalrt.Send(ctx, tx, "order_placed", routes("ship", "gone", "other"), oldPayload{OrderID: int64(i)})
		}); err != nil {
			t.Fatal(err)
		}
	}
	table := signalrt.Table{
		{Key: "ship", Signal: "order_placed", Queue: signalrt.DefaultQueue,
			Handle: signalrt.Typed(func(context.Context, newPayload) error { return nil }), Decode: signalrt.DecodeAs[newPayload]},
		{Key: "other", Signal: "order_placed", Queue: signalrt.DefaultQueue,
			Handle: signalrt.Typed(func(context.Context, oldPayload) error { return nil }), Decode: signalrt.DecodeAs[oldPayload]},
	}
	rep, err := signalrt.CheckTasks(ctx, pool, table, 0)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Tasks != 9 || rep.Decoded != 6 || rep.Sampled || len(rep.Failures) != 2 {
		t.Fatalf("report %+v; want 9 tasks, 6 decoded, not sampled, 2 failures", rep)
	}
	gone, ship := rep.Failures[0], rep.Failures[1]
	if gone.Receiver != "gone" || gone.Available != 3 || !strings.HasPrefix(gone.Reason, "unknown receiver") {
		t.Errorf("first failure %+v, want 3 available tasks of receiver gone, unknown", gone)
	}
	if ship.Receiver != "ship" || ship.Available != 3 || !strings.Contains(ship.Reason, "cannot unmarshal number") {
		t.Errorf("second failure %+v, want 3 available tasks of ship that do not decode", ship)
	}
	if rep, err := signalrt.CheckTasks(ctx, pool, table, 4); err != nil || rep.Decoded != 4 || !rep.Sampled {
		t.Errorf("with limit 4: %+v, %v; want 4 decoded, sampled", rep, err)
	}
	if n := queryInt(t, pool, "SELECT count(*) FROM signal_send"); n != 3 {
		t.Errorf("%d sends after the check; want the 3, untouched", n)
	}
}
