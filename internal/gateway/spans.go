package gateway

import (
	"context"
	"net/http"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/plugin/kotel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Spans that no sampler keeps still cost: kotel builds attributes and a span for every
// fetched record and every result, and otelhttp a span, request attributes and metric
// attributes for every call. With Deps.RootsUnsampled (the provider samples by parent and
// starts no trace of its own, as telemetry.Setup makes it when nothing exports), a span can
// only be sampled when its parent is, so the wrappers below skip the instrumentation
// for unsampled parents and only carry the trace context on. The process span is still made
// for every record, its ids go into the WriteAPI call and the result, but without kotel's
// attributes when unsampled (pipeline.WithUnsampledTracer).

// sampledSpans are kotel's hooks for the two Kafka clients, made only for records whose
// trace is sampled. A fetched record of another trace gets the extracted trace context,
// which the process span continues; a result gets its process span's trace context in its
// headers (traceparent), without a publish span, its attributes and its name.
type sampledSpans struct {
	tracer *kotel.Tracer
	prop   propagation.TextMapPropagator
}

var (
	_ kgo.HookFetchRecordBuffered     = sampledSpans{}
	_ kgo.HookFetchRecordUnbuffered   = sampledSpans{}
	_ kgo.HookProduceRecordBuffered   = sampledSpans{}
	_ kgo.HookProduceRecordUnbuffered = sampledSpans{}
)

func (h sampledSpans) OnFetchRecordBuffered(r *kgo.Record) {
	parent := r.Context
	if parent == nil {
		parent = context.Background()
	}
	ctx := h.prop.Extract(parent, kotel.NewRecordCarrier(r))
	if trace.SpanContextFromContext(ctx).IsSampled() {
		h.tracer.OnFetchRecordBuffered(r)
		return
	}
	r.Context = ctx
}

// OnFetchRecordUnbuffered ends the receive span, if one was made (ending the extracted
// remote context is a no-op).
func (h sampledSpans) OnFetchRecordUnbuffered(r *kgo.Record, polled bool) {
	h.tracer.OnFetchRecordUnbuffered(r, polled)
}

func (h sampledSpans) OnProduceRecordBuffered(r *kgo.Record) {
	if r.Context == nil || trace.SpanContextFromContext(r.Context).IsSampled() {
		h.tracer.OnProduceRecordBuffered(r)
		return
	}
	h.prop.Inject(r.Context, kotel.NewRecordCarrier(r))
}

// OnProduceRecordUnbuffered ends the publish span, if one was made. An unsampled record's
// context holds its process span, which the pipeline ends, not this hook.
func (h sampledSpans) OnProduceRecordUnbuffered(r *kgo.Record, err error) {
	if r.Context == nil || trace.SpanContextFromContext(r.Context).IsSampled() {
		h.tracer.OnProduceRecordUnbuffered(r, err)
	}
}

// clientSpans sends a request through otelhttp when its parent span is sampled, and
// otherwise straight to base. The writeapi client puts the trace context into every request
// itself (writeapi.WithPropagator), so an unsampled call still carries its trace id.
type clientSpans struct {
	traced, base http.RoundTripper
}

func (t clientSpans) RoundTrip(r *http.Request) (*http.Response, error) {
	if trace.SpanContextFromContext(r.Context()).IsSampled() {
		return t.traced.RoundTrip(r)
	}
	return t.base.RoundTrip(r)
}
