package otelsignal_test

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	signalrt "github.com/reliablesignals/signals/runtime"
	"github.com/reliablesignals/signals/runtime/otelsignal"
)

// BenchmarkAttemptHook measures what otelsignal adds to one attempt, with
// an SDK whose batch exporter discards the spans: a span with its
// attributes, the trace context taken from the task's headers, two
// histograms and a counter.
//
//	go test -run XXX -bench AttemptHook ./runtime/otelsignal
func BenchmarkAttemptHook(b *testing.B) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	h, err := otelsignal.New(otelsignal.Options{TracerProvider: tp, MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader())), Propagator: propagation.TraceContext{}})
	if err != nil {
		b.Fatal(err)
	}
	info := signalrt.AttemptInfo{
		TaskInfo: signalrt.TaskInfo{ID: 42, Signal: "order_placed", Receiver: "mail.SendReceipt", Attempt: 1, MaxAttempts: 25},
		Queue:    "mail", RunAt: time.Now(),
		Headers: map[string]string{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
	}
	next := func(context.Context) error { return nil }
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_ = h.Attempt(ctx, info, next)
	}
}

// BenchmarkAttemptHookSampled is BenchmarkAttemptHook with the sampler
// of a production setting, one trace in ten (ParentBased of
// TraceIDRatioBased(0.1)), on attempts whose task carries no trace: nine
// spans in ten do not record.
func BenchmarkAttemptHookSampled(b *testing.B) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()), sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.1))))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	h, err := otelsignal.New(otelsignal.Options{TracerProvider: tp, MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader())), Propagator: propagation.TraceContext{}})
	if err != nil {
		b.Fatal(err)
	}
	info := signalrt.AttemptInfo{
		TaskInfo: signalrt.TaskInfo{ID: 42, Signal: "order_placed", Receiver: "mail.SendReceipt", Attempt: 1, MaxAttempts: 25},
		Queue:    "mail", RunAt: time.Now(),
	}
	next := func(context.Context) error { return nil }
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_ = h.Attempt(ctx, info, next)
	}
}

// BenchmarkSDKSpan is the floor under BenchmarkAttemptHook: one SDK span
// started and ended, with the same batch processor and no attributes,
// without this package. What a span per attempt costs whoever makes it.
func BenchmarkSDKSpan(b *testing.B) {
	benchmarkSDKSpan(b, false)
}

// BenchmarkSDKSpanAttrs is BenchmarkSDKSpan with the six attributes every
// attempt span has (signal, receiver, queue, task id, attempt and max
// attempts), set in one call as the hook sets them.
func BenchmarkSDKSpanAttrs(b *testing.B) {
	benchmarkSDKSpan(b, true)
}

func benchmarkSDKSpan(b *testing.B, attrs bool) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	tracer := tp.Tracer("bench")
	kvs := []attribute.KeyValue{
		attribute.String("messaging.destination.name", "order_placed"),
		attribute.String("messaging.consumer.group.name", "mail.SendReceipt"),
		attribute.String("signals.queue", "mail"),
		attribute.String("messaging.message.id", "42"),
		attribute.Int("signals.attempt", 1),
		attribute.Int("signals.max_attempts", 25),
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, span := tracer.Start(ctx, "process order_placed")
		if attrs {
			span.SetAttributes(kvs...)
		}
		span.End()
	}
}
