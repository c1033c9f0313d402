// Package gateway assembles one jft-gateway instance from its stages — consumer →
// pipeline (transform → writeapi → producer) — with tracing on both Kafka clients and the
// HTTP client. The serve, dev and demo commands, the e2e tests and the benchmark all run
// this same assembly.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/plugin/kotel"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/jft-gateway/jft-gateway/consumer"
	"github.com/jft-gateway/jft-gateway/internal/admin"
	"github.com/jft-gateway/jft-gateway/internal/metrics"
	"github.com/jft-gateway/jft-gateway/internal/pipeline"
	"github.com/jft-gateway/jft-gateway/producer"
	"github.com/jft-gateway/jft-gateway/transform"
	"github.com/jft-gateway/jft-gateway/writeapi"
	"github.com/jft-gateway/jft-gateway/writeapi/helseid"
)

// Deps are the parts a caller may supply; zero values get production defaults.
type Deps struct {
	// Logger for every stage (default: discard).
	Logger *slog.Logger
	// TracerProvider and Propagator (default: the otel globals).
	TracerProvider trace.TracerProvider
	Propagator     propagation.TextMapPropagator
	// RootsUnsampled says TracerProvider samples by parent and never samples a trace that
	// starts in the gateway (telemetry.Tracing.RootsUnsampled). Kafka receive spans and HTTP
	// client spans are then made only under a sampled parent; see spans.go.
	RootsUnsampled bool
	// Authorizer overrides the one built from Config.Auth (tests, benchmarks).
	Authorizer writeapi.Authorizer
	// HTTPTransport is the base transport under otelhttp (default: writeapi's own).
	HTTPTransport http.RoundTripper
	// Observers are told every durable result.
	Observers []pipeline.Observer
	// KafkaOpts are added to both Kafka clients (TLS, SASL, logger, metrics hooks).
	KafkaOpts []kgo.Opt
}

// Gateway is one running instance.
type Gateway struct {
	cfg      Config
	consumer *consumer.Consumer
	producer *kgo.Client
	txn      *producer.TxnWriter // nil unless results are transactional
	auth     writeapi.Authorizer
	metrics  *metrics.Metrics
	log      *slog.Logger
	failed   atomic.Pointer[error] // Run's error, for liveness
}

// New builds the instance; it connects lazily, so nothing is reached until Run.
func New(ctx context.Context, cfg Config, deps Deps) (*Gateway, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.TracerProvider == nil {
		deps.TracerProvider = otel.GetTracerProvider()
	}
	if deps.Propagator == nil {
		deps.Propagator = otel.GetTextMapPropagator()
	}
	tracer := kotel.NewTracer(
		kotel.TracerProvider(deps.TracerProvider),
		kotel.TracerPropagator(deps.Propagator),
		kotel.ConsumerGroup(cfg.Consumer.Group),
		kotel.KeyFormatter(KeyFormatter),
	)
	hooks := kgo.WithHooks(kotel.NewKotel(kotel.WithTracer(tracer)).Hooks()...)
	if deps.RootsUnsampled {
		hooks = kgo.WithHooks(sampledSpans{tracer: tracer, prop: deps.Propagator})
	}
	m := metrics.New()

	secure, err := cfg.Kafka.Opts()
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	deps.KafkaOpts = append(secure, deps.KafkaOpts...)

	tr, err := transform.New(cfg.Transform)
	if err != nil {
		return nil, fmt.Errorf("transform: %w", err)
	}
	auth := deps.Authorizer
	if auth == nil {
		log := deps.Logger
		observe := func(tenant string, err error) {
			m.Token(tenant, err)
			if err != nil {
				// HelseID's error code and our own message; never the assertion or a token.
				log.Warn("token request failed", slog.String("tenant", tenant), slog.String("error", err.Error()))
			}
		}
		if auth, err = NewAuthorizer(ctx, cfg, deps.Logger, helseid.WithTokenObserver(observe)); err != nil {
			return nil, err
		}
	}
	base := deps.HTTPTransport
	if base == nil {
		base = writeapi.NewTransport(cfg.WriteAPI)
	}
	var rt http.RoundTripper = otelhttp.NewTransport(base,
		otelhttp.WithTracerProvider(deps.TracerProvider),
		otelhttp.WithPropagators(deps.Propagator),
	)
	if deps.RootsUnsampled {
		rt = clientSpans{traced: rt, base: base}
	}
	wc, err := writeapi.New(cfg.WriteAPI, auth, writeapi.WithTransport(rt), writeapi.WithPropagator(deps.Propagator),
		writeapi.WithAttemptObserver(m.Attempt))
	if err != nil {
		return nil, fmt.Errorf("writeapi client: %w", err)
	}

	popts := []kgo.Opt{kgo.SeedBrokers(cfg.Consumer.Brokers...), hooks, m.ProducerHooks(cfg.Producer.DLQTopic)}
	if cfg.Producer.Transactional {
		popts = append(popts, producer.TxnOptions(cfg.Producer, cfg.Consumer.Group, cfg.Consumer.InstanceID)...)
	} else {
		popts = append(popts, producer.Options(cfg.Producer)...)
	}
	popts = append(popts, deps.KafkaOpts...)
	pcl, err := kgo.NewClient(popts...)
	if err != nil {
		return nil, fmt.Errorf("kafka producer client: %w", err)
	}
	var (
		pub   pipeline.Publisher
		txn   *producer.TxnWriter
		copts []consumer.Option
	)
	if cfg.Producer.Transactional {
		txn, err = producer.NewTxnWriter(cfg.Producer, pcl, cfg.Consumer.Group, cfg.Consumer.InstanceID, deps.Logger)
		pub, copts = txn, []consumer.Option{consumer.WithCommitter(txn)}
	} else {
		pub, err = producer.New(cfg.Producer, pcl)
	}
	if err != nil {
		pcl.Close()
		return nil, err
	}
	closeAll := func() {
		if txn != nil {
			txn.Close()
		}
		pcl.Close()
	}
	popt := []pipeline.Option{pipeline.WithLogger(deps.Logger), pipeline.WithObserver(m)}
	if deps.RootsUnsampled {
		popt = append(popt, pipeline.WithUnsampledTracer(deps.TracerProvider.Tracer("github.com/jft-gateway/jft-gateway/internal/pipeline")))
	}
	for _, o := range deps.Observers {
		popt = append(popt, pipeline.WithObserver(o))
	}
	pl, err := pipeline.New(cfg.Pipeline, tr, wc, pub, tracer, popt...)
	if err != nil {
		closeAll()
		return nil, err
	}
	ccfg := cfg.Consumer
	ccfg.Topics = cfg.Pipeline.Topics()
	kopts := append([]kgo.Opt{hooks, m.ConsumerHooks()}, deps.KafkaOpts...)
	cons, err := consumer.NewWith(ccfg, pl.Handle, deps.Logger, copts, kopts...)
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("kafka consumer: %w", err)
	}
	if txn != nil {
		txn.Bind(cons.Client().GroupMetadata)
	}
	m.WatchPartitions(cons.Stats)
	return &Gateway{cfg: cfg, consumer: cons, producer: pcl, txn: txn, auth: auth, metrics: m, log: deps.Logger}, nil
}

// Run consumes until ctx ends, drains in-flight work, and closes the clients.
func (g *Gateway) Run(ctx context.Context) error {
	defer g.producer.Close()
	if g.txn != nil {
		defer g.txn.Close()
	}
	err := g.consumer.Run(ctx)
	if err != nil && !errors.Is(err, context.Canceled) {
		err = fmt.Errorf("gateway: %w", err)
		g.failed.Store(&err)
		return err
	}
	return nil
}

// Ready reports whether the instance has joined its group.
func (g *Gateway) Ready() bool { return g.consumer.Ready() }

// Metrics returns the instance's metrics.
func (g *Gateway) Metrics() *metrics.Metrics { return g.metrics }

// AdminHandler serves /metrics, /healthz and /readyz for this instance. Readiness needs
// the group joined, a broker answering, and, with HelseID, tokens obtainable.
func (g *Gateway) AdminHandler() http.Handler {
	checks := []admin.Check{
		{Name: "group", Func: func(context.Context) error {
			if !g.consumer.Ready() {
				return fmt.Errorf("not a member of group %s yet", g.cfg.Consumer.Group)
			}
			return nil
		}},
		{Name: "brokers", Func: admin.Cached(5*time.Second, func(ctx context.Context) error {
			if err := g.producer.Ping(ctx); err != nil {
				return fmt.Errorf("no broker answers: %w", err)
			}
			return nil
		})},
	}
	if r, ok := g.auth.(interface{ Ready() error }); ok {
		checks = append(checks, admin.Check{Name: "tokens", Func: func(context.Context) error { return r.Ready() }})
	}
	live := func() error {
		if err := g.failed.Load(); err != nil {
			return *err
		}
		return nil
	}
	if g.cfg.Admin.Pprof {
		return admin.HandlerWithPprof(g.metrics.Handler(), live, checks...)
	}
	return admin.Handler(g.metrics.Handler(), live, checks...)
}

// KeyFormatter puts a record key into spans only when it is an organisation number (nine
// digits: public, and useful to follow a municipality's events); any other key might carry
// personal data and is left out.
func KeyFormatter(r *kgo.Record) (string, error) {
	if len(r.Key) != 9 {
		return "", errRedacted
	}
	for _, b := range r.Key {
		if b < '0' || b > '9' {
			return "", errRedacted
		}
	}
	return string(r.Key), nil
}

var errRedacted = errors.New("key redacted")
