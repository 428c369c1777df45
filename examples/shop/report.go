package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	signalrt "github.com/reliablesignals/signals/runtime"
)

// keyPrefix is the import path prefix of the shop's receiver keys, left out
// when they are shown.
const keyPrefix = "github.com/reliablesignals/signals/examples/shop/"

// receiverOrder lists the shop's receivers in the order the work flows,
// with a short column title for the per-order table. Receivers missing here
// come last, titled by their key.
var receiverOrder = []struct{ key, label string }{
	{"payments.capture", "capture"},
	{"mail.Mailer.SendOrderConfirmation", "confirm"},
	{"orders.MarkPaid", "paid"},
	{"shipping.ReserveStock", "stock"},
	{"mail.Mailer.SendReceipt", "receipt"},
	{"orders.MarkShipped", "shipped"},
	{"mail.Mailer.SendShippingNotice", "notice"},
}

// maxListed is how many retried or dead tasks are listed one by one.
const maxListed = 10

// short returns a receiver key without the shop's import path.
func short(key string) string { return strings.TrimPrefix(key, keyPrefix) }

// column is one receiver of the dispatch table.
type column struct {
	key, signal, queue, label string
}

// columns returns the receivers of the shop's dispatch table in the order
// the work flows.
func columns() []column {
	rank := func(key string) int {
		for i, r := range receiverOrder {
			if r.key == short(key) {
				return i
			}
		}
		return len(receiverOrder)
	}
	var cols []column
	for _, r := range table(nil) {
		label := short(r.Key)
		if i := rank(r.Key); i < len(receiverOrder) {
			label = receiverOrder[i].label
		}
		cols = append(cols, column{key: r.Key, signal: r.Signal, queue: r.Queue, label: label})
	}
	slices.SortStableFunc(cols, func(a, b column) int {
		if d := rank(a.key) - rank(b.key); d != 0 {
			return d
		}
		return strings.Compare(a.key, b.key)
	})
	return cols
}

// order is a row of the orders table.
type order struct {
	ID    int64
	Email string
}

// shopCounts counts what the receivers wrote to the shop's tables.
type shopCounts struct {
	Orders, Paid, Shipped, Payments, Reservations, Reserved, Taken, Shipments, Mails int64
}

// snapshot is the state of a shop schema: its tasks and its tables.
type snapshot struct {
	tasks  []signalrt.Task
	orders []order
	shop   shopCounts
}

// loadSnapshot reads every task and the shop's tables.
func loadSnapshot(ctx context.Context, pool *pgxpool.Pool) (*snapshot, error) {
	var s snapshot
	var err error
	if s.tasks, err = allTasks(ctx, pool); err != nil {
		return nil, err
	}
	rows, _ := pool.Query(ctx, `SELECT id, email FROM orders ORDER BY id`)
	if s.orders, err = pgx.CollectRows(rows, pgx.RowToStructByPos[order]); err != nil {
		return nil, fmt.Errorf("reading orders: %w", err)
	}
	c := &s.shop
	err = pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM orders),
		(SELECT count(*) FROM orders WHERE paid_at IS NOT NULL),
		(SELECT count(*) FROM orders WHERE shipped_at IS NOT NULL),
		(SELECT count(*) FROM payment),
		(SELECT count(*) FROM reservation),
		(SELECT coalesce(sum(qty), 0) FROM reservation),
		(SELECT coalesce(sum(received - on_hand), 0) FROM stock),
		(SELECT count(*) FROM shipment),
		(SELECT count(*) FROM mail_sent)`).Scan(
		&c.Orders, &c.Paid, &c.Shipped, &c.Payments, &c.Reservations, &c.Reserved, &c.Taken, &c.Shipments, &c.Mails)
	if err != nil {
		return nil, fmt.Errorf("counting the shop's rows: %w", err)
	}
	return &s, nil
}

// allTasks returns every task, whole (payload and error history), in id
// order: a page of ids at a time, then each task.
func allTasks(ctx context.Context, db signalrt.Executor) ([]signalrt.Task, error) {
	var all []signalrt.Task
	q := signalrt.TaskQuery{Limit: signalrt.MaxSearchLimit}
	for {
		page, err := signalrt.SearchTasks(ctx, db, q)
		if err != nil {
			return nil, err
		}
		for _, t := range page.Tasks {
			task, err := signalrt.GetTask(ctx, db, t.ID)
			if errors.Is(err, signalrt.ErrTaskNotFound) {
				continue // deleted since
			}
			if err != nil {
				return nil, err
			}
			all = append(all, task)
		}
		if page.Next == 0 {
			slices.Reverse(all)
			return all, nil
		}
		q.BeforeID = page.Next
	}
}

// orderOf returns the order id in a task's payload; every shop signal
// carries one.
func orderOf(t signalrt.Task) int64 {
	var p struct {
		OrderID int64 `json:"order_id"`
	}
	_ = json.Unmarshal(t.Payload, &p)
	return p.OrderID
}

// retried reports whether a finished task failed before it succeeded.
func retried(t signalrt.Task) bool {
	return t.State == signalrt.StateSucceeded && len(t.Errors) > 0
}

// cell describes one task in the per-order table.
func cell(t *signalrt.Task) string {
	switch {
	case t == nil:
		return "-"
	case t.State == signalrt.StateSucceeded && t.Attempt > 1:
		return fmt.Sprintf("ok/%d", t.Attempt)
	case t.State == signalrt.StateSucceeded:
		return "ok"
	case t.State == signalrt.StateDead:
		return "DEAD"
	case t.State == signalrt.StateAvailable && len(t.Errors) > 0:
		return "retry"
	case t.State == signalrt.StateAvailable:
		return "waiting"
	default:
		return string(t.State)
	}
}

// lastError returns the message of a task's last failed attempt.
func lastError(t signalrt.Task) string {
	if len(t.Errors) == 0 {
		return ""
	}
	return firstLine(t.Errors[len(t.Errors)-1].Error)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// print writes the report: tasks per receiver and state, the retried and
// the dead tasks, the receivers of the first perOrder orders (and of the
// rolled-back orders, which have none), and the shop's tables.
func (s *snapshot) print(w io.Writer, perOrder int, rolledBack []int64) {
	cols := columns()
	exists := map[int64]bool{}
	for _, o := range s.orders {
		exists[o.ID] = true
	}

	// Tasks per receiver and state.
	type tally struct{ succeeded, retried, dead, waiting, running int }
	byKey := map[string]*tally{}
	var total tally
	byOrder := map[int64]map[string]*signalrt.Task{}
	var orphans int
	for i := range s.tasks {
		t := &s.tasks[i]
		c := byKey[t.Receiver]
		if c == nil {
			c = &tally{}
			byKey[t.Receiver] = c
		}
		for _, x := range []*tally{c, &total} {
			switch t.State {
			case signalrt.StateSucceeded:
				x.succeeded++
				if retried(*t) {
					x.retried++
				}
			case signalrt.StateDead:
				x.dead++
			case signalrt.StateAvailable:
				x.waiting++
			case signalrt.StateRunning:
				x.running++
			}
		}
		id := orderOf(*t)
		if !exists[id] {
			orphans++
		}
		if byOrder[id] == nil {
			byOrder[id] = map[string]*signalrt.Task{}
		}
		byOrder[id][t.Receiver] = t
	}
	fmt.Fprintf(w, "Tasks: %d in all, %d succeeded (%d of them after a retry), %d dead, %d waiting, %d running.\n\n",
		len(s.tasks), total.succeeded, total.retried, total.dead, total.waiting, total.running)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  receiver\tsignal\tqueue\tsucceeded\tretried\tdead\twaiting\trunning")
	keys := make([]string, 0, len(cols))
	for _, c := range cols {
		keys = append(keys, c.key)
	}
	for k := range byKey {
		if !slices.Contains(keys, k) {
			keys = append(keys, k) // a key this binary does not know
		}
	}
	for _, k := range keys {
		c := byKey[k]
		if c == nil {
			c = &tally{}
		}
		sig, queue := "?", "?"
		for _, col := range cols {
			if col.key == k {
				sig, queue = col.signal, col.queue
			}
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\n", short(k), sig, queue, c.succeeded, c.retried, c.dead, c.waiting, c.running)
	}
	tw.Flush()
	fmt.Fprintln(w, "  (retried: succeeded after at least one failed attempt)")

	// Which receiver ran for which order.
	if perOrder > 0 && (len(s.orders) > 0 || len(rolledBack) > 0) {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Which receiver ran for which order (ok: succeeded; ok/2: succeeded on attempt 2;")
		fmt.Fprintln(w, "DEAD: gave up; retry: waiting to retry; -: no task):")
		ids := make([]int64, 0, len(s.orders)+len(rolledBack))
		emails := map[int64]string{}
		for _, o := range s.orders {
			ids = append(ids, o.ID)
			emails[o.ID] = o.Email
		}
		ids = append(ids, rolledBack...)
		slices.Sort(ids)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprint(tw, "  order\tcustomer")
		for _, c := range cols {
			fmt.Fprintf(tw, "\t%s", c.label)
		}
		fmt.Fprintln(tw)
		shown := 0
		for _, id := range ids {
			if shown == perOrder {
				break
			}
			shown++
			if !exists[id] {
				fmt.Fprintf(tw, "  %d\t(rolled back)", id)
			} else {
				fmt.Fprintf(tw, "  %d\t%s", id, emails[id])
			}
			for _, c := range cols {
				fmt.Fprintf(tw, "\t%s", cell(byOrder[id][c.key]))
			}
			fmt.Fprintln(tw)
		}
		tw.Flush()
		if len(ids) > shown {
			fmt.Fprintf(w, "  ... and %d more orders\n", len(ids)-shown)
		}
		fmt.Fprintln(w, "  Columns, by the signal the receiver listens to:")
		var bySignal []string // in order of first appearance
		legend := map[string][]string{}
		for _, c := range cols {
			if legend[c.signal] == nil {
				bySignal = append(bySignal, c.signal)
			}
			legend[c.signal] = append(legend[c.signal], fmt.Sprintf("%s = %s", c.label, short(c.key)))
		}
		for _, sig := range bySignal {
			fmt.Fprintf(w, "    %s: %s\n", sig, strings.Join(legend[sig], ", "))
		}
	}

	// Retried and dead tasks.
	var again, dead []signalrt.Task
	for _, t := range s.tasks {
		switch {
		case retried(t):
			again = append(again, t)
		case t.State == signalrt.StateDead:
			dead = append(dead, t)
		}
	}
	fmt.Fprintln(w)
	if len(again) == 0 {
		fmt.Fprintln(w, "Retried: none.")
	} else {
		fmt.Fprintf(w, "Retried: %d tasks failed, were retried after a backoff, and succeeded:\n", len(again))
		for i, t := range again {
			if i == maxListed {
				fmt.Fprintf(w, "  ... and %d more\n", len(again)-i)
				break
			}
			var fails []string
			for _, e := range t.Errors {
				fails = append(fails, fmt.Sprintf("attempt %d failed: %s", e.Attempt, firstLine(e.Error)))
			}
			fmt.Fprintf(w, "  %s for order %d: %s; attempt %d succeeded\n", short(t.Receiver), orderOf(t), strings.Join(fails, "; "), t.Attempt)
		}
	}
	if len(dead) == 0 {
		fmt.Fprintln(w, "Dead: none.")
	} else {
		fmt.Fprintf(w, "Dead: %d tasks gave up. They are kept with their error history; after a fix, signalrt.Retry runs them again:\n", len(dead))
		for i, t := range dead {
			if i == maxListed {
				fmt.Fprintf(w, "  ... and %d more\n", len(dead)-i)
				break
			}
			why := fmt.Sprintf("attempt %d of %d", t.Attempt, t.MaxAttempts)
			if t.Attempt < t.MaxAttempts {
				why += ", a permanent error: not retried"
			}
			fmt.Fprintf(w, "  %s for order %d: %s (%s)\n", short(t.Receiver), orderOf(t), lastError(t), why)
		}
	}
	if len(rolledBack) > 0 {
		fmt.Fprintf(w, "Rolled back: orders %s. ", joinIDs(rolledBack))
	}
	fmt.Fprintf(w, "Tasks for an order that does not exist: %d.\n", orphans)

	c := s.shop
	fmt.Fprintln(w)
	fmt.Fprintln(w, "What the receivers wrote to the shop's own tables:")
	fmt.Fprintf(w, "  orders %d (paid %d, shipped %d), payments %d, shipments %d, mails sent %d\n",
		c.Orders, c.Paid, c.Shipped, c.Payments, c.Shipments, c.Mails)
	fmt.Fprintf(w, "  stock: %d lines reserved, %d units; %d units taken from stock", c.Reservations, c.Reserved, c.Taken)
	if c.Reserved == c.Taken {
		fmt.Fprintln(w, " (equal: no reservation was taken twice)")
	} else {
		fmt.Fprintln(w, " (NOT equal: some stock was taken twice)")
	}
}

// joinIDs formats ids as "3, 5 and 8".
func joinIDs(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = fmt.Sprint(id)
	}
	if len(s) > maxListed {
		s = append(s[:maxListed], fmt.Sprintf("%d more", len(ids)-maxListed))
	}
	if len(s) == 1 {
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}
