package signalrt_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	signalrt "github.com/reliablesignals/signals/runtime"
)

// TestQueueOptionsDoNotStopOtherQueues: options for one queue, appended to
// a zero Config, leave the worker running every queue of its table.
func TestQueueOptionsDoNotStopOtherQueues(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	rec := newRecorder()
	mail := rec.handler("mail", nil)
	mail.Queue = "mail"
	table := signalrt.Table{rec.handler("default", nil), mail}
	send(t, pool, []signalrt.Route{{Receiver: "default"}, {Receiver: "mail", Queue: "mail"}}, 1)

	var cfg signalrt.Config
	cfg.Queues = append(cfg.Queues, signalrt.QueueConfig{Name: "mail", Concurrency: 2})
	cfg.Logger, cfg.PollInterval = quiet(), 50*time.Millisecond
	startWorker(t, pool, table, cfg)
	waitFor(t, "both receivers to run", func() bool { return rec.count("default") == 1 && rec.count("mail") == 1 })
}

// TestOnlyQueuesSaysWhatItWillNotRun: a worker restricted to some queues
// says once, at start, which receivers of its table it will not run, marks
// them idle in the registry, and does not record them as runnable, so that
// their tasks are not kept waiting for it.
func TestOnlyQueuesSaysWhatItWillNotRun(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	ctx := context.Background()
	rec := newRecorder()
	mail := rec.handler("mail", nil)
	mail.Queue = "mail"
	table := signalrt.Table{rec.handler("default", nil), mail}
	send(t, pool, []signalrt.Route{{Receiver: "default"}, {Receiver: "mail", Queue: "mail"}}, 1)

	var logs syncBuffer
	cfg := fastConfig()
	cfg.OnlyQueues = []string{"mail"}
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	w, _ := startWorker(t, pool, table, cfg)
	waitFor(t, "the mail receiver to run", func() bool { return rec.count("mail") == 1 })

	if n := strings.Count(logs.String(), "some receivers of the table are not run here"); n != 1 {
		t.Errorf("the start log says %d times that receivers are not run; want once:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "receivers=[default]") {
		t.Errorf("the start log does not name the receiver it will not run:\n%s", logs.String())
	}
	workers, err := signalrt.Workers(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	var entries map[string]signalrt.WorkerReceiver
	for _, wk := range workers {
		if wk.Name == w.Name() {
			entries = wk.Receivers
		}
	}
	if !entries["default"].Idle || entries["mail"].Idle {
		t.Errorf("registry entries %+v; want default idle, mail not", entries)
	}
	if rec.count("default") != 0 {
		t.Error("the worker ran a receiver of a queue it does not run")
	}
}

func TestConfigRejectsNegativeAndDuplicateSettings(t *testing.T) {
	t.Parallel()
	noop := signalrt.Table{{Key: "k", Signal: "s", Handle: func(context.Context, []byte) error { return nil }}}
	for _, c := range []struct {
		cfg  signalrt.Config
		want string
	}{
		{signalrt.Config{Lease: -time.Second}, "Lease is -1s"},
		{signalrt.Config{PollInterval: -1}, "PollInterval"},
		{signalrt.Config{OrphanGrace: -time.Hour}, "OrphanGrace"},
		{signalrt.Config{Concurrency: -2}, "Concurrency is -2"},
		{signalrt.Config{MaxAbandoned: -1}, "MaxAbandoned"},
		{signalrt.Config{Queues: []signalrt.QueueConfig{{Name: "a"}, {Name: "a"}}}, `queue "a" appears twice`},
		{signalrt.Config{Queues: []signalrt.QueueConfig{{Concurrency: 3}}}, "Queues[0] has no Name"},
		{signalrt.Config{Queues: []signalrt.QueueConfig{{Name: "a", Concurrency: -1}}}, `queue "a": concurrency -1`},
		{signalrt.Config{OnlyQueues: []string{""}}, "OnlyQueues[0] is empty"},
		{signalrt.Config{Limits: map[string]signalrt.Limit{"k": {Rate: -1}}}, "must not be negative"},
	} {
		_, err := signalrt.NewWorker(nil, noop, c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewWorker(%+v): %v; want an error containing %q", c.cfg, err, c.want)
		}
	}
	if _, err := signalrt.NewWorker(nil, noop, signalrt.Config{Retention: -1}); err != nil {
		t.Errorf("Retention -1 (keep forever): %v", err)
	}
}

// TestUnboundReceiversAreRefused: a generated table built with a nil
// instance marks its method receivers Unbound; a worker and inline mode
// refuse them with the parameter's name instead of panicking on every
// attempt, and CheckTasks, which calls nothing, accepts them.
func TestUnboundReceiversAreRefused(t *testing.T) {
	t.Parallel()
	calls := 0
	table := signalrt.Table{{
		Key: "mail.Mailer.Send", Signal: "s", Unbound: "dispatch.Table's parameter mailer (*mail.Mailer)",
		Handle: func(context.Context, []byte) error { calls++; return nil },
	}}
	_, err := signalrt.NewWorker(nil, table, signalrt.Config{})
	if err == nil || !strings.Contains(err.Error(), "receiver mail.Mailer.Send: dispatch.Table's parameter mailer (*mail.Mailer) is nil") {
		t.Errorf("NewWorker: %v; want the receiver and the nil parameter named", err)
	}
	ctx := signalrt.WithInline(context.Background(), table)
	err = signalrt.Send(ctx, nil, "s", []signalrt.Route{{Receiver: "mail.Mailer.Send"}}, struct{}{})
	if err == nil || !strings.Contains(err.Error(), "parameter mailer (*mail.Mailer) is nil") || calls != 0 {
		t.Errorf("inline send: %v, %d calls; want the nil parameter named and no call", err, calls)
	}
	pool := setup(t)
	if _, err := signalrt.CheckTasks(context.Background(), pool, table, 0); err != nil {
		t.Errorf("CheckTasks with an unbound receiver: %v", err)
	}
}
