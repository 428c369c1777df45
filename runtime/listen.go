package signalrt

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// listen holds a LISTEN connection of its own (outside the pool), wakes
// the queue named by each notification on signal_task and the fan-out on
// signal_send (sends made in BeginFunc), and cancels the
// receivers of the tasks named on signal_cancel (see Cancel). When the connection breaks it
// reconnects with backoff; meanwhile the queues keep polling.
func (w *Worker) listen(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := w.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		w.log.Warn("LISTEN connection lost; polling until it is back", "err", err, "retry_in", backoff)
		sleep(ctx, backoff)
		backoff = min(backoff*2, 5*time.Second)
	}
}

func (w *Worker) listenOnce(ctx context.Context) error {
	conn, err := pgx.ConnectConfig(ctx, w.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := queries.Listen(ctx, conn); err != nil {
		return err
	}
	if err := queries.ListenCancel(ctx, conn); err != nil {
		return err
	}
	if err := queries.ListenSends(ctx, conn); err != nil {
		return err
	}
	// Notifications name the schema of the table they are about: workers
	// of several schemas can share a database without waking each other.
	schema, err := queries.TaskSchema(ctx, conn)
	if err != nil {
		return err
	}
	prefix := schema + "."
	// Notifications sent while no connection listened are gone: look.
	for _, q := range w.queues {
		signal(q.wake)
	}
	signal(w.sendsWake)
	// So are cancels: look whether the tasks this worker runs still exist
	// (as the heartbeat does, but now). A cancel from here on is heard.
	w.extendLeases(ctx, time.Now())
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if n.Channel == "signal_send" {
			if n.Payload == schema {
				signal(w.sendsWake)
			}
			continue
		}
		rest, ok := strings.CutPrefix(n.Payload, prefix)
		if !ok {
			continue // another schema's
		}
		if n.Channel == "signal_cancel" {
			if id, err := strconv.ParseInt(rest, 10, 64); err == nil {
				w.cancelRunning([]int64{id})
			}
			continue
		}
		if q := w.byName[rest]; q != nil {
			signal(q.wake)
		}
	}
}
