package main

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// span is the offsets [from, to) of one partition that a command reads.
type span struct{ from, to int64 }

// spans are the spans of partitions by topic.
type spans map[string]map[int32]span

func (s spans) set(topic string, partition int32, from, to int64) {
	if s[topic] == nil {
		s[topic] = map[int32]span{}
	}
	s[topic][partition] = span{from, to}
}

// readable returns the part of each partition of topics that can be read now: from the log
// start offset to the last stable offset, which is the end for a read_committed reader
// (the records of a transaction still open come after it). Bounding a read by the end as
// it was at the start is what lets dlq replay and lag finish instead of following the log.
// A topic that cannot be listed (it does not exist, say) is in bad with its error.
func readable(ctx context.Context, adm *kadm.Client, topics ...string) (sp spans, bad map[string]error, err error) {
	starts, err := adm.ListStartOffsets(ctx, topics...)
	if err != nil {
		return nil, nil, fmt.Errorf("start offsets: %w", err)
	}
	ends, err := adm.ListCommittedOffsets(ctx, topics...)
	if err != nil {
		return nil, nil, fmt.Errorf("end offsets: %w", err)
	}
	sp, bad = spans{}, map[string]error{}
	ends.Each(func(e kadm.ListedOffset) {
		s, ok := starts.Lookup(e.Topic, e.Partition)
		switch {
		case e.Err != nil:
			bad[e.Topic] = e.Err
		case ok && s.Err != nil:
			bad[e.Topic] = s.Err
		case ok:
			sp.set(e.Topic, e.Partition, s.Offset, e.Offset)
		default:
			sp.set(e.Topic, e.Partition, 0, e.Offset)
		}
	})
	return sp, bad, nil
}

// readSpans calls fn with every committed data record in sp, in offset order per
// partition, until every partition is read to the end of its span, fn returns false or the
// context ends. It reads read_committed and keeps the control records (transaction
// markers) only to see them go by: a partition whose last offset is a marker, or whose
// last records were aborted, still reaches its end, so the read never waits for records
// that will not come.
func (c *cli) readSpans(brokers string, sp spans, fn func(*kgo.Record) bool) error {
	type tp struct {
		topic     string
		partition int32
	}
	offsets := map[string]map[int32]kgo.Offset{}
	left := map[tp]int64{} // partition → end of its span
	for t, ps := range sp {
		for p, s := range ps {
			if s.from >= s.to {
				continue
			}
			if offsets[t] == nil {
				offsets[t] = map[int32]kgo.Offset{}
			}
			offsets[t][p] = kgo.NewOffset().At(s.from)
			left[tp{t, p}] = s.to
		}
	}
	if len(left) == 0 {
		return nil
	}
	cl, err := c.client(brokers, kgo.ConsumePartitions(offsets),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())
	if err != nil {
		return err
	}
	defer cl.Close()
	for len(left) > 0 {
		fetches := cl.PollFetches(c.ctx)
		if err := c.ctx.Err(); err != nil {
			return err
		}
		if errs := fetches.Errors(); len(errs) > 0 {
			e := errs[0]
			return fmt.Errorf("read %s/%d: %w", e.Topic, e.Partition, e.Err)
		}
		for _, r := range fetches.Records() {
			k := tp{r.Topic, r.Partition}
			end, ok := left[k]
			if !ok {
				continue
			}
			if r.Offset+1 >= end {
				delete(left, k)
			}
			if r.Offset >= end || r.Attrs.IsControl() {
				continue
			}
			if !fn(r) {
				return nil
			}
		}
	}
	return nil
}
