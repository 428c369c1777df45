// Package otelsignal instruments reliable signals with OpenTelemetry:
// traces that follow a signal from its sender's trace to every attempt of
// every receiver, in whichever process runs it, and metrics of the queue.
// It uses the OpenTelemetry API only; the program chooses the SDK and the
// exporters. A program that does not import this package does not link
// OpenTelemetry: the runtime knows only its own [signalrt.Hooks].
//
// Install it once at start-up, in the senders' and in the workers'
// programs, after the SDK:
//
//	otel.SetTracerProvider(tp)   // e.g. an SDK provider with an OTLP exporter
//	otel.SetTextMapPropagator(propagation.TraceContext{})
//	otel.SetMeterProvider(mp)
//	if err := otelsignal.Install(otelsignal.Options{DB: pool}); err != nil { ... }
//
// # Spans
//
// Names and attributes follow the OpenTelemetry messaging conventions where
// they fit (messaging.system is "reliable_signals"):
//
//   - "send SIGNAL", kind producer, one per send: messaging.operation.name
//     and messaging.operation.type "send", messaging.destination.name (the
//     signal), messaging.batch.message_count (the number of receivers, one
//     task each) and signals.queues. Its context is stored with each task
//     (W3C trace context, in the task's headers), when the propagator
//     writes one: without a configured tracer provider nothing is stored.
//   - "process SIGNAL", kind consumer, one per attempt, a child of the send
//     span: messaging.operation.name "process", messaging.destination.name,
//     messaging.message.id (the task id), messaging.consumer.group.name
//     (the receiver key), signals.queue, signals.attempt and
//     signals.max_attempts. An attempt that did not succeed also has
//     signals.outcome (retry, dead or snoozed); a failed one records its
//     error, has status Error, and signals.permanent says whether the
//     error was permanent. A span without signals.outcome succeeded.
//
// The attempt span is built for the cost of a span per task, the largest
// part of this package's cost (BenchmarkAttemptHook). Its attributes are
// set once, right after it starts, and only when it records: a span that
// the sampler drops costs no attributes, and a recorded one copies its
// attributes once instead of twice. (So a sampler sees the span name and
// kind, and the parent's decision, but not the attributes.) It has eight
// attributes when it succeeds, the common case: a ninth, or one set later,
// makes the SDK grow and copy the span's attribute storage. That is why it
// has no messaging.operation.type (the name says "process") and no
// signals.outcome on success.
//
// Every attempt, the first and the retries, is a child of the send span,
// not a link: the trace of the request that sent the signal then shows the
// whole fan-out, each receiver's retries included, in one tree, which is
// what someone asking "why did order 12 get no receipt" wants to see. The
// price is that a trace whose task retries for hours lasts hours; tracing
// backends show such traces, and the attempt spans carry their attempt
// number.
//
// # Metrics
//
//   - signals.tasks.sent (counter, by signal): tasks enqueued;
//   - signals.tasks.succeeded, signals.attempts.failed, signals.tasks.dead
//     (counters, by signal, receiver and queue): attempts by outcome
//     (failed counts every failed attempt, dead the ones that ended their
//     task);
//   - signals.attempt.duration and signals.queue.wait (histograms, seconds,
//     by signal, receiver and queue): how long an attempt ran, and how
//     long its task waited from due to start;
//   - signals.queue.available and signals.queue.lag (observable gauges, by
//     queue; lag in seconds): with Options.DB set, one query per
//     collection ([signalrt.QueueGauges]).
//
// The four counters are asynchronous (observable) counters: this package
// counts with an atomic add per attempt and reports the cumulative sums at
// each collection, which an exporter sees as it would see synchronous
// counters, minus exemplars. A synchronous measurement costs about a
// microsecond, a third of the metrics' cost per attempt.
//
// # Logs
//
// [LogHandler] wraps a slog.Handler so that records logged with a context
// that holds a span carry trace_id and span_id; the worker logs each
// attempt's result with the attempt's context.
package otelsignal

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	signalrt "github.com/reliablesignals/signals/runtime"
)

// instrumentation is the name of the tracer and the meter.
const instrumentation = "github.com/reliablesignals/signals/runtime/otelsignal"

// Options configure the instrumentation. Zero values take OpenTelemetry's
// global providers and propagator.
type Options struct {
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
	Propagator     propagation.TextMapPropagator
	// DB, when set, feeds the queue gauges.
	DB signalrt.Executor
}

// Install builds the hooks (see [New]) and installs them for every send and
// attempt of this process with [signalrt.Use].
func Install(opts Options) error {
	h, err := New(opts)
	if err != nil {
		return err
	}
	signalrt.Use(h)
	return nil
}

// instruments are the metrics. The counters are counted here, with an
// atomic add per attempt, and reported by an observable counter's callback
// at each collection: a synchronous counter would cost a measurement per
// attempt, with its attribute lookups (see BenchmarkAttemptHook). What the
// exporter sees is the same cumulative sum either way.
type instruments struct {
	duration, wait metric.Float64Histogram
	receivers      receiverCache
	signals        signalCache
}

// receiverCache keeps what the attempts of each signal, receiver and queue
// share: building the span name and the attributes on every attempt costs
// more than looking them up. Lookups read an immutable map, keyed by the
// receiver's key alone (a string key is the map's fast path), without a
// lock or an allocation; a miss, or a receiver whose tasks come from more
// than one queue, takes the lock (a process has few receivers).
type receiverCache struct {
	m   atomic.Pointer[map[string]*receiverAttrs]
	mu  sync.Mutex                     // serializes misses
	all map[receiverKey]*receiverAttrs // guarded by mu
}

type receiverKey struct{ signal, receiver, queue string }

// receiverAttrs are the span name and attributes, the metric attributes and
// the counts of one signal, receiver and queue.
type receiverAttrs struct {
	key      receiverKey
	spanName string
	attrs    []attribute.KeyValue // the attributes every attempt has
	set      attribute.Set        // the metrics' attributes
	metric   metric.MeasurementOption
	// record is metric as the variadic options of Record: passing a
	// slice that exists spares each measurement the allocation of one.
	record []metric.RecordOption
	// Attempts by outcome, reported by the observable counters.
	succeeded, failed, dead atomic.Int64
}

func (c *receiverCache) of(info signalrt.AttemptInfo) *receiverAttrs {
	if m := c.m.Load(); m != nil {
		if r, ok := (*m)[info.Receiver]; ok && r.key.signal == info.Signal && r.key.queue == info.Queue {
			return r
		}
	}
	k := receiverKey{info.Signal, info.Receiver, info.Queue}
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.all[k]; ok {
		return r
	}
	set := attribute.NewSet(attribute.String("signal", k.signal), attribute.String("receiver", k.receiver), attribute.String("queue", k.queue))
	r := &receiverAttrs{
		key:      k,
		spanName: "process " + k.signal,
		attrs: []attribute.KeyValue{
			systemAttr,
			attribute.String("messaging.operation.name", "process"),
			attribute.String("messaging.destination.name", k.signal),
			attribute.String("messaging.consumer.group.name", k.receiver),
			attribute.String("signals.queue", k.queue),
		},
		set:    set,
		metric: metric.WithAttributeSet(set),
	}
	r.record = []metric.RecordOption{r.metric}
	if c.all == nil {
		c.all = map[receiverKey]*receiverAttrs{}
	}
	c.all[k] = r
	// The fast map holds the first queue seen for each receiver.
	m := make(map[string]*receiverAttrs, len(c.all))
	if old := c.m.Load(); old != nil {
		maps.Copy(m, *old)
	}
	if _, ok := m[k.receiver]; !ok {
		m[k.receiver] = r
	}
	c.m.Store(&m)
	return r
}

// each calls f for every receiver seen.
func (c *receiverCache) each(f func(*receiverAttrs)) {
	c.mu.Lock()
	rs := slices.Collect(maps.Values(c.all))
	c.mu.Unlock()
	for _, r := range rs {
		f(r)
	}
}

// signalCache counts the tasks sent, by signal.
type signalCache struct {
	m sync.Map // signal name → *signalCount
}

type signalCount struct {
	set  attribute.Set
	sent atomic.Int64
}

func (c *signalCache) of(signal string) *signalCount {
	if v, ok := c.m.Load(signal); ok {
		return v.(*signalCount)
	}
	v, _ := c.m.LoadOrStore(signal, &signalCount{set: attribute.NewSet(attribute.String("signal", signal))})
	return v.(*signalCount)
}

// New returns the hooks without installing them.
func New(opts Options) (signalrt.Hooks, error) {
	if opts.TracerProvider == nil {
		opts.TracerProvider = otel.GetTracerProvider()
	}
	if opts.MeterProvider == nil {
		opts.MeterProvider = otel.GetMeterProvider()
	}
	if opts.Propagator == nil {
		opts.Propagator = otel.GetTextMapPropagator()
	}
	tracer := opts.TracerProvider.Tracer(instrumentation)
	meter := opts.MeterProvider.Meter(instrumentation)
	in := &instruments{}
	var errs []error
	counter := func(name, desc string) metric.Int64ObservableCounter {
		c, err := meter.Int64ObservableCounter(name, metric.WithDescription(desc), metric.WithUnit("{task}"))
		errs = append(errs, err)
		return c
	}
	sent := counter("signals.tasks.sent", "Tasks enqueued by sends")
	succeeded := counter("signals.tasks.succeeded", "Attempts that succeeded")
	failed := counter("signals.attempts.failed", "Attempts that failed")
	dead := counter("signals.tasks.dead", "Tasks that ended dead")
	histogram := func(name, desc string) metric.Float64Histogram {
		h, err := meter.Float64Histogram(name, metric.WithDescription(desc), metric.WithUnit("s"))
		errs = append(errs, err)
		return h
	}
	in.duration = histogram("signals.attempt.duration", "How long an attempt ran")
	in.wait = histogram("signals.queue.wait", "How long a task waited from due to the start of an attempt")
	if err := errors.Join(errs...); err != nil {
		return signalrt.Hooks{}, err
	}
	_, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		in.signals.m.Range(func(_, v any) bool {
			c := v.(*signalCount)
			o.ObserveInt64(sent, c.sent.Load(), metric.WithAttributeSet(c.set))
			return true
		})
		in.receivers.each(func(r *receiverAttrs) {
			o.ObserveInt64(succeeded, r.succeeded.Load(), r.metric)
			o.ObserveInt64(failed, r.failed.Load(), r.metric)
			o.ObserveInt64(dead, r.dead.Load(), r.metric)
		})
		return nil
	}, sent, succeeded, failed, dead)
	errs = append(errs, err)
	if opts.DB != nil {
		errs = append(errs, gauges(meter, opts.DB))
	}
	if err := errors.Join(errs...); err != nil {
		return signalrt.Hooks{}, err
	}
	return signalrt.Hooks{
		Send:    sendHook(tracer, opts.Propagator, in),
		Attempt: attemptHook(tracer, opts.Propagator, in),
	}, nil
}

// attrPool holds the arrays an attempt's span attributes are passed in.
var attrPool = sync.Pool{New: func() any { return new([8]attribute.KeyValue) }}

// noParent is a span without a valid context, as a parent for the attempts
// of tasks that carry no trace: it makes them roots.
var noParent = trace.SpanFromContext(context.Background())

var systemAttr = attribute.String("messaging.system", "reliable_signals")

func sendHook(tracer trace.Tracer, prop propagation.TextMapPropagator, in *instruments) func(context.Context, *signalrt.SendInfo, func(context.Context) error) error {
	return func(ctx context.Context, info *signalrt.SendInfo, next func(context.Context) error) error {
		queues := map[string]bool{}
		for _, r := range info.Routes {
			q := r.Queue
			if q == "" {
				q = signalrt.DefaultQueue
			}
			queues[q] = true
		}
		qs := make([]string, 0, len(queues))
		for q := range queues {
			qs = append(qs, q)
		}
		sort.Strings(qs)
		ctx, span := tracer.Start(ctx, "send "+info.Signal, trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(
			systemAttr,
			attribute.String("messaging.operation.name", "send"),
			attribute.String("messaging.operation.type", "send"),
			attribute.String("messaging.destination.name", info.Signal),
			attribute.Int("messaging.batch.message_count", len(info.Routes)),
			attribute.StringSlice("signals.queues", qs),
		))
		defer span.End()
		carrier := propagation.MapCarrier{}
		prop.Inject(ctx, carrier)
		if len(carrier) > 0 {
			if info.Headers == nil {
				info.Headers = map[string]string{}
			}
			for k, v := range carrier {
				info.Headers[k] = v
			}
		}
		err := next(ctx)
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
			return err
		}
		in.signals.of(info.Signal).sent.Add(int64(len(info.Routes)))
		return nil
	}
}

func attemptHook(tracer trace.Tracer, prop propagation.TextMapPropagator, in *instruments) func(context.Context, signalrt.AttemptInfo, func(context.Context) error) error {
	// The options of every attempt span, as a slice that exists: a
	// variadic argument list would be allocated on each call.
	startOpts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindConsumer)}
	return func(ctx context.Context, info signalrt.AttemptInfo, next func(context.Context) error) error {
		r := in.receivers.of(info)
		start := time.Now()
		// The wait is measured before the span starts: it belongs to no
		// attempt, and a measurement without a span in its context takes
		// no exemplar.
		in.wait.Record(ctx, max(start.Sub(info.RunAt), 0).Seconds(), r.record...)
		if len(info.Headers) > 0 {
			ctx = prop.Extract(ctx, propagation.MapCarrier(info.Headers))
		} else {
			// No trace came with the task: the attempt is a root. Saying
			// so at the top of ctx also spares the SDK's look-ups of a
			// parent span a walk down the worker's whole context chain.
			ctx = trace.ContextWithSpan(ctx, noParent)
		}
		ctx, span := tracer.Start(ctx, r.spanName, startOpts...)
		if span.IsRecording() {
			// The span copies the attributes; the array they are passed
			// in would escape to the heap through the interface call, 512
			// bytes of garbage per attempt, so it comes from a pool.
			attrs := attrPool.Get().(*[8]attribute.KeyValue)
			n := copy(attrs[:], r.attrs)
			attrs[n] = attribute.String("messaging.message.id", formatID(info.ID))
			attrs[n+1] = attribute.Int("signals.attempt", info.Attempt)
			attrs[n+2] = attribute.Int("signals.max_attempts", info.MaxAttempts)
			span.SetAttributes(attrs[:n+3]...)
			*attrs = [8]attribute.KeyValue{} // keeps no strings alive
			attrPool.Put(attrs)
		}
		defer span.End()
		err := next(ctx)
		in.duration.Record(ctx, time.Since(start).Seconds(), r.record...)
		outcome := signalrt.OutcomeOf(info, err)
		switch outcome {
		case signalrt.OutcomeSucceeded:
			// No signals.outcome on success: a second attribute write per
			// span makes the SDK grow and copy the span's attributes, the
			// largest single cost of a span (see BenchmarkAttemptHook).
			r.succeeded.Add(1)
		case signalrt.OutcomeSnoozed:
			span.SetAttributes(attribute.String("signals.outcome", string(outcome)))
		default:
			span.RecordError(err)
			span.SetStatus(codes.Error, firstLine(err.Error()))
			span.SetAttributes(attribute.String("signals.outcome", string(outcome)), attribute.Bool("signals.permanent", signalrt.IsPermanent(err)))
			r.failed.Add(1)
			if outcome == signalrt.OutcomeDead {
				r.dead.Add(1)
			}
		}
		return err
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

func formatID(id int64) string { return strconv.FormatInt(id, 10) }

// gauges registers the queue gauges, fed by one query per collection.
func gauges(meter metric.Meter, db signalrt.Executor) error {
	available, err := meter.Int64ObservableGauge("signals.queue.available", metric.WithDescription("Available tasks per queue"), metric.WithUnit("{task}"))
	if err != nil {
		return err
	}
	lag, err := meter.Float64ObservableGauge("signals.queue.lag", metric.WithDescription("Age of the oldest due available task per queue"), metric.WithUnit("s"))
	if err != nil {
		return err
	}
	_, err = meter.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		gs, err := signalrt.QueueGauges(ctx, db)
		if err != nil {
			return err
		}
		for _, g := range gs {
			q := metric.WithAttributes(attribute.String("queue", g.Queue))
			o.ObserveInt64(available, g.Available, q)
			o.ObserveFloat64(lag, g.Lag.Seconds(), q)
		}
		return nil
	}, available, lag)
	return err
}

// LogHandler wraps h so that records logged with a context that holds a
// valid span carry trace_id and span_id.
func LogHandler(h slog.Handler) slog.Handler { return logHandler{h} }

type logHandler struct{ slog.Handler }

func (l logHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r = r.Clone()
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return l.Handler.Handle(ctx, r)
}

func (l logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return logHandler{l.Handler.WithAttrs(as)}
}
func (l logHandler) WithGroup(name string) slog.Handler { return logHandler{l.Handler.WithGroup(name)} }
