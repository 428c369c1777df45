package main

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/reliablesignals/signals/runtime/otelsignal"
)

// installTracing installs otelsignal with an OpenTelemetry SDK that keeps
// every span in memory, for -trace. A real program would export them
// (OTLP) instead; see docs/observability.md.
func installTracing() (*tracetest.InMemoryExporter, error) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	return exp, otelsignal.Install(otelsignal.Options{TracerProvider: tp, Propagator: propagation.TraceContext{}})
}

// printTraces prints each trace as an indented tree of spans, oldest trace
// first: a send, the attempts of its receivers below it, the sends of those
// receivers below the attempt that sent them.
func printTraces(w io.Writer, spans tracetest.SpanStubs) {
	children := map[trace.SpanID][]tracetest.SpanStub{}
	ids := map[trace.SpanID]bool{}
	for _, s := range spans {
		ids[s.SpanContext.SpanID()] = true
	}
	var roots []tracetest.SpanStub
	for _, s := range spans {
		if p := s.Parent.SpanID(); s.Parent.IsValid() && ids[p] {
			children[p] = append(children[p], s)
		} else {
			roots = append(roots, s)
		}
	}
	byStart := func(ss []tracetest.SpanStub) {
		sort.Slice(ss, func(i, j int) bool { return ss[i].StartTime.Before(ss[j].StartTime) })
	}
	byStart(roots)
	var walk func(s tracetest.SpanStub, depth int)
	walk = func(s tracetest.SpanStub, depth int) {
		fmt.Fprintf(w, "   %s%s\n", strings.Repeat("  ", depth), describe(s))
		kids := children[s.SpanContext.SpanID()]
		byStart(kids)
		for _, k := range kids {
			walk(k, depth+1)
		}
	}
	for i, r := range roots {
		fmt.Fprintf(w, "\n   trace %d (%s)\n", i+1, r.SpanContext.TraceID())
		walk(r, 1)
	}
}

// describe is one line of a span: its name, and for an attempt its
// receiver, attempt number, outcome and error.
func describe(s tracetest.SpanStub) string {
	attrs := map[string]string{}
	for _, a := range s.Attributes {
		attrs[string(a.Key)] = a.Value.String()
	}
	if s.SpanKind != trace.SpanKindConsumer {
		return fmt.Sprintf("%s → %s receivers (%s)", s.Name, attrs["messaging.batch.message_count"], s.EndTime.Sub(s.StartTime).Round(10e3))
	}
	outcome := attrs["signals.outcome"]
	if outcome == "" {
		outcome = "succeeded" // otelsignal sets the attribute on the other outcomes only
	}
	line := fmt.Sprintf("%s: %s, attempt %s: %s (%s)", s.Name, shortKey(attrs["messaging.consumer.group.name"]), attrs["signals.attempt"], outcome, s.EndTime.Sub(s.StartTime).Round(10e3))
	if s.Status.Description != "" {
		line += ": " + s.Status.Description
	}
	return line
}

// shortKey drops the module path from a receiver key.
func shortKey(k string) string {
	if i := strings.LastIndex(k, "/"); i >= 0 {
		return k[i+1:]
	}
	return k
}
