// Package pipeline composes the stages for one input record: transform → writeapi →
// producer. It guarantees that every record it returns nil for has exactly one durable
// result, and it decides the outcome once: a transform error or a permanent WriteAPI error is
// rejected, a transient one that outlived its retries is failed.
//
// It does not import the consumer: its Handle method has the consumer's Handler shape, and
// the command wires the two together.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/plugin/kotel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/jft-gateway/jft-gateway/internal/jft"
	"github.com/jft-gateway/jft-gateway/transform"
	"github.com/jft-gateway/jft-gateway/writeapi"
)

// Validator turns one input record into a WriteAPI command (transform.Transformer).
type Validator interface {
	Transform(in transform.Input) (jft.Command, error)
}

// Sender delivers a command to the WriteAPI with retries (writeapi.Client).
type Sender interface {
	Send(ctx context.Context, cmd jft.Command) (writeapi.Response, error)
}

// Publisher writes a result durably (producer.Producer).
type Publisher interface {
	Publish(ctx context.Context, in *kgo.Record, res jft.Result) error
}

// Observer is told every result once it is durable; metrics hang off it. It must not block.
type Observer interface {
	Observe(in *kgo.Record, res *jft.Result)
}

// TenantObserver is an Observer that is also told, per tenant (organisation number), when
// a WriteAPI call starts and ends and whether the tenant's records are held because no
// access token can be had. It must not block.
type TenantObserver interface {
	Observer
	SendStarted(tenant string)
	SendDone(tenant string)
	Held(tenant string, held bool)
}

// ErrCredentialsUnavailable is returned for a record that could not be sent because no
// access token could be had for its tenant; the consumer retries it later.
var ErrCredentialsUnavailable = errors.New("pipeline: no access token for the tenant; retrying later")

// ErrWriteAPIDown is returned for a record whose retries ran out while the WriteAPI is
// down (writeapi.Config.OutageThreshold); the consumer retries it later.
var ErrWriteAPIDown = errors.New("pipeline: the WriteAPI is down; holding the record")

// Pipeline handles input records.
type Pipeline struct {
	cfg       Config
	validator Validator
	sender    Sender
	publisher Publisher
	tracer    *kotel.Tracer
	unsampled trace.Tracer // nil: every process span comes from kotel
	log       *slog.Logger
	observers []Observer
	tenantObs []TenantObserver
	now       func() time.Time
	// publishBackoff bounds the wait between attempts to write a result.
	publishBackoffMin, publishBackoffMax time.Duration
}

// Option configures a Pipeline.
type Option func(*Pipeline)

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(p *Pipeline) { p.log = l } }

// WithObserver adds an observer of durable results (and of tenants, when o is a
// TenantObserver).
func WithObserver(o Observer) Option {
	return func(p *Pipeline) {
		p.observers = append(p.observers, o)
		if t, ok := o.(TenantObserver); ok {
			p.tenantObs = append(p.tenantObs, t)
		}
	}
}

// WithUnsampledTracer makes the process span of a record whose trace is not sampled with
// t, without the attributes kotel computes for it: with a provider that samples by parent
// and starts no trace of its own (gateway.Deps.RootsUnsampled), nobody would see them. The
// span still gives the record its trace and span ids for the WriteAPI call and the result.
func WithUnsampledTracer(t trace.Tracer) Option { return func(p *Pipeline) { p.unsampled = t } }

// WithClock replaces time.Now (tests).
func WithClock(now func() time.Time) Option { return func(p *Pipeline) { p.now = now } }

// New returns a pipeline. tracer is the kotel tracer installed on the consuming client: its
// process span continues the trace extracted from the input's traceparent.
func New(cfg Config, v Validator, s Sender, pub Publisher, tracer *kotel.Tracer, opts ...Option) (*Pipeline, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("pipeline config: %w", err)
	}
	p := &Pipeline{
		cfg: cfg, validator: v, sender: s, publisher: pub, tracer: tracer,
		log: slog.New(slog.DiscardHandler), now: time.Now,
		publishBackoffMin: 50 * time.Millisecond, publishBackoffMax: 5 * time.Second,
	}
	for _, o := range opts {
		o(p)
	}
	return p, nil
}

// Handle processes one record and returns nil once its result is durable. It returns an
// error only when ctx ends first (the partition was revoked or lost, or shutdown's deadline
// passed): the record is then left uncommitted for whoever owns its partition next.
func (p *Pipeline) Handle(ctx context.Context, r *kgo.Record) error {
	received := p.now()
	// The process span continues the record's trace (kotel extracted it into r.Context);
	// it is moved onto ctx so that cancellation still reaches the HTTP call.
	span := p.processSpan(r)
	defer span.End()
	ctx = trace.ContextWithSpan(ctx, span)

	res, sent := p.process(ctx, r)
	if ctx.Err() != nil {
		span.SetStatus(codes.Error, "abandoned")
		return fmt.Errorf("process %s/%d@%d: %w", r.Topic, r.Partition, r.Offset, ctx.Err())
	}
	if res.Outcome == jft.OutcomeFailed && res.Error.Code == jft.CodeAuthFailed {
		// HelseID is down for this tenant: that is not the event's fault, so it gets no
		// failed result. The consumer retries it with backoff, holding this tenant's
		// records (same key) while other tenants flow.
		span.SetStatus(codes.Error, "credentials unavailable")
		p.held(res.Tenant, true)
		return ErrCredentialsUnavailable
	}
	if res.Outcome == jft.OutcomeFailed && p.outage(sent) {
		// The WriteAPI is down, which is not this record's fault. Hold it (and, by order,
		// its key) until the WriteAPI answers again.
		span.SetStatus(codes.Error, "writeapi down")
		p.held(res.Tenant, true)
		return ErrWriteAPIDown
	}
	// From here on the record is only published (Publish retries until ctx ends; an ended
	// ctx is not retried), so the WriteAPI is never called for it again: its key's next
	// record may go.
	jft.CallDone(ctx)
	res.ReceivedAt = received
	res.CompletedAt = p.now()
	res.TraceID = span.SpanContext().TraceID().String()
	annotate(span, &res)

	if err := p.publish(ctx, r, res); err != nil {
		return err
	}
	p.logResult(ctx, r, &res)
	for _, o := range p.observers {
		o.Observe(r, &res)
	}
	if res.Tenant != "" && res.Attempts > 0 {
		p.held(res.Tenant, false)
	}
	return nil
}

// processSpan starts the record's process span, continuing the trace kotel (or the
// gateway's receive hook) extracted into r.Context.
func (p *Pipeline) processSpan(r *kgo.Record) trace.Span {
	if p.unsampled != nil && !trace.SpanContextFromContext(r.Context).IsSampled() {
		parent := r.Context
		if parent == nil {
			parent = context.Background()
		}
		_, span := p.unsampled.Start(parent, "process", trace.WithSpanKind(trace.SpanKindConsumer))
		return span
	}
	_, span := p.tracer.WithProcessSpan(r)
	return span
}

// held tells the tenant observers whether tenant's records are being held.
func (p *Pipeline) held(tenant string, held bool) {
	for _, o := range p.tenantObs {
		o.Held(tenant, held)
	}
}

// outage reports whether a record whose retries ran out should be held: something was
// sent, and the Sender (writeapi.Client) finds the WriteAPI down, as opposed to failing
// this record while others go through.
func (p *Pipeline) outage(sent bool) bool {
	d, ok := p.sender.(interface{ Down() bool })
	return sent && ok && d.Down()
}

// process runs transform and the WriteAPI call and returns the result without timestamps,
// and whether anything was sent.
func (p *Pipeline) process(ctx context.Context, r *kgo.Record) (jft.Result, bool) {
	kind := p.cfg.kindOf(r.Topic)
	res := jft.Result{
		Schema:  jft.SchemaV1,
		EventID: eventID(r),
		Kind:    kind,
		Source:  jft.Source{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset},
	}
	cmd, err := p.validator.Transform(inputOf(kind, r))
	res.Tenant, res.ResourceType, res.ResourceID = cmd.Tenant, cmd.ResourceType, cmd.ResourceID
	if err != nil {
		reject(&res, jft.OutcomeRejected, err)
		return res, false
	}
	cmd.EventID = res.EventID
	for _, o := range p.tenantObs {
		o.SendStarted(cmd.Tenant)
	}
	resp, err := p.sender.Send(ctx, cmd)
	sent := resp.Attempts > 0
	for _, o := range p.tenantObs {
		o.SendDone(cmd.Tenant)
	}
	res.Attempts, res.HTTPStatus = resp.Attempts, resp.Status
	if err != nil {
		outcome := jft.OutcomeFailed
		if jft.IsPermanent(err) {
			outcome = jft.OutcomeRejected
		}
		reject(&res, outcome, err)
		return res, sent
	}
	res.Outcome = jft.OutcomeAccepted
	res.Location = resp.Location
	if resp.ResourceID != "" {
		res.ResourceID = resp.ResourceID
	}
	res.Warnings = cmd.Warnings
	return res, sent
}

// reject fills the error part from err's code and our message; a foreign error becomes
// INTERNAL with a fixed message, so no dependency's text reaches a result.
func reject(res *jft.Result, outcome jft.Outcome, err error) {
	e := jft.AsError(err)
	res.Outcome = outcome
	issues := e.Issues
	if len(issues) > jft.MaxIssues {
		issues = issues[:jft.MaxIssues]
	}
	res.Error = &jft.ResultError{Code: e.Code, Message: e.Message, Issues: issues}
}

// publish writes the result, retrying with capped exponential backoff until it is durable
// or ctx ends. Retrying here rather than in the consumer keeps the WriteAPI call from being
// repeated because Kafka was briefly unavailable.
func (p *Pipeline) publish(ctx context.Context, r *kgo.Record, res jft.Result) error {
	wait := p.publishBackoffMin
	for {
		err := p.publisher.Publish(ctx, r, res)
		if err == nil {
			return nil
		}
		p.log.WarnContext(ctx, "result not yet durable, retrying",
			slog.String("topic", r.Topic), slog.Int("partition", int(r.Partition)), slog.Int64("offset", r.Offset),
			slog.String("error", err.Error()))
		select {
		case <-ctx.Done():
			return fmt.Errorf("publish result of %s/%d@%d: %w", r.Topic, r.Partition, r.Offset, err)
		case <-time.After(wait):
		}
		wait = min(2*wait, p.publishBackoffMax)
	}
}

func (p *Pipeline) logResult(ctx context.Context, r *kgo.Record, res *jft.Result) {
	level := slog.LevelDebug
	attrs := []slog.Attr{
		slog.String("event_id", res.EventID), slog.String("outcome", string(res.Outcome)),
		slog.String("tenant", res.Tenant), slog.String("resource_type", res.ResourceType),
		slog.String("topic", r.Topic), slog.Int("partition", int(r.Partition)), slog.Int64("offset", r.Offset),
		slog.Int("http_status", res.HTTPStatus), slog.Int("attempts", res.Attempts),
	}
	if res.Error != nil {
		// A rejection is the producer's business (it is in the result); a failure is ours.
		level = slog.LevelInfo
		if res.Outcome == jft.OutcomeFailed {
			level = slog.LevelWarn
		}
		attrs = append(attrs, slog.String("code", string(res.Error.Code)))
	}
	p.log.LogAttrs(ctx, level, "result", attrs...)
}

func annotate(span trace.Span, res *jft.Result) {
	span.SetAttributes(
		attribute.String("jft.outcome", string(res.Outcome)),
		attribute.String("jft.kind", string(res.Kind)),
		attribute.String("jft.tenant", res.Tenant),
		attribute.Int("jft.attempts", res.Attempts),
	)
	if res.Error != nil {
		span.SetAttributes(attribute.String("jft.error.code", string(res.Error.Code)))
		if res.Outcome == jft.OutcomeFailed {
			span.SetStatus(codes.Error, string(res.Error.Code))
		}
	}
}

// eventID is the caller's jft-event-id, else the record's coordinates, which are unique
// and stable across redeliveries.
func eventID(r *kgo.Record) string {
	for _, h := range r.Headers {
		if h.Key == jft.HeaderEventID && len(h.Value) > 0 && len(h.Value) <= 200 {
			return string(h.Value)
		}
	}
	return r.Topic + "-" + strconv.FormatInt(int64(r.Partition), 10) + "-" + strconv.FormatInt(r.Offset, 10)
}

func inputOf(kind jft.Kind, r *kgo.Record) transform.Input {
	in := transform.Input{Kind: kind, Key: r.Key, Value: r.Value, Headers: make([]transform.Header, len(r.Headers))}
	for i, h := range r.Headers {
		in.Headers[i] = transform.Header{Key: h.Key, Value: h.Value}
	}
	return in
}
