package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/jft-gateway/jft-gateway/internal/jft"
	"github.com/jft-gateway/jft-gateway/internal/samples"
	"github.com/jft-gateway/jft-gateway/internal/tenants"
)

// produce writes events to the events topic: the given files (directories: their *.json
// files), or -generate N synthetic events with synthetic identity numbers for the test
// environment. The key is the municipality; each record gets a jft-event-id.
func (c *cli) produce(args []string) error {
	fs, brokers := c.flags("produce")
	topic := fs.String("topic", c.env.Pipeline.EventsTopic, "topic to write to (JFT_TOPIC_EVENTS)")
	tenant := fs.String("tenant", "", "municipality organisation number: the record key (required for files; generated events spread over the demo municipalities when empty)")
	generate := fs.Int("generate", 0, "generate this many synthetic events (Bundle, Composition, MedicationDispense in turn) instead of reading files")
	seed := fs.Uint64("seed", uint64(time.Now().UnixNano()), "seed of the generator")
	progress := fs.Int("progress", 1000, "report progress every this many records (0: never)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var recs func(yield func(*kgo.Record) bool) error
	switch {
	case *generate > 0 && fs.NArg() > 0:
		return fmt.Errorf("give files or -generate, not both")
	case *generate > 0:
		ts := tenants.DemoOrgnrs()
		if *tenant != "" {
			ts = []string{*tenant}
		}
		g, err := samples.NewGenerator(*seed, ts, time.Now())
		if err != nil {
			return fmt.Errorf("generator: %w", err)
		}
		recs = func(yield func(*kgo.Record) bool) error {
			for i := 0; i < *generate; i++ {
				ev := g.Next(i)
				id := fmt.Sprintf("jftctl-%d-%d", *seed, i)
				if !yield(record(*topic, ev.Tenant, id, ev.Value)) {
					return nil
				}
			}
			return nil
		}
	case fs.NArg() > 0:
		if *tenant == "" {
			return fmt.Errorf("-tenant: the municipality's organisation number is needed as the key of events from files")
		}
		files, err := jsonFiles(fs.Args())
		if err != nil {
			return err
		}
		recs = func(yield func(*kgo.Record) bool) error {
			for _, f := range files {
				b, err := os.ReadFile(f)
				if err != nil {
					return fmt.Errorf("read %s: %w", f, err)
				}
				if !yield(record(*topic, *tenant, filepath.Base(f), b)) {
					return nil
				}
			}
			return nil
		}
	default:
		return fmt.Errorf("nothing to produce: give files or directories, or -generate N")
	}

	cl, err := c.client(*brokers, kgo.ProducerBatchMaxBytes(2<<20), kgo.MaxBufferedRecords(10_000))
	if err != nil {
		return err
	}
	defer cl.Close()
	var sent, acked atomic.Int64
	var mu sync.Mutex
	var firstErr error
	start := time.Now()
	err = recs(func(r *kgo.Record) bool {
		cl.Produce(c.ctx, r, func(_ *kgo.Record, err error) {
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
				return
			}
			if n := acked.Add(1); *progress > 0 && n%int64(*progress) == 0 {
				fmt.Fprintf(c.stderr, "  %d acknowledged (%.0f/s)\n", n, float64(n)/time.Since(start).Seconds())
			}
		})
		sent.Add(1)
		return c.ctx.Err() == nil
	})
	if ferr := cl.Flush(c.ctx); ferr != nil && err == nil {
		err = fmt.Errorf("flush: %w", ferr)
	}
	if err == nil && firstErr != nil {
		err = fmt.Errorf("produce to %s: %w", *topic, firstErr)
	}
	fmt.Fprintf(c.stdout, "produced %d of %d records to %s in %s\n", acked.Load(), sent.Load(), *topic, time.Since(start).Round(time.Millisecond))
	return err
}

func record(topic, tenant, id string, value []byte) *kgo.Record {
	return &kgo.Record{Topic: topic, Key: []byte(tenant), Value: value,
		Headers: []kgo.RecordHeader{{Key: jft.HeaderEventID, Value: []byte(id)}}}
}

// jsonFiles expands directories to their *.json files, sorted.
func jsonFiles(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, a)
			continue
		}
		matches, err := filepath.Glob(filepath.Join(a, "*.json"))
		if err != nil {
			return nil, err
		}
		sort.Strings(matches)
		out = append(out, matches...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no .json files in %s", strings.Join(args, " "))
	}
	return out, nil
}
