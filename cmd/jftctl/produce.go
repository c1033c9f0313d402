package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/jft-gateway/jft-gateway/internal/jft"
	"github.com/jft-gateway/jft-gateway/internal/samples"
	"github.com/jft-gateway/jft-gateway/internal/tenants"
	"github.com/jft-gateway/jft-gateway/transform"
)

// produce writes events as the contract wants them (docs/contract.md): the key is the
// municipality's organisation number, jft-event-id is a correlation id the result will
// carry, and nhn-source-system is set when asked for. The events are the given files
// (directories: their *.json files) or -generate N synthetic ones with synthetic identity
// numbers, for the test environment. It waits for every record to be acknowledged.
func (c *cli) produce(args []string) error {
	fs := c.flags("produce")
	brokers := c.brokersFlag(fs)
	topic := fs.String("topic", c.env.Pipeline.EventsTopic, "topic to write to (default JFT_TOPIC_EVENTS; acknowledgements go to JFT_TOPIC_ACKS)")
	tenant := fs.String("tenant", "", "municipality organisation number: the record key (required for files; generated events go to the demo municipalities in turn when empty)")
	generate := fs.Int("generate", 0, "generate this many synthetic events (Bundle, Composition, MedicationDispense in turn) instead of reading files")
	seed := fs.Uint64("seed", uint64(time.Now().UnixNano()), "seed of the generator (the same seed makes the same events and event ids)")
	sourceSystem := fs.String("source-system", "", "nhn-source-system header on every record (empty: none, the gateway sends JFT_SOURCE_SYSTEM)")
	progress := fs.Int("progress", 1000, "report progress on stderr every this many acknowledged records (0: never)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *tenant != "" && transform.CheckOrgnr(*tenant) != "" {
		fmt.Fprintf(c.stderr, "warning: -tenant is not a 9-digit organisation number with a valid check digit; the gateway will reject these records (TENANT_INVALID)\n")
	}
	headers := func(id string) []kgo.RecordHeader {
		h := []kgo.RecordHeader{{Key: jft.HeaderEventID, Value: []byte(id)}}
		if *sourceSystem != "" {
			h = append(h, kgo.RecordHeader{Key: jft.HeaderSourceSystem, Value: []byte(*sourceSystem)})
		}
		return h
	}
	var each func(yield func(*kgo.Record) bool) error
	switch {
	case *generate < 0:
		return fmt.Errorf("-generate: %d is negative", *generate)
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
		each = func(yield func(*kgo.Record) bool) error {
			for i := range *generate {
				ev := g.Next(i)
				id := fmt.Sprintf("jftctl-%d-%d", *seed, i)
				if !yield(&kgo.Record{Topic: *topic, Key: []byte(ev.Tenant), Value: ev.Value, Headers: headers(id)}) {
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
		each = func(yield func(*kgo.Record) bool) error {
			for _, f := range files {
				b, err := os.ReadFile(f)
				if err != nil {
					return fmt.Errorf("read %s: %w", f, err)
				}
				if !yield(&kgo.Record{Topic: *topic, Key: []byte(*tenant), Value: b, Headers: headers(filepath.Base(f))}) {
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
	var (
		mu          sync.Mutex // guards the counts, firstErr and stderr: promises run concurrently with the loop
		sent, acked int
		firstErr    error
		start       = time.Now()
	)
	err = each(func(r *kgo.Record) bool {
		mu.Lock()
		stop := firstErr != nil || c.ctx.Err() != nil
		if !stop {
			sent++
		}
		mu.Unlock()
		if stop {
			return false
		}
		cl.Produce(c.ctx, r, func(_ *kgo.Record, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				return
			}
			acked++
			if *progress > 0 && acked%*progress == 0 {
				fmt.Fprintf(c.stderr, "%d acknowledged (%.0f/s)\n", acked, float64(acked)/time.Since(start).Seconds())
			}
		})
		return true
	})
	if ferr := cl.Flush(c.ctx); ferr != nil && err == nil {
		err = fmt.Errorf("flush: %w", ferr)
	}
	mu.Lock()
	defer mu.Unlock()
	if err == nil && firstErr != nil {
		err = fmt.Errorf("produce to %s: %w", *topic, firstErr)
	}
	if err == nil && c.ctx.Err() != nil {
		err = c.ctx.Err()
	}
	fmt.Fprintf(c.stdout, "produced %d of %d records to %s in %s\n", acked, sent, *topic, time.Since(start).Round(time.Millisecond))
	return err
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
