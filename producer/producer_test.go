package producer

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/jft-gateway/jft-gateway/internal/jft"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newCluster(t *testing.T) (*kfake.Cluster, *kgo.Client) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "results", "dlq"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cl, err := kgo.NewClient(append(Options(Config{}), kgo.SeedBrokers(c.ListenAddrs()...))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return c, cl
}

func readAll(t *testing.T, c *kfake.Cluster, topic string, want int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics(topic))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %s: got %d records, want %d", topic, len(out), want)
		}
		out = append(out, fs.Records()...)
	}
	return out
}

func header(r *kgo.Record, key string) (string, bool) {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value), true
		}
	}
	return "", false
}

func TestPublishWritesResultWithContractHeadersAndSameKey(t *testing.T) {
	c, cl := newCluster(t)
	p, err := New(Config{ResultsTopic: "results", DLQTopic: "dlq"}, cl)
	if err != nil {
		t.Fatal(err)
	}
	in := &kgo.Record{Topic: "events", Partition: 2, Offset: 41, Key: []byte("312229544")}
	res := jft.Result{Schema: jft.SchemaV1, EventID: "e-1", Kind: jft.KindEvent, Outcome: jft.OutcomeAccepted, HTTPStatus: 202, Attempts: 1}
	if err := p.Publish(context.Background(), in, res); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, c, "results", 1)[0]
	if string(got.Key) != "312229544" {
		t.Errorf("key = %q, want the input's key", got.Key)
	}
	var back jft.Result
	if err := json.Unmarshal(got.Value, &back); err != nil {
		t.Fatal(err)
	}
	if back.EventID != "e-1" || back.Outcome != jft.OutcomeAccepted {
		t.Errorf("value = %+v", back)
	}
	for k, want := range map[string]string{"content-type": "application/json", "jft-outcome": "accepted", "jft-event-id": "e-1"} {
		if v, _ := header(got, k); v != want {
			t.Errorf("header %s = %q, want %q", k, v, want)
		}
	}
	if _, ok := header(got, jft.HeaderErrorCode); ok {
		t.Errorf("accepted result carries %s", jft.HeaderErrorCode)
	}
}

func TestPublishDeadLettersByOutcome(t *testing.T) {
	tests := []struct {
		name        string
		outcome     jft.Outcome
		dlqRejected bool
		wantDLQ     bool
	}{
		{"failed goes to the DLQ", jft.OutcomeFailed, false, true},
		{"rejected stays out of the DLQ by default", jft.OutcomeRejected, false, false},
		{"rejected goes to the DLQ when configured", jft.OutcomeRejected, true, true},
		{"accepted never goes to the DLQ", jft.OutcomeAccepted, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, cl := newCluster(t)
			p, err := New(Config{ResultsTopic: "results", DLQTopic: "dlq", DLQRejected: tt.dlqRejected}, cl)
			if err != nil {
				t.Fatal(err)
			}
			in := &kgo.Record{Topic: "events", Partition: 1, Offset: 7, Key: []byte("312229544"), Value: []byte(`{"resourceType":"Bundle"}`),
				Headers: []kgo.RecordHeader{{Key: "nhn-source-system", Value: []byte("ACME")}}}
			res := jft.Result{Schema: jft.SchemaV1, EventID: "e-2", Outcome: tt.outcome}
			if tt.outcome != jft.OutcomeAccepted {
				res.Error = &jft.ResultError{Code: jft.CodeAPIUnavailable, Message: "gave up"}
			}
			if err := p.Publish(context.Background(), in, res); err != nil {
				t.Fatal(err)
			}
			// The result is written after the copy; once it is readable, the copy is too.
			readAll(t, c, "results", 1)
			n := countRecords(t, c, "dlq")
			if got := n == 1; got != tt.wantDLQ {
				t.Fatalf("dlq records = %d, want DLQ copy %v", n, tt.wantDLQ)
			}
			if !tt.wantDLQ {
				return
			}
			d := readAll(t, c, "dlq", 1)[0]
			if string(d.Value) != string(in.Value) || string(d.Key) != string(in.Key) {
				t.Errorf("dlq copy changed key or value")
			}
			for k, want := range map[string]string{"nhn-source-system": "ACME", HeaderDLQSourceTopic: "events", HeaderDLQSourcePartition: "1", HeaderDLQSourceOffset: "7", jft.HeaderErrorCode: string(jft.CodeAPIUnavailable)} {
				if v, _ := header(d, k); v != want {
					t.Errorf("dlq header %s = %q, want %q", k, v, want)
				}
			}
			if len(in.Headers) != 1 {
				t.Errorf("input record's headers were modified: %d", len(in.Headers))
			}
		})
	}
}

// admin returns an admin client of c, closed when the test ends.
func admin(t *testing.T, c *kfake.Cluster) *kadm.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

// countRecords returns the sum of topic's partitions' end offsets.
func countRecords(t *testing.T, c *kfake.Cluster, topic string) int {
	t.Helper()
	ends, err := admin(t, c).ListEndOffsets(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	ends.Each(func(o kadm.ListedOffset) { n += int(o.Offset) })
	return n
}

// batchCounter counts the record batches a client writes.
type batchCounter struct{ batches, records atomic.Int64 }

func (b *batchCounter) OnProduceBatchWritten(_ kgo.BrokerMetadata, _ string, _ int32, m kgo.ProduceBatchMetrics) {
	b.batches.Add(1)
	b.records.Add(int64(m.NumRecords))
}

// TestPublishSharesRequestsWithinTheLinger: results published within the linger of each
// other share a batch (ProduceSync would send each in a request of its own), and each
// Publish still returns only once its result is written.
func TestPublishSharesRequestsWithinTheLinger(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "results"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var bc batchCounter
	cfg := Config{ResultsTopic: "results", Linger: 500 * time.Millisecond}
	cl, err := kgo.NewClient(append(Options(cfg), kgo.SeedBrokers(c.ListenAddrs()...), kgo.WithHooks(&bc))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	p, err := New(cfg, cl)
	if err != nil {
		t.Fatal(err)
	}
	// Five results, 10 ms apart: all within one linger.
	const n = 5
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			in := &kgo.Record{Topic: "events", Offset: int64(i), Key: []byte("312229544")}
			errs <- p.Publish(context.Background(), in, jft.Result{Schema: jft.SchemaV1, EventID: fmt.Sprint(i), Kind: jft.KindEvent, Outcome: jft.OutcomeAccepted})
		})
		time.Sleep(10 * time.Millisecond)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := len(readAll(t, c, "results", n)); got != n {
		t.Fatalf("%d results readable, want %d", got, n)
	}
	for deadline := time.Now().Add(10 * time.Second); bc.records.Load() < n && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond) // the hook runs after the promises
	}
	if b := bc.batches.Load(); b > 2 {
		t.Errorf("%d results went out in %d batches, want them to share one (two if the machine stalled)", n, b)
	}
}

func TestConfigValidateNamesTheVariable(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"results topic required", Config{}, "JFT_TOPIC_RESULTS"},
		{"bad characters", Config{ResultsTopic: "a b"}, "JFT_TOPIC_RESULTS"},
		{"dlq equal to results", Config{ResultsTopic: "r", DLQTopic: "r"}, "JFT_TOPIC_DLQ"},
		{"dlq too long", Config{ResultsTopic: "r", DLQTopic: string(make([]byte, 250))}, "JFT_TOPIC_DLQ"},
		{"negative linger", Config{ResultsTopic: "r", Linger: -time.Millisecond}, "JFT_RESULTS_LINGER"},
		{"linger over a second", Config{ResultsTopic: "r", Linger: 2 * time.Second}, "JFT_RESULTS_LINGER"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want an error naming %s", err, tt.want)
			}
		})
	}
	if err := (Config{ResultsTopic: "jft.results.v1", DLQTopic: "jft.dlq.v1"}).Validate(); err != nil {
		t.Fatalf("defaults rejected: %v", err)
	}
}
