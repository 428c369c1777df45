package main

import (
	"fmt"

	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/reliablesignals/signals/runtime/otelsignal"
)

// otelModes are the values of -otel: the worker's OpenTelemetry in W1.
var otelModes = []string{"off", "noop", "sampled", "memory"}

// installOTel installs otelsignal in the drain child: with an SDK tracer
// provider whose batch exporter discards the spans (noop; sampled records
// one trace in ten), or that keeps every span in memory (memory), and an SDK meter provider with a manual
// reader. The SDK is linked here, in the benchmark command, and in tests:
// never in the library.
func installOTel(mode string) error {
	var tp *sdktrace.TracerProvider
	switch mode {
	case "off":
		return nil
	case "noop":
		tp = sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	case "sampled":
		// A production setting: one trace in ten, as the sender decided
		// when it has a trace (its tasks carry the decision), else by id.
		tp = sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()),
			sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.1))))
	case "memory":
		tp = sdktrace.NewTracerProvider(sdktrace.WithSyncer(tracetest.NewInMemoryExporter()))
	default:
		return fmt.Errorf("-otel %q: want one of off, noop, sampled, memory", mode)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	return otelsignal.Install(otelsignal.Options{TracerProvider: tp, MeterProvider: mp, Propagator: propagation.TraceContext{}})
}
