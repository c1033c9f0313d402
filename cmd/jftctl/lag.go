package main

import (
	"errors"
	"fmt"
	"sort"
	"text/tabwriter"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// lag prints the group's lag per input partition and per municipality. A partition's lag
// is its end offset minus the group's committed offset (or its log start, where the
// gateway starts when nothing is committed), read from the offsets themselves, so it is
// the same for classic and KIP-848 groups and whether or not a member is running. The lag
// per municipality counts the keys (or jft-tenant headers) of the uncommitted records,
// reading at most -scan-limit of them.
func (c *cli) lag(args []string) error {
	fs := c.flags("lag")
	brokers := c.brokersFlag(fs)
	group := fs.String("group", c.env.Consumer.Group, "consumer group (JFT_KAFKA_GROUP)")
	scanLimit := fs.Int("scan-limit", 100_000, "read at most this many uncommitted records to count the lag per municipality (0: skip)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("lag takes no arguments: %q", fs.Args())
	}
	if *scanLimit < 0 {
		return fmt.Errorf("-scan-limit: %d is negative", *scanLimit)
	}
	topics := c.env.Pipeline.Topics()
	cl, err := c.client(*brokers)
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	committed, err := adm.FetchOffsets(c.ctx, *group)
	if errors.Is(err, kerr.GroupIDNotFound) {
		committed, err = nil, nil // a group that never committed: everything is lag
	}
	if err != nil {
		return fmt.Errorf("committed offsets of %s: %w", *group, err)
	}
	sp, bad, err := readable(c.ctx, adm, topics...)
	if err != nil {
		return err
	}
	ends, err := adm.ListEndOffsets(c.ctx, topics...)
	if err != nil {
		return fmt.Errorf("end offsets: %w", err)
	}

	var rows []partLag
	var total int64
	scan := spans{} // the uncommitted records that are readable
	ends.Each(func(e kadm.ListedOffset) {
		s, ok := sp[e.Topic][e.Partition]
		if e.Err != nil || !ok {
			return
		}
		at, from := int64(-1), s.from
		if o, ok := committed.Lookup(e.Topic, e.Partition); ok && o.Err == nil && o.At >= 0 {
			at, from = o.At, max(s.from, o.At)
		}
		r := partLag{topic: e.Topic, partition: e.Partition, committed: at, end: e.Offset, lag: max(0, e.Offset-from)}
		rows = append(rows, r)
		total += r.lag
		if from < s.to {
			scan.set(e.Topic, e.Partition, from, s.to)
		}
	})
	sort.Slice(rows, func(i, j int) bool {
		return rows[i].topic < rows[j].topic || rows[i].topic == rows[j].topic && rows[i].partition < rows[j].partition
	})
	for _, t := range topics {
		if err := bad[t]; err != nil {
			fmt.Fprintf(c.stderr, "topic %s: %v\n", t, err)
		}
	}
	fmt.Fprintf(c.stdout, "group %s\n", *group)
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "topic\tpartition\tcommitted\tend\tlag\t\n")
	for _, r := range rows {
		at := "-"
		if r.committed >= 0 {
			at = fmt.Sprint(r.committed)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\t\n", r.topic, r.partition, at, r.end, r.lag)
	}
	fmt.Fprintf(tw, "total\t\t\t\t%d\t\n", total)
	if err := tw.Flush(); err != nil {
		return err
	}
	if *scanLimit == 0 || total == 0 {
		return nil
	}

	counts := map[string]int64{}
	scanned := 0
	err = c.readSpans(*brokers, scan, func(r *kgo.Record) bool {
		counts[orgnrOrOther(r.Key, r.Headers)]++
		scanned++
		return scanned < *scanLimit
	})
	if err != nil {
		return fmt.Errorf("count uncommitted records: %w", err)
	}
	tenants := make([]string, 0, len(counts))
	for t := range counts {
		tenants = append(tenants, t)
	}
	sort.Slice(tenants, func(i, j int) bool {
		a, b := tenants[i], tenants[j]
		return counts[a] > counts[b] || counts[a] == counts[b] && a < b
	})
	fmt.Fprintf(c.stdout, "\nper municipality (jft-tenant header, else key), %d uncommitted records read", scanned)
	if scanned >= *scanLimit {
		fmt.Fprintf(c.stdout, " (stopped at -scan-limit)")
	}
	fmt.Fprintln(c.stdout, ":")
	tw = tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "tenant\trecords\t\n")
	for _, t := range tenants {
		fmt.Fprintf(tw, "%s\t%d\t\n", t, counts[t])
	}
	return tw.Flush()
}

// partLag is one partition's lag; committed is -1 when the group has committed nothing.
type partLag struct {
	topic               string
	partition           int32
	committed, end, lag int64
}
