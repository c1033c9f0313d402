package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/jft-gateway/jft-gateway/internal/devenv"
	"github.com/jft-gateway/jft-gateway/internal/gateway"
	"github.com/jft-gateway/jft-gateway/internal/jft"
	"github.com/jft-gateway/jft-gateway/internal/telemetry"
)

// harness is one test's world: a broker (kfake, or real Kafka when JFT_TEST_KAFKA_SEEDS is
// set), the simulator, the gateway's configuration pointing at them, and captured logs and
// spans of every gateway instance it starts.
type harness struct {
	t      testing.TB
	env    *devenv.Env
	cfg    gateway.Config
	logs   *syncBuffer
	spans  *tracetest.SpanRecorder
	tracer *telemetry.Tracing
	client *kgo.Client
	// results accumulates every result read so far, by event id.
	results map[string][]result
}

type harnessOpt func(*harnessOptions)

type harnessOptions struct {
	env            map[string]string
	sim            map[string]string
	partitions     int
	rootsUnsampled bool
}

func withEnv(k, v string) harnessOpt  { return func(o *harnessOptions) { o.env[k] = v } }
func withSim(k, v string) harnessOpt  { return func(o *harnessOptions) { o.sim[k] = v } }
func withPartitions(n int) harnessOpt { return func(o *harnessOptions) { o.partitions = n } }

// withRootsUnsampled traces as the gateway does when nothing exports: sampled by parent,
// no trace started here (Deps.RootsUnsampled); spans still reach the recorder.
func withRootsUnsampled() harnessOpt { return func(o *harnessOptions) { o.rootsUnsampled = true } }

func newHarness(t testing.TB, opts ...harnessOpt) *harness {
	t.Helper()
	o := harnessOptions{env: map[string]string{}, sim: map[string]string{"JFT_SIM_ENVIRONMENT": "test", "JFT_SIM_AUTH": "on"}, partitions: 3}
	for _, f := range opts {
		f(&o)
	}
	ctx := context.Background()
	// Unique topic and group names per test keep tests apart on a shared real broker.
	suffix := fmt.Sprintf("%s.%d", strings.NewReplacer("/", ".", " ", "_", "=", "-").Replace(t.Name()), time.Now().UnixNano())
	base := map[string]string{
		"JFT_TOPIC_EVENTS":  "events." + suffix,
		"JFT_TOPIC_ACKS":    "acks." + suffix,
		"JFT_TOPIC_RESULTS": "results." + suffix,
		"JFT_TOPIC_DLQ":     "dlq." + suffix,
		"JFT_KAFKA_GROUP":   "jft-gateway." + suffix,
		"JFT_ENVIRONMENT":   "test",
		"JFT_LOG_LEVEL":     "debug",
		"JFT_LOG_FORMAT":    "json",
	}
	for k, v := range o.env {
		base[k] = v
	}
	getenv := func(k string) string { return base[k] }
	topics, err := gateway.TopicsFromEnv(ctx, getenv)
	if err != nil {
		t.Fatal(err)
	}
	var external []string
	if seeds := os.Getenv("JFT_TEST_KAFKA_SEEDS"); seeds != "" {
		external = strings.Split(seeds, ",")
	}
	env, err := devenv.Start(ctx, devenv.Options{KafkaAddr: "127.0.0.1:0", Partitions: o.partitions, Topics: topics, Sim: o.sim, ExternalBrokers: external})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	authEnv, err := devenv.RegisterDemoClient(env, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range authEnv {
		if _, set := o.env[k]; !set {
			base[k] = v
		}
	}
	base["JFT_KAFKA_BROKERS"] = strings.Join(env.Brokers, ",")
	base["JFT_WRITEAPI_BASE_URL"] = env.Sim.URL
	cfg, err := gateway.Load(ctx, getenv)
	if err != nil {
		t.Fatal(err)
	}
	spans := tracetest.NewSpanRecorder()
	tracing, err := telemetry.Setup(ctx, "jft-gateway-test", "test", func(string) string { return "" }, spans)
	if err != nil {
		t.Fatal(err)
	}
	if o.rootsUnsampled {
		_ = tracing.Shutdown(ctx)
		tracing = &telemetry.Tracing{
			Provider: sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.NeverSample())),
				sdktrace.WithSpanProcessor(spans)),
			Propagator:     tracing.Propagator,
			RootsUnsampled: true,
		}
	}
	t.Cleanup(func() { _ = tracing.Shutdown(context.Background()) })
	cl, err := kgo.NewClient(kgo.SeedBrokers(env.Brokers...), kgo.ConsumeTopics(cfg.Producer.ResultsTopic),
		kgo.ProducerBatchMaxBytes(devenv.MaxMessageBytes),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond),
		kgo.FetchIsolationLevel(kgo.ReadCommitted())) // what a consumer of results should use
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return &harness{t: t, env: env, cfg: cfg, logs: &syncBuffer{}, spans: spans, tracer: tracing, client: cl, results: map[string][]result{}}
}

// start runs one gateway instance until the returned stop function is called; stop waits
// for it to drain and returns Run's error.
func (h *harness) start(cfg gateway.Config) (stop func() error) {
	h.t.Helper()
	log, err := telemetry.NewLogger(h.logs, "json", "debug")
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	g, err := gateway.New(ctx, cfg, gateway.Deps{Logger: log, TracerProvider: h.tracer.Provider, Propagator: h.tracer.Propagator,
		RootsUnsampled: h.tracer.RootsUnsampled})
	if err != nil {
		cancel()
		h.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop = func() error {
		once.Do(func() { cancel(); runErr = <-done })
		return runErr
	}
	h.t.Cleanup(func() { _ = stop() })
	return stop
}

// produce writes records to the events (or acks) topic and waits for the broker.
func (h *harness) produce(recs ...*kgo.Record) {
	h.t.Helper()
	for _, r := range recs {
		if r.Topic == "" {
			r.Topic = h.cfg.Pipeline.EventsTopic
		}
	}
	if err := h.client.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		h.t.Fatalf("produce: %v", err)
	}
}

// result is a result record as read back.
type result struct {
	rec *kgo.Record
	res jft.Result
}

// waitResults reads results until n distinct event ids have one (counting those read by
// earlier calls), or the deadline; it keeps reading for settle afterwards to catch
// duplicates. It returns every result read so far.
func (h *harness) waitResults(n int, deadline, settle time.Duration) map[string][]result {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	got := h.results
	var settleUntil time.Time
	for {
		if len(got) >= n && settleUntil.IsZero() {
			settleUntil = time.Now().Add(settle)
		}
		if !settleUntil.IsZero() && time.Now().After(settleUntil) {
			return got
		}
		pctx, pcancel := context.WithTimeout(ctx, 300*time.Millisecond)
		fs := h.client.PollFetches(pctx)
		pcancel()
		if ctx.Err() != nil {
			var lines []string
			for _, l := range strings.Split(h.logs.String(), "\n") {
				if !strings.Contains(l, `"msg":"result"`) {
					lines = append(lines, l)
				}
			}
			h.t.Fatalf("after %v: results for %d of %d inputs; gateway log without result lines:\n%s", deadline, len(got), n, strings.Join(lines, "\n"))
		}
		for _, r := range fs.Records() {
			var res jft.Result
			if err := json.Unmarshal(r.Value, &res); err != nil {
				h.t.Fatalf("result is not JSON: %v", err)
			}
			got[res.EventID] = append(got[res.EventID], result{rec: r, res: res})
		}
	}
}

func header(r *kgo.Record, key string) string {
	for _, hd := range r.Headers {
		if hd.Key == key {
			return string(hd.Value)
		}
	}
	return ""
}

func eventRecord(id, key string, value []byte, headers ...kgo.RecordHeader) *kgo.Record {
	r := &kgo.Record{Value: value, Headers: append([]kgo.RecordHeader{{Key: jft.HeaderEventID, Value: []byte(id)}}, headers...)}
	if key != "" {
		r.Key = []byte(key)
	}
	return r
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var (
	_ sdktrace.SpanProcessor = (*tracetest.SpanRecorder)(nil)
	_                        = slog.LevelDebug
)
