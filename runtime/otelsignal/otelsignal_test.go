package otelsignal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/reliablesignals/signals/internal/pgtest"
	signalrt "github.com/reliablesignals/signals/runtime"
	"github.com/reliablesignals/signals/runtime/otelsignal"
)

// The test process (the sender) and a child process (the worker, this test
// binary re-executed with childEnv set) each install otelsignal with an SDK
// tracer provider that exports to memory. The child writes its spans to a
// file when it stops; the parent reads them.
const (
	childEnv      = "OTELSIGNAL_TEST_CHILD"       // the child's database URL
	childSpansEnv = "OTELSIGNAL_TEST_CHILD_SPANS" // where the child writes its spans
)

var (
	spans   = tracetest.NewInMemoryExporter()
	metrics = sdkmetric.NewManualReader()
)

func TestMain(m *testing.M) {
	if url := os.Getenv(childEnv); url != "" {
		os.Exit(child(url, os.Getenv(childSpansEnv)))
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(metrics))
	if err := otelsignal.Install(otelsignal.Options{TracerProvider: tp, MeterProvider: mp, Propagator: propagation.TraceContext{}}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Exit(m.Run())
}

// span is what the child reports of each span.
type span struct {
	Name, Kind, TraceID, SpanID, Parent, Status string
	Attrs                                       map[string]string
	Events                                      []string
}

func toSpan(s sdktrace.ReadOnlySpan) span {
	out := span{Name: s.Name(), Kind: s.SpanKind().String(), TraceID: s.SpanContext().TraceID().String(), SpanID: s.SpanContext().SpanID().String(),
		Parent: s.Parent().SpanID().String(), Status: s.Status().Code.String(), Attrs: map[string]string{}}
	for _, a := range s.Attributes() {
		out.Attrs[string(a.Key)] = a.Value.String()
	}
	for _, e := range s.Events() {
		out.Events = append(out.Events, e.Name)
	}
	return out
}

// table is the worker's dispatch table: flaky fails its first attempt.
func table() signalrt.Table {
	ok := func(context.Context, []byte) error { return nil }
	return signalrt.Table{
		{Key: "mail", Signal: "order_placed", Handle: ok},
		{Key: "ship", Signal: "order_placed", Queue: "warehouse", Handle: ok},
		{Key: "flaky", Signal: "order_placed", Handle: func(ctx context.Context, _ []byte) error {
			if info, _ := signalrt.TaskFromContext(ctx); info.Attempt == 1 {
				return errors.New("upstream timeout")
			}
			return nil
		}},
	}
}

// child runs a worker until SIGINT, then writes its spans to path.
func child(url, path string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	if err := otelsignal.Install(otelsignal.Options{TracerProvider: tp, Propagator: propagation.TraceContext{}}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer pool.Close()
	w, err := signalrt.NewWorker(pool, table(), signalrt.Config{
		PollInterval: 50 * time.Millisecond, Retention: time.Hour, Backoff: func(int) time.Duration { return 10 * time.Millisecond },
		Logger: slog.New(otelsignal.LogHandler(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))),
	})
	if err == nil {
		err = w.Run(ctx)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var out []span
	for _, s := range exp.GetSpans().Snapshots() {
		out = append(out, toSpan(s))
	}
	b, _ := json.Marshal(out)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	return 0
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestOneTraceFromSenderToEveryAttempt sends a signal with 3 receivers under
// an HTTP-like server span; a worker in another process runs them, one
// failing once. The spans form one trace: the request, the send as its
// child, and 4 attempts as children of the send, the failed one with its
// error.
func TestOneTraceFromSenderToEveryAttempt(t *testing.T) {
	_, url := pgtest.Schema(t)
	pool := pgtest.PoolFor(t, url)
	ctx := context.Background()
	spans.Reset()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	reqCtx, req := tp.Tracer("test").Start(ctx, "POST /orders", trace.WithSpanKind(trace.SpanKindServer))
	routes := []signalrt.Route{{Receiver: "mail"}, {Receiver: "ship", Queue: "warehouse"}, {Receiver: "flaky"}}
	err := pgx.BeginFunc(reqCtx, pool, func(tx pgx.Tx) error {
		return signalrt.Send(reqCtx, tx, "order_placed", routes, map[string]int{"order_id": 7})
	})
	req.End()
	if err != nil {
		t.Fatal(err)
	}

	path := filepath.Join(t.TempDir(), "spans.json")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+url, childSpansEnv+"="+path)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		donePage, err := signalrt.SearchTasks(ctx, pool, signalrt.TaskQuery{State: signalrt.StateSucceeded})
		done := donePage.Tasks
		if err != nil {
			t.Fatal(err)
		}
		if len(done) == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the worker process did not finish the tasks:\n%s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("worker process: %v\n%s", err, stderr.String())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var attempts []span
	if err := json.Unmarshal(b, &attempts); err != nil {
		t.Fatal(err)
	}

	var reqSpan, sendSpan span
	for _, s := range spans.GetSpans().Snapshots() {
		switch s.Name() {
		case "POST /orders":
			reqSpan = toSpan(s)
		case "send order_placed":
			sendSpan = toSpan(s)
		}
	}
	if sendSpan.Parent != reqSpan.SpanID || sendSpan.TraceID != reqSpan.TraceID || sendSpan.Kind != "producer" ||
		sendSpan.Attrs["messaging.batch.message_count"] != "3" || sendSpan.Attrs["signals.queues"] != `["default","warehouse"]` {
		t.Errorf("send span %+v; want a producer child of the request %s with 3 messages", sendSpan, reqSpan.SpanID)
	}
	if len(attempts) != 4 {
		t.Fatalf("%d attempt spans, want 4: %+v", len(attempts), attempts)
	}
	byReceiver := map[string][]span{}
	for _, a := range attempts {
		if a.Name != "process order_placed" || a.Kind != "consumer" || a.TraceID != reqSpan.TraceID || a.Parent != sendSpan.SpanID {
			t.Errorf("attempt span %+v; want a consumer child of the send span %s in trace %s", a, sendSpan.SpanID, reqSpan.TraceID)
		}
		byReceiver[a.Attrs["messaging.consumer.group.name"]] = append(byReceiver[a.Attrs["messaging.consumer.group.name"]], a)
	}
	if len(byReceiver["mail"]) != 1 || len(byReceiver["ship"]) != 1 || len(byReceiver["flaky"]) != 2 {
		t.Fatalf("attempts per receiver: %v", byReceiver)
	}
	if s := byReceiver["ship"][0]; s.Attrs["signals.queue"] != "warehouse" || s.Attrs["signals.outcome"] != "" || s.Status != "Unset" || s.Attrs["messaging.message.id"] == "" {
		t.Errorf("ship's attempt: %+v", s)
	}
	for _, s := range byReceiver["flaky"] {
		switch s.Attrs["signals.attempt"] {
		case "1":
			if s.Status != "Error" || s.Attrs["signals.outcome"] != "retry" || len(s.Events) != 1 || s.Events[0] != "exception" {
				t.Errorf("flaky's failed attempt: %+v; want status Error, outcome retry, an exception event", s)
			}
		case "2":
			if s.Status != "Unset" || s.Attrs["signals.outcome"] != "" {
				t.Errorf("flaky's retry: %+v", s)
			}
		default:
			t.Errorf("flaky attempt %+v", s)
		}
	}
	// The worker's log record of the failed attempt carries its trace.
	var flaky1 span
	for _, s := range byReceiver["flaky"] {
		if s.Attrs["signals.attempt"] == "1" {
			flaky1 = s
		}
	}
	if logs := stderr.String(); !strings.Contains(logs, `"trace_id":"`+reqSpan.TraceID+`"`) || !strings.Contains(logs, `"span_id":"`+flaky1.SpanID+`"`) {
		t.Errorf("the worker's log lacks the failed attempt's trace_id and span_id:\n%s", logs)
	}
}

// TestMetrics runs tasks in this process and reads the metrics: counters,
// histograms, and the queue gauges fed by one query.
func TestMetrics(t *testing.T) {
	pool := pgtest.Pool(t)
	ctx := context.Background()
	// Gauges need a DB: a meter provider of their own, on this test's
	// schema, registered through New (its hooks are not installed).
	gaugeReader := sdkmetric.NewManualReader()
	if _, err := otelsignal.New(otelsignal.Options{MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(gaugeReader)), DB: pool}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := signalrt.Send(ctx, pool, "metric_test", []signalrt.Route{{Receiver: "ok", Queue: "mq"}, {Receiver: "bad", Queue: "mq", MaxAttempts: 1}}, i); err != nil {
			t.Fatal(err)
		}
	}
	if err := signalrt.Send(ctx, pool, "metric_test", []signalrt.Route{{Receiver: "ok", Queue: "later"}}, 9, signalrt.After(time.Hour)); err != nil {
		t.Fatal(err)
	}
	var gauges metricdata.ResourceMetrics
	if err := gaugeReader.Collect(ctx, &gauges); err != nil {
		t.Fatal(err)
	}
	if got := sumOf(gauges, "signals.queue.available", "queue", "mq"); got != 6 {
		t.Errorf("signals.queue.available{queue=mq} = %v, want 6", got)
	}
	if got := sumOf(gauges, "signals.queue.lag", "queue", "later"); got != 0 {
		t.Errorf("signals.queue.lag{queue=later} = %v, want 0 (nothing due)", got)
	}
	tbl := signalrt.Table{
		{Key: "ok", Signal: "metric_test", Queue: "mq", Handle: func(context.Context, []byte) error { return nil }},
		{Key: "bad", Signal: "metric_test", Queue: "mq", Handle: func(context.Context, []byte) error { return errors.New("no") }},
	}
	if _, err := signalrt.RunUntilIdle(ctx, pool, tbl); err != nil {
		t.Fatal(err)
	}
	var rm metricdata.ResourceMetrics
	if err := metrics.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, key, value string
		want             float64
	}{
		{"signals.tasks.sent", "signal", "metric_test", 7},
		{"signals.tasks.succeeded", "receiver", "ok", 3},
		{"signals.attempts.failed", "receiver", "bad", 3},
		{"signals.tasks.dead", "receiver", "bad", 3},
		{"signals.attempt.duration", "receiver", "ok", 3}, // histogram: count
		{"signals.queue.wait", "receiver", "bad", 3},
	} {
		if got := sumOf(rm, c.name, c.key, c.value); got != c.want {
			t.Errorf("%s{%s=%s} = %v, want %v", c.name, c.key, c.value, got, c.want)
		}
	}
}

// sumOf adds up the data points of the named metric whose attribute key has
// value: sums and gauges by value, histograms by count.
func sumOf(rm metricdata.ResourceMetrics, name, key, value string) float64 {
	var total float64
	match := func(set attribute.Set) bool {
		v, ok := set.Value(attribute.Key(key))
		return ok && v.String() == value
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					if match(p.Attributes) {
						total += float64(p.Value)
					}
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					if match(p.Attributes) {
						total += float64(p.Value)
					}
				}
			case metricdata.Gauge[float64]:
				for _, p := range d.DataPoints {
					if match(p.Attributes) {
						total += p.Value
					}
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					if match(p.Attributes) {
						total += float64(p.Count)
					}
				}
			}
		}
	}
	return total
}

// TestReceiverInTwoQueues: a receiver whose tasks come from two queues (a
// route changed between versions of the sender) gets each attempt's own
// queue on its span and in its counts, and the counters are cumulative
// monotonic sums, as synchronous counters would be.
func TestReceiverInTwoQueues(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	reader := sdkmetric.NewManualReader()
	h, err := otelsignal.New(otelsignal.Options{TracerProvider: tp, MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)), Propagator: propagation.TraceContext{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i, q := range []string{"a", "b", "a", "a"} {
		info := signalrt.AttemptInfo{TaskInfo: signalrt.TaskInfo{ID: int64(i + 1), Signal: "s", Receiver: "r", Attempt: 1, MaxAttempts: 3}, Queue: q, RunAt: time.Now()}
		var res error
		if i == 3 {
			res = errors.New("boom")
		}
		_ = h.Attempt(ctx, info, func(context.Context) error { return res })
	}
	got := map[string]string{}
	for _, s := range spans.GetSpans() {
		var id, queue string
		for _, a := range s.Attributes {
			switch a.Key {
			case "messaging.message.id":
				id = a.Value.AsString()
			case "signals.queue":
				queue = a.Value.AsString()
			}
		}
		if s.Parent.IsValid() {
			t.Errorf("span of task %s has a parent %v; want a root (the task carried no trace)", id, s.Parent)
		}
		got[id] = queue
	}
	if want := map[string]string{"1": "a", "2": "b", "3": "a", "4": "a"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("signals.queue by task id = %v, want %v", got, want)
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, queue string
		want        float64
	}{
		{"signals.tasks.succeeded", "a", 2},
		{"signals.tasks.succeeded", "b", 1},
		{"signals.attempts.failed", "a", 1},
		{"signals.attempts.failed", "b", 0},
		{"signals.attempt.duration", "a", 3},
	} {
		if got := sumOf(rm, c.name, "queue", c.queue); got != c.want {
			t.Errorf("%s{queue=%s} = %v, want %v", c.name, c.queue, got, c.want)
		}
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if d, ok := m.Data.(metricdata.Sum[int64]); ok && (!d.IsMonotonic || d.Temporality != metricdata.CumulativeTemporality) {
				t.Errorf("%s: monotonic %v, temporality %v; want a cumulative monotonic sum", m.Name, d.IsMonotonic, d.Temporality)
			}
		}
	}
}
