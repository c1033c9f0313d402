package main

import (
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/jft-gateway/jft-gateway/internal/jft"
	"github.com/jft-gateway/jft-gateway/producer"
)

// dlqHeaders are what the gateway adds to a dead-lettered input; a replay removes them.
var dlqHeaders = map[string]bool{
	jft.HeaderOutcome: true, jft.HeaderErrorCode: true, producer.HeaderDLQErrorMessage: true,
	producer.HeaderDLQSourceTopic: true, producer.HeaderDLQSourcePartition: true, producer.HeaderDLQSourceOffset: true,
}

// dlqReplay copies dead-lettered inputs back to the topic they came from, with their key,
// value and original headers (and their event id), up to the DLQ's end as it was at the
// start. The DLQ itself is left as it is.
func (c *cli) dlqReplay(args []string) error {
	fs, brokers := c.flags("dlq replay")
	topic := fs.String("topic", c.env.Producer.DLQTopic, "dead-letter topic (JFT_TOPIC_DLQ)")
	dry := fs.Bool("dry-run", false, "print what would be replayed and write nothing")
	tenant := fs.String("tenant", "", "only this municipality (the record key)")
	code := fs.String("code", "", "only inputs dead-lettered with this error code")
	n := fs.Int("n", 0, "replay at most this many (0: all)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *topic == "" {
		return fmt.Errorf("-topic: no DLQ topic (JFT_TOPIC_DLQ is empty)")
	}
	cl, err := c.client(*brokers, kgo.ConsumeTopics(*topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return err
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(c.ctx, *topic)
	if err != nil {
		return fmt.Errorf("end offsets of %s: %w", *topic, err)
	}
	remaining := map[int32]int64{} // partition → end offset still to reach
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err == nil && o.Offset > 0 {
			remaining[o.Partition] = o.Offset
		}
	})
	var out []*kgo.Record
	read, matched := 0, 0
	for len(remaining) > 0 && (*n == 0 || matched < *n) {
		fetches := cl.PollFetches(c.ctx)
		if c.ctx.Err() != nil {
			return c.ctx.Err()
		}
		for _, r := range fetches.Records() {
			end, ok := remaining[r.Partition]
			if !ok || r.Offset >= end {
				continue
			}
			if r.Offset+1 >= end {
				delete(remaining, r.Partition)
			}
			read++
			rec, rcode := replayed(r)
			if rec.Topic == "" || *tenant != "" && string(r.Key) != *tenant || *code != "" && rcode != *code {
				continue
			}
			if *n > 0 && matched >= *n {
				continue
			}
			matched++
			fmt.Fprintf(c.stdout, "%s  %s@%d → %s  key %s  %s\n", map[bool]string{true: "would replay", false: "replay"}[*dry],
				*topic, r.Offset, rec.Topic, r.Key, rcode)
			out = append(out, rec)
		}
	}
	if *dry {
		fmt.Fprintf(c.stdout, "dry run: %d of %d dead letters match; nothing written\n", matched, read)
		return nil
	}
	start := time.Now()
	if err := cl.ProduceSync(c.ctx, out...).FirstErr(); err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	fmt.Fprintf(c.stdout, "replayed %d of %d dead letters in %s\n", len(out), read, time.Since(start).Round(time.Millisecond))
	return nil
}

// replayed is the input as it was before dead-lettering, and the code it was dead-lettered
// with (the last jft-error-code header: the input may carry an earlier one of its own).
func replayed(r *kgo.Record) (*kgo.Record, string) {
	out := &kgo.Record{Key: r.Key, Value: r.Value}
	code, eventID := "", ""
	for _, h := range r.Headers {
		switch {
		case h.Key == producer.HeaderDLQSourceTopic:
			out.Topic = string(h.Value)
		case h.Key == jft.HeaderErrorCode:
			code = string(h.Value)
		case h.Key == jft.HeaderEventID:
			eventID = string(h.Value) // the last: the one the result carried
		}
	}
	for _, h := range r.Headers {
		if !dlqHeaders[h.Key] && h.Key != jft.HeaderEventID {
			out.Headers = append(out.Headers, h)
		}
	}
	if eventID != "" {
		out.Headers = append(out.Headers, kgo.RecordHeader{Key: jft.HeaderEventID, Value: []byte(eventID)})
	}
	return out, code
}
