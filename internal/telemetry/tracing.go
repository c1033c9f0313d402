// Package telemetry sets up OpenTelemetry tracing for the gateway's processes.
//
// Spans are always recorded in process, even with no exporter, because the gateway needs
// real trace and span ids: the result record's traceId and traceparent continue the
// input's trace through the WriteAPI call. Export is chosen with the standard variables
// (OTEL_TRACES_EXPORTER, OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
// OTEL_SERVICE_NAME); by default nothing leaves the process.
package telemetry

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Exporter names accepted in OTEL_TRACES_EXPORTER.
const (
	ExporterNone = "none"
	ExporterOTLP = "otlp"
)

// Tracing is a configured tracer provider and the propagator it uses.
type Tracing struct {
	Provider   *sdktrace.TracerProvider
	Propagator propagation.TextMapPropagator
	// RootsUnsampled: Provider samples by parent and never samples a trace that starts
	// here (nothing exports), so a span is sampled only under a sampled parent.
	RootsUnsampled bool
}

// Shutdown flushes and stops the exporter, if any.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if err := t.Provider.Shutdown(ctx); err != nil {
		return fmt.Errorf("shut down tracing: %w", err)
	}
	return nil
}

// ExporterFromEnv decides the exporter from the OTEL_* variables: OTEL_TRACES_EXPORTER
// when set (none or otlp), else otlp when an OTLP endpoint is set, else none.
func ExporterFromEnv(getenv func(string) string) (string, error) {
	switch v := getenv("OTEL_TRACES_EXPORTER"); v {
	case ExporterNone, ExporterOTLP:
		return v, nil
	case "":
		if getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" {
			return ExporterOTLP, nil
		}
		return ExporterNone, nil
	default:
		return "", fmt.Errorf("OTEL_TRACES_EXPORTER: %q is not supported (allowed: none, otlp)", v)
	}
}

// Setup builds the tracer provider for service and installs it and the W3C trace-context
// propagator as the globals (otelhttp and kotel use them unless told otherwise). extra
// span processors (tests use an in-memory recorder) are added to the provider.
func Setup(ctx context.Context, service, version string, getenv func(string) string, extra ...sdktrace.SpanProcessor) (*Tracing, error) {
	exporter, err := ExporterFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	if name := getenv("OTEL_SERVICE_NAME"); name != "" {
		service = name
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(
		attribute.String("service.name", service),
		attribute.String("service.version", version),
	))
	if err != nil && !errors.Is(err, resource.ErrSchemaURLConflict) {
		return nil, fmt.Errorf("tracing resource: %w", err)
	}
	// Parent-based: an input that arrives with a sampled traceparent stays sampled, and the
	// WriteAPI call and the result carry that on. Traces that start here are recorded only
	// when something takes spans: with no exporter they are not recorded, which saves the
	// attributes and events of several spans per record, while their trace ids still reach
	// the WriteAPI call and the result.
	root := sdktrace.AlwaysSample()
	if exporter == ExporterNone && len(extra) == 0 {
		root = sdktrace.NeverSample()
	}
	opts := []sdktrace.TracerProviderOption{
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(root)),
	}
	for _, sp := range extra {
		opts = append(opts, sdktrace.WithSpanProcessor(sp))
	}
	if exporter == ExporterOTLP {
		exp, err := otlptracehttp.New(ctx)
		if err != nil {
			return nil, fmt.Errorf("otlp trace exporter: %w", err)
		}
		opts = append(opts, sdktrace.WithBatcher(exp))
	}
	t := &Tracing{
		Provider:       sdktrace.NewTracerProvider(opts...),
		Propagator:     propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
		RootsUnsampled: exporter == ExporterNone && len(extra) == 0,
	}
	otel.SetTracerProvider(t.Provider)
	otel.SetTextMapPropagator(t.Propagator)
	return t, nil
}
