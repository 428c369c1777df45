package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	signalrt "github.com/reliablesignals/signals/runtime"
	"github.com/reliablesignals/signals/runtime/otelsignal"
)

// otelModes are the values of -otel: the worker's OpenTelemetry in W1.
var otelModes = []string{"off", "noop", "sampled", "memory", "sdkspan", "sdkspan-attrs"}

// installOTel installs otelsignal in the drain child: with an SDK tracer
// provider whose batch exporter discards the spans (noop; sampled records
// one trace in ten), or that keeps every span in memory (memory), and an SDK meter provider with a manual
// reader. The SDK is linked here, in the benchmark command, and in tests:
// never in the library.
//
// sdkspan is not otelsignal: a hook that starts and ends one SDK span per
// attempt, with noop's batcher, and nothing else (no attributes, no
// propagation, no metrics): the floor of any instrumentation with a span
// per attempt. sdkspan-attrs adds the six attributes that otelsignal's
// attempt span must have (signal, receiver, queue, task id, attempt, max
// attempts) in one SetAttributes call, the task id as an integer: the
// cheapest span that carries them.
func installOTel(mode string) (spans func() int64, err error) {
	// Every mode with a tracer counts the spans that end, so that a run
	// shows that its hooks ran: every attempt made a span (one in ten,
	// sampled).
	ended := &spanCounter{}
	counted := sdktrace.WithSpanProcessor(ended)
	var tp *sdktrace.TracerProvider
	switch mode {
	case "off":
		return nil, nil
	case "sdkspan", "sdkspan-attrs":
		tracer := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()), counted).Tracer("signalbench")
		attrs := mode == "sdkspan-attrs"
		signalrt.Use(signalrt.Hooks{Attempt: func(ctx context.Context, info signalrt.AttemptInfo, next func(context.Context) error) error {
			ctx, span := tracer.Start(ctx, "process")
			defer span.End()
			if attrs {
				// From a pool, as otelsignal does: a variadic list
				// would escape through the interface call, an
				// allocation per attempt that the floor must not have.
				kvs := attrPool.Get().(*[6]attribute.KeyValue)
				*kvs = [6]attribute.KeyValue{
					attribute.String("messaging.destination.name", info.Signal),
					attribute.String("messaging.consumer.group.name", info.Receiver),
					attribute.String("signals.queue", info.Queue),
					attribute.Int64("messaging.message.id", info.ID),
					attribute.Int("signals.attempt", info.Attempt),
					attribute.Int("signals.max_attempts", info.MaxAttempts),
				}
				span.SetAttributes(kvs[:]...)
				*kvs = [6]attribute.KeyValue{}
				attrPool.Put(kvs)
			}
			return next(ctx)
		}})
		return ended.n.Load, nil
	case "noop":
		tp = sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()), counted)
	case "sampled":
		// A production setting: one trace in ten, as the sender decided
		// when it has a trace (its tasks carry the decision), else by id.
		tp = sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()), counted,
			sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.1))))
	case "memory":
		tp = sdktrace.NewTracerProvider(sdktrace.WithSyncer(tracetest.NewInMemoryExporter()), counted)
	default:
		return nil, fmt.Errorf("-otel %q: want one of %s", mode, strings.Join(otelModes, ", "))
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	if err := otelsignal.Install(otelsignal.Options{TracerProvider: tp, MeterProvider: mp, Propagator: propagation.TraceContext{}}); err != nil {
		return nil, err
	}
	return ended.n.Load, nil
}

// attrPool holds the arrays that sdkspan-attrs passes its attributes in.
var attrPool = sync.Pool{New: func() any { return new([6]attribute.KeyValue) }}

// spanCounter is a span processor that counts the spans that end: an
// atomic add per span.
type spanCounter struct{ n atomic.Int64 }

func (c *spanCounter) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (c *spanCounter) OnEnd(sdktrace.ReadOnlySpan)                     { c.n.Add(1) }
func (c *spanCounter) Shutdown(context.Context) error                  { return nil }
func (c *spanCounter) ForceFlush(context.Context) error                { return nil }
