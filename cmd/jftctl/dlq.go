package main

import (
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/jft-gateway/jft-gateway/internal/jft"
	"github.com/jft-gateway/jft-gateway/producer"
)

// dlqHeaders are the headers the gateway appends to an input when it dead-letters it
// (producer.deadLetter); a replay takes them off again.
var dlqHeaders = map[string]bool{
	jft.HeaderOutcome: true, jft.HeaderEventID: true, jft.HeaderErrorCode: true, producer.HeaderDLQErrorMessage: true,
	producer.HeaderDLQSourceTopic: true, producer.HeaderDLQSourcePartition: true, producer.HeaderDLQSourceOffset: true,
}

// dlqReplay copies dead-lettered inputs back to the topic they came from, with their key,
// value and own headers, reading the DLQ up to its end as it was at the start. The DLQ is
// at-least-once, so copies of the same input (same jft-source-*) are replayed once. The
// DLQ itself is left as it is: replaying twice sends twice.
func (c *cli) dlqReplay(args []string) error {
	fs := c.flags("dlq replay")
	brokers := c.brokersFlag(fs)
	topic := fs.String("topic", c.env.Producer.DLQTopic, "dead-letter topic (JFT_TOPIC_DLQ)")
	dry := fs.Bool("dry-run", false, "print what would be replayed and write nothing")
	tenant := fs.String("tenant", "", "only this municipality (jft-tenant header, else the key)")
	code := fs.String("code", "", "only inputs dead-lettered with this error code (e.g. WRITEAPI_UNAVAILABLE)")
	n := fs.Int("n", 0, "replay at most this many (0: all)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("dlq replay takes no arguments: %q", fs.Args())
	case *n < 0:
		return fmt.Errorf("-n: %d is negative", *n)
	case *topic == "":
		return fmt.Errorf("-topic: no DLQ topic (JFT_TOPIC_DLQ is empty)")
	}
	cl, err := c.client(*brokers)
	if err != nil {
		return err
	}
	defer cl.Close()
	sp, bad, err := readable(c.ctx, kadm.NewClient(cl), *topic)
	if err != nil {
		return fmt.Errorf("dlq %s: %w", *topic, err)
	}
	if err := bad[*topic]; err != nil {
		return fmt.Errorf("dlq %s: %w", *topic, err)
	}

	verb := "replay"
	if *dry {
		verb = "would replay"
	}
	var (
		read, matched, dups, orphans int
		seen                         = map[string]bool{}
		mu                           sync.Mutex // guards acked and firstErr, set by promises
		acked                        int
		firstErr                     error
		start                        = time.Now()
	)
	err = c.readSpans(*brokers, sp, func(r *kgo.Record) bool {
		read++
		d, ok := parseDeadLetter(r)
		switch {
		case !ok:
			orphans++
			fmt.Fprintf(c.stderr, "skipping %s/%d@%d: no %s header, so no topic to replay to\n", r.Topic, r.Partition, r.Offset, producer.HeaderDLQSourceTopic)
			return true
		case seen[d.source]:
			dups++
			return true
		}
		seen[d.source] = true
		if *tenant != "" && d.tenant != *tenant || *code != "" && d.code != *code {
			return true
		}
		matched++
		fmt.Fprintf(c.stdout, "%-12s  %s/%d@%d → %s  (from %s)  tenant %s  %s  event %s\n",
			verb, r.Topic, r.Partition, r.Offset, d.record.Topic, d.source, d.tenant, d.code, d.eventID)
		if !*dry {
			cl.Produce(c.ctx, d.record, func(_ *kgo.Record, err error) {
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					acked++
				} else if firstErr == nil {
					firstErr = err
				}
			})
		}
		return *n == 0 || matched < *n
	})
	if ferr := cl.Flush(c.ctx); ferr != nil && err == nil {
		err = fmt.Errorf("flush: %w", ferr)
	}
	mu.Lock()
	defer mu.Unlock()
	if err == nil && firstErr != nil {
		err = fmt.Errorf("replay: %w", firstErr)
	}
	skipped := ""
	if dups > 0 || orphans > 0 {
		skipped = fmt.Sprintf(" (skipped %d repeated copies, %d without a source)", dups, orphans)
	}
	if *dry {
		fmt.Fprintf(c.stdout, "dry run: %d of %d dead letters match%s; nothing written\n", matched, read, skipped)
	} else {
		fmt.Fprintf(c.stdout, "replayed %d of %d dead letters%s in %s\n", acked, read, skipped, time.Since(start).Round(time.Millisecond))
	}
	return err
}

// deadLetter is a DLQ record taken apart: the input to produce again, and what it says
// about it.
type deadLetter struct {
	record                *kgo.Record // the input: its topic, key, value and own headers
	source                string      // topic/partition@offset of the input
	tenant, code, eventID string
}

// parseDeadLetter restores the input a DLQ record was made from. The gateway appends its
// headers after the input's own, each once, so the trailing run of them is taken off; the
// input's own headers (a jft-event-id or jft-tenant of its own included) stay as they were,
// in order. An input without a jft-event-id gets the one its result had, so the result of
// the replay can be matched with the failed one. ok is false when no source topic is
// named.
func parseDeadLetter(r *kgo.Record) (d deadLetter, ok bool) {
	own := len(r.Headers)
	added := map[string]string{}
	for own > 0 {
		h := r.Headers[own-1]
		if _, twice := added[h.Key]; !dlqHeaders[h.Key] || twice {
			break
		}
		added[h.Key] = string(h.Value)
		own--
	}
	topic := added[producer.HeaderDLQSourceTopic]
	if topic == "" {
		return d, false
	}
	headers := append([]kgo.RecordHeader(nil), r.Headers[:own]...)
	eventID, hasOwnID := "", false
	for _, h := range headers {
		if h.Key == jft.HeaderEventID {
			eventID, hasOwnID = string(h.Value), true
		}
	}
	if !hasOwnID && added[jft.HeaderEventID] != "" {
		eventID = added[jft.HeaderEventID]
		headers = append(headers, kgo.RecordHeader{Key: jft.HeaderEventID, Value: []byte(eventID)})
	}
	return deadLetter{
		record: &kgo.Record{Topic: topic, Key: r.Key, Value: r.Value, Headers: headers},
		source: fmt.Sprintf("%s/%s@%s", topic, added[producer.HeaderDLQSourcePartition], added[producer.HeaderDLQSourceOffset]),
		tenant: orgnrOrOther(r.Key, headers), code: added[jft.HeaderErrorCode], eventID: eventID,
	}, true
}
