package consumer

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// kafka is one test's broker: an in-process kfake cluster, or the real Kafka named by
// JFT_TEST_KAFKA_SEEDS (same tests, unique topic and group names per test).
type kafka struct {
	t     *testing.T
	seeds []string
	topic string
	group string
	parts int
	admin *kadm.Client
	cl    *kgo.Client
}

func newKafka(t *testing.T, partitions int) *kafka {
	t.Helper()
	name := strings.NewReplacer("/", ".", " ", "_").Replace(t.Name()) + fmt.Sprintf(".%d", time.Now().UnixNano())
	k := &kafka{t: t, topic: "in." + name, group: "g." + name, parts: partitions}
	if s := os.Getenv("JFT_TEST_KAFKA_SEEDS"); s != "" {
		k.seeds = strings.Split(s, ",")
	} else {
		c, err := kfake.NewCluster(kfake.NumBrokers(1))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		k.seeds = c.ListenAddrs()
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.seeds...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	k.cl = cl
	k.admin = kadm.NewClient(cl)
	if _, err := k.admin.CreateTopic(context.Background(), int32(partitions), 1, nil, k.topic); err != nil {
		t.Fatal(err)
	}
	return k
}

// produce writes n records round-robin over partitions, key = keyOf(i), value = i.
func (k *kafka) produce(n int, keyOf func(i int) string) {
	k.t.Helper()
	recs := make([]*kgo.Record, n)
	for i := range n {
		recs[i] = &kgo.Record{Topic: k.topic, Partition: int32(i % k.parts), Key: []byte(keyOf(i)), Value: []byte(fmt.Sprint(i))}
	}
	if err := k.cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		k.t.Fatal(err)
	}
}

// committed returns the group's committed offset per partition (-1 when none).
func (k *kafka) committed() map[int32]int64 {
	k.t.Helper()
	out := map[int32]int64{}
	for p := range k.parts {
		out[int32(p)] = -1
	}
	resp, err := k.admin.FetchOffsets(context.Background(), k.group)
	if err != nil {
		k.t.Fatal(err)
	}
	resp.Each(func(o kadm.OffsetResponse) {
		if o.Topic == k.topic {
			out[o.Partition] = o.At
		}
	})
	return out
}

func (k *kafka) config() Config {
	return Config{
		Brokers: k.seeds, Group: k.group, GroupProtocol: ProtocolAuto, Topics: []string{k.topic},
		Ordering: OrderKey, MaxInFlightPerPartition: 16, MaxInFlight: 64,
		DrainTimeout: 10 * time.Second, SessionTimeout: 6 * time.Second, RebalanceTimeout: 10 * time.Second,
		CommitInterval: 200 * time.Millisecond, FetchMaxWait: 100 * time.Millisecond, FetchMaxBytes: 4 << 20, FetchMaxPartitionBytes: 256 << 10,
	}
}

// running is a consumer started in the background.
type running struct {
	c    *Consumer
	stop context.CancelFunc
	done chan error
	once sync.Once
}

func start(t *testing.T, cfg Config, h Handler) *running {
	t.Helper()
	c, err := New(cfg, h, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{c: c, stop: cancel, done: make(chan error, 1)}
	go func() { r.done <- c.Run(ctx) }()
	t.Cleanup(func() { r.shutdown(t) })
	return r
}

func (r *running) shutdown(t *testing.T) {
	t.Helper()
	r.once.Do(func() {
		r.stop()
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("consumer did not stop within 30s")
		}
	})
}

// seen records which record values were handled, how often and in what order per key.
type seen struct {
	mu     sync.Mutex
	count  map[string]int
	order  map[string][]int64 // key → offsets in handling order
	total  int
	notify chan struct{}
}

func newSeen() *seen {
	return &seen{count: map[string]int{}, order: map[string][]int64{}, notify: make(chan struct{}, 1)}
}

func (s *seen) add(r *kgo.Record) {
	s.mu.Lock()
	id := fmt.Sprintf("%d/%d", r.Partition, r.Offset)
	s.count[id]++
	s.order[string(r.Key)] = append(s.order[string(r.Key)], r.Offset)
	s.total++
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

func (s *seen) distinct() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.count)
}

// concurrency tracks how many handlers run at once, and the most that ever did.
type concurrency struct{ now, peak atomic.Int32 }

// enter counts a handler in; call the returned function when it leaves.
func (c *concurrency) enter() (leave func()) {
	n := c.now.Add(1)
	for m := c.peak.Load(); n > m && !c.peak.CompareAndSwap(m, n); m = c.peak.Load() {
	}
	return func() { c.now.Add(-1) }
}

// held blocks a handler until release is closed, or returns ctx's error when the record is
// cancelled first.
func held(ctx context.Context, release <-chan struct{}) error {
	select {
	case <-release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// waitFor waits until cond holds, polling on notifications, or fails after d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
