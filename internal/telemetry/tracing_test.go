package telemetry

import (
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

func TestExporterFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    string
		wantErr string
	}{
		{"nothing set exports nothing", nil, ExporterNone, ""},
		{"an endpoint turns on otlp", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, ExporterOTLP, ""},
		{"a traces endpoint turns on otlp", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, ExporterOTLP, ""},
		{"explicit none wins over an endpoint", map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, ExporterNone, ""},
		{"unknown exporter is refused by name", map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, "", "OTEL_TRACES_EXPORTER"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ExporterFromEnv(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestLoggerAddsTraceIDs(t *testing.T) {
	var buf strings.Builder
	log, err := NewLogger(&buf, "json", "info")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := Setup(context.Background(), "test", "0", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Shutdown(context.Background())
	ctx, span := tr.Provider.Tracer("t").Start(context.Background(), "op")
	log.InfoContext(ctx, "with span")
	span.End()
	log.Info("without span")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines", len(lines))
	}
	want := `"trace_id":"` + span.SpanContext().TraceID().String() + `"`
	if !strings.Contains(lines[0], want) || !strings.Contains(lines[0], `"span_id":"`) {
		t.Errorf("line with span lacks its ids: %s", lines[0])
	}
	if strings.Contains(lines[1], "trace_id") {
		t.Errorf("line without span has a trace id: %s", lines[1])
	}
	if _, err := NewLogger(&buf, "xml", "info"); err == nil {
		t.Error("format xml accepted")
	}
	if _, err := NewLogger(&buf, "json", "loud"); err == nil {
		t.Error("level loud accepted")
	}
}

// TestWithoutAnExporterRootsAreNotRecordedButHaveIDs: with nothing to export, a trace that
// starts here is not recorded (no attributes kept), yet has ids for the WriteAPI call and the
// result; a sampled parent from the input is still followed.
func TestWithoutAnExporterRootsAreNotRecordedButHaveIDs(t *testing.T) {
	tr, err := Setup(context.Background(), "jft-gateway", "test", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Shutdown(context.Background())
	_, root := tr.Provider.Tracer("t").Start(context.Background(), "process")
	if !root.SpanContext().IsValid() || root.SpanContext().IsSampled() || root.IsRecording() {
		t.Errorf("root span: valid %v, sampled %v, recording %v", root.SpanContext().IsValid(), root.SpanContext().IsSampled(), root.IsRecording())
	}
	root.End()
	parent := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}, TraceFlags: trace.FlagsSampled, Remote: true})
	_, child := tr.Provider.Tracer("t").Start(trace.ContextWithRemoteSpanContext(context.Background(), parent), "process")
	if child.SpanContext().TraceID() != parent.TraceID() || !child.SpanContext().IsSampled() {
		t.Error("a sampled parent from the input is not followed")
	}
	child.End()
}
