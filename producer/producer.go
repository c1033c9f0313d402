// Package producer writes result records and dead-letter copies to Kafka and returns only
// once the broker has acknowledged them (acks=all, idempotent producer), so that the
// consumer may commit the input's offset afterwards.
package producer

import (
	"context"
	"fmt"
	"strconv"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/jft-gateway/jft-gateway/internal/jft"
)

// DLQ header names, added to the original record's headers.
const (
	HeaderDLQSourceTopic     = "jft-source-topic"
	HeaderDLQSourcePartition = "jft-source-partition"
	HeaderDLQSourceOffset    = "jft-source-offset"
	HeaderDLQErrorMessage    = "jft-error-message"
)

// Producer publishes results. It does not own the client: the caller configures it
// (acks=all and idempotence are franz-go's defaults; Options lists what we require).
type Producer struct {
	cfg Config
	cl  *kgo.Client
}

// Options returns the client options the producer relies on: acks from all in-sync
// replicas with idempotent writes (franz-go's defaults, set explicitly so that no other
// option weakens them) and the linger of cfg.
func Options(cfg Config) []kgo.Opt {
	return []kgo.Opt{
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(cfg.Linger),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)),
	}
}

// New returns a producer writing through cl.
func New(cfg Config, cl *kgo.Client) (*Producer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("producer config: %w", err)
	}
	return &Producer{cfg: cfg, cl: cl}, nil
}

// Publish writes res for the input record in, and its dead-letter copy when the outcome
// calls for one, and returns nil only when every record written is durable. ctx carries the
// trace: the kotel hooks on the client inject its span into the result's traceparent.
// The dead-letter copy is written before the result, so a result never exists without it;
// a retry after a failure may write the copy twice (documented in docs/contract.md).
func (p *Producer) Publish(ctx context.Context, in *kgo.Record, res jft.Result) error {
	recs, err := p.records(ctx, in, res)
	if err != nil {
		return err
	}
	for _, rec := range recs {
		// Produce and wait, not ProduceSync: ProduceSync ends the linger of its partitions
		// at once, so every result would go out in a request of its own.
		done := make(chan error, 1)
		p.cl.Produce(ctx, rec, func(_ *kgo.Record, err error) { done <- err })
		if err := <-done; err != nil {
			return fmt.Errorf("publish %s to %s: %w", kindOf(rec, p.cfg), rec.Topic, err)
		}
	}
	return nil
}

// records are what Publish writes for in, in order: the dead-letter copy when the outcome
// calls for one, then the result.
func (p *Producer) records(ctx context.Context, in *kgo.Record, res jft.Result) ([]*kgo.Record, error) {
	value, err := res.AppendJSON(make([]byte, 0, 640)) // most results fit
	if err != nil {
		return nil, fmt.Errorf("publish result: encode: %w", err)
	}
	rec := &kgo.Record{
		Topic:   p.cfg.ResultsTopic,
		Key:     in.Key,
		Value:   value,
		Headers: resultHeaders(res),
		Context: ctx,
	}
	if p.wantsDLQ(res.Outcome) {
		return []*kgo.Record{p.deadLetter(ctx, in, res), rec}, nil
	}
	return []*kgo.Record{rec}, nil
}

func kindOf(rec *kgo.Record, cfg Config) string {
	if rec.Topic == cfg.ResultsTopic {
		return "result"
	}
	return "dead letter"
}

func (p *Producer) wantsDLQ(o jft.Outcome) bool {
	if p.cfg.DLQTopic == "" {
		return false
	}
	return o == jft.OutcomeFailed || (o == jft.OutcomeRejected && p.cfg.DLQRejected)
}

// resultHeaders are the result record's headers; traceparent is added by kotel.
func resultHeaders(res jft.Result) []kgo.RecordHeader {
	h := []kgo.RecordHeader{
		{Key: jft.HeaderContentType, Value: []byte("application/json")},
		{Key: jft.HeaderOutcome, Value: []byte(res.Outcome)},
		{Key: jft.HeaderEventID, Value: []byte(res.EventID)},
	}
	if res.Error != nil {
		h = append(h, kgo.RecordHeader{Key: jft.HeaderErrorCode, Value: []byte(res.Error.Code)})
	}
	return h
}

// deadLetter copies the input record (key, value, headers) and adds the error headers. The
// headers slice is copied: kotel rewrites traceparent in place on the record it produces.
func (p *Producer) deadLetter(ctx context.Context, in *kgo.Record, res jft.Result) *kgo.Record {
	headers := make([]kgo.RecordHeader, 0, len(in.Headers)+7)
	headers = append(headers, in.Headers...)
	headers = append(headers,
		kgo.RecordHeader{Key: jft.HeaderOutcome, Value: []byte(res.Outcome)},
		kgo.RecordHeader{Key: jft.HeaderEventID, Value: []byte(res.EventID)},
		kgo.RecordHeader{Key: HeaderDLQSourceTopic, Value: []byte(in.Topic)},
		kgo.RecordHeader{Key: HeaderDLQSourcePartition, Value: []byte(strconv.FormatInt(int64(in.Partition), 10))},
		kgo.RecordHeader{Key: HeaderDLQSourceOffset, Value: []byte(strconv.FormatInt(in.Offset, 10))},
	)
	if res.Error != nil {
		headers = append(headers,
			kgo.RecordHeader{Key: jft.HeaderErrorCode, Value: []byte(res.Error.Code)},
			kgo.RecordHeader{Key: HeaderDLQErrorMessage, Value: []byte(res.Error.Message)},
		)
	}
	return &kgo.Record{Topic: p.cfg.DLQTopic, Key: in.Key, Value: in.Value, Headers: headers, Context: ctx}
}
