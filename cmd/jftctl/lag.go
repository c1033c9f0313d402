package main

import (
	"fmt"
	"sort"
	"text/tabwriter"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/jft-gateway/jft-gateway/internal/jft"
)

// lag prints the group's lag per input partition (end offset minus committed offset,
// whichever group protocol the group uses) and per municipality, counting the keys of the
// records not yet committed, up to -scan-limit records.
func (c *cli) lag(args []string) error {
	fs, brokers := c.flags("lag")
	group := fs.String("group", c.env.Consumer.Group, "consumer group (JFT_KAFKA_GROUP)")
	scanLimit := fs.Int("scan-limit", 100_000, "read at most this many uncommitted records to count lag per municipality (0: skip)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	topics := c.env.Pipeline.Topics()
	cl, err := c.client(*brokers)
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	committed, err := adm.FetchOffsets(c.ctx, *group)
	if err != nil {
		return fmt.Errorf("committed offsets of %s: %w", *group, err)
	}
	starts, err := adm.ListStartOffsets(c.ctx, topics...)
	if err != nil {
		return fmt.Errorf("start offsets: %w", err)
	}
	ends, err := adm.ListEndOffsets(c.ctx, topics...)
	if err != nil {
		return fmt.Errorf("end offsets: %w", err)
	}
	var rows []partLag
	var total int64
	scan := map[string]map[int32]kgo.Offset{}
	ends.Each(func(e kadm.ListedOffset) {
		if e.Err != nil {
			return
		}
		from := int64(0)
		if s, ok := starts.Lookup(e.Topic, e.Partition); ok && s.Err == nil {
			from = s.Offset
		}
		if o, ok := committed.Lookup(e.Topic, e.Partition); ok && o.Err == nil && o.At >= 0 {
			from = max(from, o.At)
		}
		r := partLag{topic: e.Topic, partition: e.Partition, from: from, end: e.Offset, lag: max(0, e.Offset-from)}
		rows = append(rows, r)
		total += r.lag
		if r.lag > 0 {
			if scan[r.topic] == nil {
				scan[r.topic] = map[int32]kgo.Offset{}
			}
			scan[r.topic][r.partition] = kgo.NewOffset().At(from)
		}
	})
	sort.Slice(rows, func(i, j int) bool {
		return rows[i].topic < rows[j].topic || rows[i].topic == rows[j].topic && rows[i].partition < rows[j].partition
	})
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "topic\tpartition\tcommitted\tend\tlag\t\n")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t\n", r.topic, r.partition, r.from, r.end, r.lag)
	}
	fmt.Fprintf(tw, "total\t\t\t\t%d\t\n", total)
	if err := tw.Flush(); err != nil {
		return err
	}
	if *scanLimit == 0 || total == 0 {
		return nil
	}
	perTenant, scanned, err := c.countKeys(*brokers, scan, endsOf(rows), *scanLimit)
	if err != nil {
		return err
	}
	tenants := make([]string, 0, len(perTenant))
	for t := range perTenant {
		tenants = append(tenants, t)
	}
	sort.Slice(tenants, func(i, j int) bool {
		return perTenant[tenants[i]] > perTenant[tenants[j]] || perTenant[tenants[i]] == perTenant[tenants[j]] && tenants[i] < tenants[j]
	})
	fmt.Fprintf(c.stdout, "\nper municipality (jft-tenant header or key), from %d of %d uncommitted records:\n", scanned, total)
	tw = tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "tenant\tlag\t\n")
	for _, t := range tenants {
		fmt.Fprintf(tw, "%s\t%d\t\n", t, perTenant[t])
	}
	return tw.Flush()
}

// partLag is one partition's lag.
type partLag struct {
	topic          string
	partition      int32
	from, end, lag int64
}

func endsOf(rows []partLag) map[string]map[int32]int64 {
	out := map[string]map[int32]int64{}
	for _, r := range rows {
		if out[r.topic] == nil {
			out[r.topic] = map[int32]int64{}
		}
		out[r.topic][r.partition] = r.end
	}
	return out
}

// tenantOf is the municipality a record is for: its jft-tenant header, else its key, and
// only when that is an organisation number (nine digits). Anything else is counted as
// "(other)": a key might be a patient's identifier, which jftctl never prints.
func tenantOf(r *kgo.Record) string {
	t := r.Key
	for _, h := range r.Headers {
		if h.Key == jft.HeaderTenant {
			t = h.Value
		}
	}
	if len(t) != 9 {
		return "(other)"
	}
	for _, b := range t {
		if b < '0' || b > '9' {
			return "(other)"
		}
	}
	return string(t)
}

// countKeys reads the uncommitted records (from scan's offsets up to ends) and counts them
// by key, up to limit records.
func (c *cli) countKeys(brokers string, scan map[string]map[int32]kgo.Offset, ends map[string]map[int32]int64, limit int) (map[string]int64, int, error) {
	cl, err := c.client(brokers, kgo.ConsumePartitions(scan))
	if err != nil {
		return nil, 0, err
	}
	defer cl.Close()
	remaining := 0
	for _, ps := range scan {
		remaining += len(ps)
	}
	counts := map[string]int64{}
	n := 0
	done := map[string]bool{}
	for len(done) < remaining && n < limit {
		fetches := cl.PollFetches(c.ctx)
		if c.ctx.Err() != nil {
			return nil, n, c.ctx.Err()
		}
		for _, r := range fetches.Records() {
			end := ends[r.Topic][r.Partition]
			if r.Offset >= end || n >= limit {
				continue
			}
			counts[tenantOf(r)]++
			n++
			if r.Offset+1 >= end {
				done[fmt.Sprintf("%s/%d", r.Topic, r.Partition)] = true
			}
		}
	}
	return counts, n, nil
}
