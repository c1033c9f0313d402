package consumer

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/jft-gateway/jft-gateway/internal/jft"
)

func TestEveryRecordIsHandledOnceAndCommitted(t *testing.T) {
	for _, mode := range []Ordering{OrderKey, OrderPartition, OrderUnordered} {
		t.Run(string(mode), func(t *testing.T) {
			k := newKafka(t, 3)
			const n = 300
			k.produce(n, func(i int) string { return fmt.Sprint(i % 7) })
			s := newSeen()
			cfg := k.config()
			cfg.Ordering = mode
			r := start(t, cfg, func(_ context.Context, rec *kgo.Record) error { s.add(rec); return nil })
			waitFor(t, 30*time.Second, "all records handled", func() bool { return s.distinct() == n })
			waitFor(t, 10*time.Second, "commits at the end of each partition", func() bool {
				for _, off := range k.committed() {
					if off != n/3 {
						return false
					}
				}
				return true
			})
			r.shutdown(t)
			for id, c := range s.count {
				if c != 1 {
					t.Errorf("record %s handled %d times", id, c)
				}
			}
		})
	}
}

// TestKeyOrderUnderConcurrency: handlers sleep randomly, so later records of other keys
// overtake; each key's records must still be handled in offset order, and keys overlap.
func TestKeyOrderUnderConcurrency(t *testing.T) {
	k := newKafka(t, 1)
	const n = 400
	k.produce(n, func(i int) string { return fmt.Sprint("tenant-", i%10) })
	s := newSeen()
	var active concurrency
	r := start(t, k.config(), func(_ context.Context, rec *kgo.Record) error {
		defer active.enter()()
		time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
		s.add(rec)
		return nil
	})
	waitFor(t, 30*time.Second, "all records handled", func() bool { return s.distinct() == n })
	r.shutdown(t)
	for key, offs := range s.order {
		for i := 1; i < len(offs); i++ {
			if offs[i] <= offs[i-1] {
				t.Fatalf("key %s: offset %d handled after %d", key, offs[i], offs[i-1])
			}
		}
	}
	if active.peak.Load() < 2 {
		t.Errorf("at most %d records in flight: keys were not handled concurrently", active.peak.Load())
	}
}

func TestPartitionOrderIsStrict(t *testing.T) {
	k := newKafka(t, 1)
	const n = 100
	k.produce(n, func(i int) string { return fmt.Sprint(i) }) // every key different
	var mu sync.Mutex
	var offs []int64
	var active concurrency
	cfg := k.config()
	cfg.Ordering = OrderPartition
	r := start(t, cfg, func(_ context.Context, rec *kgo.Record) error {
		defer active.enter()()
		time.Sleep(time.Duration(rand.IntN(500)) * time.Microsecond)
		mu.Lock()
		offs = append(offs, rec.Offset)
		mu.Unlock()
		return nil
	})
	waitFor(t, 30*time.Second, "all handled", func() bool { mu.Lock(); defer mu.Unlock(); return len(offs) == n })
	r.shutdown(t)
	for i := range offs {
		if offs[i] != int64(i) {
			t.Fatalf("position %d handled offset %d", i, offs[i])
		}
	}
	if active.peak.Load() != 1 {
		t.Errorf("%d records of one partition in flight in partition mode", active.peak.Load())
	}
}

// TestCommitStopsAtTheOldestUnfinishedRecord holds offset 5 while everything after it
// finishes: the committed offset must not pass 5 until it completes.
func TestCommitStopsAtTheOldestUnfinishedRecord(t *testing.T) {
	k := newKafka(t, 1)
	const n = 40
	k.produce(n, func(i int) string { return fmt.Sprint(i) })
	release := make(chan struct{})
	s := newSeen()
	cfg := k.config()
	cfg.Ordering = OrderUnordered
	cfg.MaxInFlightPerPartition = 64
	r := start(t, cfg, func(ctx context.Context, rec *kgo.Record) error {
		if rec.Offset == 5 {
			if err := held(ctx, release); err != nil {
				return err
			}
		}
		s.add(rec)
		return nil
	})
	waitFor(t, 30*time.Second, "all but offset 5 handled", func() bool { return s.distinct() == n-1 })
	// Give the committer every chance to (wrongly) commit past 5.
	time.Sleep(3 * cfg.CommitInterval)
	if off := k.committed()[0]; off > 5 {
		t.Fatalf("committed offset %d while offset 5 is still in flight", off)
	}
	close(release)
	waitFor(t, 10*time.Second, "commit of everything", func() bool { return k.committed()[0] == n })
	r.shutdown(t)
}

// TestFailingHandlerIsRetriedNotSkipped: one key fails three times; its record is retried,
// later records of the same key wait, and other keys keep flowing.
func TestFailingHandlerIsRetriedNotSkipped(t *testing.T) {
	k := newKafka(t, 1)
	const n = 60
	k.produce(n, func(i int) string { return fmt.Sprint("k", i%3) })
	var failures atomic.Int32
	s := newSeen()
	r := start(t, k.config(), func(_ context.Context, rec *kgo.Record) error {
		if rec.Offset == 0 && failures.Add(1) <= 3 {
			return errors.New("result not durable yet")
		}
		s.add(rec)
		return nil
	})
	waitFor(t, 30*time.Second, "all handled", func() bool { return s.distinct() == n })
	waitFor(t, 10*time.Second, "commit of everything", func() bool { return k.committed()[0] == n })
	r.shutdown(t)
	if failures.Load() < 4 {
		t.Errorf("record 0 was handled %d times, want 3 failures and a success", failures.Load())
	}
	if offs := s.order["k0"]; len(offs) == 0 || offs[0] != 0 {
		t.Errorf("key k0 order %v: record 0 was skipped", offs)
	}
}

// TestBackpressurePausesTheFullPartition blocks the handler: the partition's queue stops
// growing far beyond the window because its fetches are paused.
func TestBackpressurePausesTheFullPartition(t *testing.T) {
	k := newKafka(t, 1)
	// 1 KiB values that do not compress, so that one fetch of at most 16 KiB brings a few
	// records, not all.
	rng := rand.New(rand.NewPCG(1, 2))
	recs := make([]*kgo.Record, 2000)
	for i := range recs {
		v := make([]byte, 1<<10)
		for j := range v {
			v[j] = byte('a' + rng.IntN(26))
		}
		recs[i] = &kgo.Record{Topic: k.topic, Key: []byte(fmt.Sprint(i % 50)), Value: v}
	}
	for i := 0; i < len(recs); i += 10 { // small batches: a fetch returns whole batches
		if err := k.cl.ProduceSync(context.Background(), recs[i:i+10]...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	block := make(chan struct{})
	cfg := k.config()
	cfg.MaxInFlightPerPartition = 8
	cfg.FetchMaxBytes, cfg.FetchMaxPartitionBytes = 1<<20, 16<<10
	r := start(t, cfg, func(ctx context.Context, _ *kgo.Record) error { return held(ctx, block) })
	waitFor(t, 30*time.Second, "the partition to pause", func() bool {
		st := r.c.Stats()
		return len(st) == 1 && st[0].Paused && st[0].InFlight == 8
	})
	st := r.c.Stats()[0]
	// The queue pauses at 64; a fetch already under way may add one fetch's worth (16 KiB,
	// and Kafka always returns at least a whole batch).
	if st.Queued > queueDepth+16+10 {
		t.Errorf("queued %d records while paused: at most one fetch beyond %d expected", st.Queued, queueDepth)
	}
	if st.HighWatermark != 2000 {
		t.Errorf("high watermark %d, want 2000", st.HighWatermark)
	}
	if lag := st.Lag(); lag != -1 && lag != 2000 {
		t.Errorf("lag %d while nothing is done, want 2000 (or unknown before any commit)", lag)
	}
	close(block)
	var last PartitionStats
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("stats at the end: %+v", last)
		}
	})
	waitFor(t, 30*time.Second, "the lag to reach 0", func() bool {
		st := r.c.Stats()
		if len(st) == 1 {
			last = st[0]
		}
		return len(st) == 1 && st[0].Lag() == 0 && st[0].Committed == 2000
	})
	r.shutdown(t)
}

// TestRestartResumesFromTheCommit stops a consumer mid-stream and starts another in the
// same group: every record is handled, and none twice after a graceful stop.
func TestRestartResumesFromTheCommit(t *testing.T) {
	k := newKafka(t, 3)
	const n = 600
	k.produce(n, func(i int) string { return fmt.Sprint(i % 13) })
	s := newSeen()
	h := func(_ context.Context, rec *kgo.Record) error {
		time.Sleep(200 * time.Microsecond)
		s.add(rec)
		return nil
	}
	first := start(t, k.config(), h)
	waitFor(t, 30*time.Second, "a quarter handled", func() bool { return s.distinct() >= n/4 })
	first.shutdown(t)
	second := start(t, k.config(), h)
	waitFor(t, 30*time.Second, "all handled", func() bool { return s.distinct() == n })
	second.shutdown(t)
	for id, c := range s.count {
		if c != 1 {
			t.Errorf("record %s handled %d times across a graceful restart", id, c)
		}
	}
}

// TestRebalanceAcrossTwoMembers adds a second member mid-stream and removes the first:
// nothing is lost, and whatever is repeated was not committed.
func TestRebalanceAcrossTwoMembers(t *testing.T) {
	k := newKafka(t, 4)
	const n = 800
	k.produce(n, func(i int) string { return fmt.Sprint(i % 17) })
	s := newSeen()
	h := func(_ context.Context, rec *kgo.Record) error {
		time.Sleep(300 * time.Microsecond)
		s.add(rec)
		return nil
	}
	a := start(t, k.config(), h)
	waitFor(t, 30*time.Second, "some handled", func() bool { return s.distinct() >= n/5 })
	b := start(t, k.config(), h)
	waitFor(t, 30*time.Second, "more handled", func() bool { return s.distinct() >= n/2 })
	a.shutdown(t)
	waitFor(t, 60*time.Second, "all handled", func() bool { return s.distinct() == n })
	b.shutdown(t)
	dups := 0
	for _, c := range s.count {
		dups += c - 1
	}
	if dups != 0 {
		t.Errorf("%d records handled twice across cooperative rebalances with graceful revokes", dups)
	}
}

// TestStaticMemberGetsItsPartitionsBack restarts a member with the same instance id and
// measures how long until it handles records again.
func TestStaticMemberGetsItsPartitionsBack(t *testing.T) {
	k := newKafka(t, 2)
	k.produce(100, func(i int) string { return fmt.Sprint(i) })
	s := newSeen()
	h := func(_ context.Context, rec *kgo.Record) error { s.add(rec); return nil }
	cfg := k.config()
	cfg.InstanceID = "gateway-0"
	first := start(t, cfg, h)
	waitFor(t, 30*time.Second, "first batch", func() bool { return s.distinct() == 100 })
	first.shutdown(t)
	k.produce(100, func(i int) string { return fmt.Sprint(i) })
	began := time.Now()
	second := start(t, cfg, h)
	waitFor(t, 30*time.Second, "second batch", func() bool { return s.distinct() == 200 })
	t.Logf("static member (%s protocol) handled again %v after restart", second.c.Protocol(), time.Since(began).Round(time.Millisecond))
	second.shutdown(t)
}

func TestConfigValidateNamesTheVariable(t *testing.T) {
	base := Config{Brokers: []string{"b:9092"}, Group: "g", GroupProtocol: "auto", Ordering: OrderKey,
		MaxInFlightPerPartition: 4, MaxInFlight: 8, DrainTimeout: time.Second, SessionTimeout: 10 * time.Second,
		CommitInterval: time.Second, FetchMaxWait: time.Second, FetchMaxBytes: 4 << 20, FetchMaxPartitionBytes: 256 << 10}
	if err := base.Validate(); err != nil {
		t.Fatal(err)
	}
	if w := base.Window(); w != 4 {
		t.Errorf("window %d, want the configured 4", w)
	}
	whole := base
	whole.MaxInFlightPerPartition = 0
	if err := whole.Validate(); err != nil || whole.Window() != 8 {
		t.Errorf("window 0: err %v, window %d, want JFT_MAX_IN_FLIGHT (8)", err, whole.Window())
	}
	tests := []struct {
		name string
		mut  func(*Config)
		want string
	}{
		{"no brokers", func(c *Config) { c.Brokers = nil }, "JFT_KAFKA_BROKERS"},
		{"unknown ordering", func(c *Config) { c.Ordering = "random" }, "JFT_ORDERING"},
		{"unknown protocol", func(c *Config) { c.GroupProtocol = "eager" }, "JFT_KAFKA_GROUP_PROTOCOL"},
		{"negative window", func(c *Config) { c.MaxInFlightPerPartition = -1 }, "JFT_MAX_IN_FLIGHT_PER_PARTITION"},
		{"window too large", func(c *Config) { c.MaxInFlightPerPartition = 20000 }, "JFT_MAX_IN_FLIGHT_PER_PARTITION"},
		{"no instance slots", func(c *Config) { c.MaxInFlight, c.MaxInFlightPerPartition = 0, 0 }, "JFT_MAX_IN_FLIGHT"},
		{"partition share beyond the fetch", func(c *Config) { c.FetchMaxPartitionBytes = 8 << 20 }, "JFT_KAFKA_FETCH_MAX_PARTITION_BYTES"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base
			tt.mut(&c)
			err := c.Validate()
			if err == nil || !contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want one naming %s", err, tt.want)
			}
		})
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// TestLeaveOnShutdownHandsPartitionsOverAtOnce stops one of two static members gracefully
// with LeaveOnShutdown: the other gets its partitions at once. Without the leave they would
// stay reserved for the stopped instance id until the session timeout (45 s), past this
// test's deadline.
func TestLeaveOnShutdownHandsPartitionsOverAtOnce(t *testing.T) {
	k := newKafka(t, 4)
	s := newSeen()
	h := func(_ context.Context, rec *kgo.Record) error { s.add(rec); return nil }
	cfgA, cfgB := k.config(), k.config()
	cfgA.InstanceID, cfgB.InstanceID = "gateway-a", "gateway-b"
	cfgA.SessionTimeout, cfgB.SessionTimeout = 45*time.Second, 45*time.Second
	cfgB.LeaveOnShutdown = true
	a := start(t, cfgA, h)
	b := start(t, cfgB, h)
	waitFor(t, 30*time.Second, "both members assigned", func() bool { return len(a.c.Stats()) > 0 && len(b.c.Stats()) > 0 })
	b.shutdown(t)
	k.produce(200, func(i int) string { return fmt.Sprint(i) })
	waitFor(t, 20*time.Second, "the remaining member to handle every partition", func() bool { return s.distinct() == 200 })
	if n := len(a.c.Stats()); n != 4 {
		t.Errorf("the remaining member holds %d of 4 partitions", n)
	}
	a.shutdown(t)
}

// TestALatePauseDoesNotStrandThePartition replays the race between the poll loop, which
// decides to pause a full partition, and the dispatcher, which drains it and decides to
// resume before the poll loop's pause reaches the client. Applied in that order, a plain
// pause would leave the partition paused for good while the worker thinks it is fetching.
func TestALatePauseDoesNotStrandThePartition(t *testing.T) {
	k := newKafka(t, 1)
	c, err := New(k.config(), func(context.Context, *kgo.Record) error { return nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.cl.Close()
	w := newWorker(c, k.topic, 0)
	defer w.stop(time.Second)
	w.mu.Lock()
	w.paused = true // the poll loop decides to pause…
	w.mu.Unlock()
	w.mu.Lock()
	w.paused = false // …the dispatcher drains the queue and decides to resume…
	w.mu.Unlock()
	w.applyFetch() // …and applies it first;
	w.applyFetch() // the poll loop's call comes last.
	if paused := c.cl.PauseFetchPartitions(nil); len(paused[k.topic]) != 0 {
		t.Fatalf("partition left paused (%v) although the worker wants it fetching", paused)
	}
}

// TestRecordsWaitingForTheirKeyHoldNoSlot: with two instance-wide slots, a blocked key
// whose later records wait behind it must not keep another key from running.
func TestRecordsWaitingForTheirKeyHoldNoSlot(t *testing.T) {
	k := newKafka(t, 1)
	// a, a, a, a, a, b: the five records of a wait for the first, which blocks.
	k.produce(6, func(i int) string { return map[bool]string{true: "b", false: "a"}[i == 5] })
	release := make(chan struct{})
	s := newSeen()
	cfg := k.config()
	cfg.MaxInFlight, cfg.MaxInFlightPerPartition = 2, 8
	r := start(t, cfg, func(ctx context.Context, rec *kgo.Record) error {
		if rec.Offset == 0 {
			if err := held(ctx, release); err != nil {
				return err
			}
		}
		s.add(rec)
		return nil
	})
	waitFor(t, 30*time.Second, "key b handled while key a is blocked", func() bool { return s.distinct() == 1 })
	if got := s.order["b"]; len(got) != 1 || len(s.order["a"]) != 0 {
		t.Fatalf("handled a %v, b %v; want only b", s.order["a"], got)
	}
	close(release)
	waitFor(t, 30*time.Second, "all handled", func() bool { return s.distinct() == 6 })
	if got := s.order["a"]; fmt.Sprint(got) != "[0 1 2 3 4]" {
		t.Errorf("key a handled in order %v", got)
	}
	r.shutdown(t)
}

// TestKeysNextRecordStartsWhenTheCallIsDone: under key ordering, a handler that says its
// WriteAPI call is over (jft.CallDone) lets its key's next records start while it still
// writes its result; one that never says so keeps them waiting until it returns. Either
// way the commit waits for the first record's handler.
func TestKeysNextRecordStartsWhenTheCallIsDone(t *testing.T) {
	for _, tc := range []struct {
		name     string
		callDone bool
		started  int // records of the key handled while the first one's handler runs
	}{
		{"CallDone", true, 3},
		{"no CallDone", false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := newKafka(t, 1)
			k.produce(3, func(int) string { return "a" })
			release := make(chan struct{})
			s := newSeen()
			r := start(t, k.config(), func(ctx context.Context, rec *kgo.Record) error {
				s.add(rec) // the "call"
				if tc.callDone {
					jft.CallDone(ctx)
				}
				if rec.Offset == 0 {
					return held(ctx, release) // the result is not durable yet
				}
				return nil
			})
			waitFor(t, 30*time.Second, "the records started while the first runs", func() bool { return s.distinct() == tc.started })
			time.Sleep(200 * time.Millisecond) // room for a wrong early start to show
			if n := s.distinct(); n != tc.started {
				t.Fatalf("%d records of the key handled while the first runs, want %d", n, tc.started)
			}
			if c := k.committed()[0]; c > 0 {
				t.Errorf("committed %d before the first record's result was written", c)
			}
			close(release)
			waitFor(t, 30*time.Second, "commit of all three", func() bool { return k.committed()[0] == 3 })
			if got := s.order["a"]; fmt.Sprint(got) != "[0 1 2]" {
				t.Errorf("key a handled in order %v", got)
			}
			r.shutdown(t)
		})
	}
}

// TestOnePartitionCanUseTheWholeInstance: with the window at its default (0: the instance
// limit), a single busy partition gets every instance-wide slot.
func TestOnePartitionCanUseTheWholeInstance(t *testing.T) {
	k := newKafka(t, 1)
	k.produce(100, func(i int) string { return fmt.Sprint(i) })
	cfg := k.config()
	cfg.Ordering, cfg.MaxInFlight, cfg.MaxInFlightPerPartition = OrderUnordered, 24, 0
	release := make(chan struct{})
	var active concurrency
	r := start(t, cfg, func(ctx context.Context, _ *kgo.Record) error {
		defer active.enter()()
		return held(ctx, release)
	})
	waitFor(t, 30*time.Second, "24 records of the partition in flight", func() bool { return active.now.Load() == 24 })
	close(release)
	waitFor(t, 30*time.Second, "commit of everything", func() bool { return k.committed()[0] == 100 })
	r.shutdown(t)
	if m := active.peak.Load(); m != 24 {
		t.Errorf("at most %d in flight, want the instance limit 24", m)
	}
}

// TestSlotsGoRoundThePartitions: a partition with ten times the backlog of another does
// not hold the instance's slots to itself: both advance at the same pace, so the small one
// is done while the big one is still near its start.
func TestSlotsGoRoundThePartitions(t *testing.T) {
	k := newKafka(t, 2)
	recs := make([]*kgo.Record, 0, 2200)
	for i := range 2200 {
		p := int32(0)
		if i >= 2000 {
			p = 1
		}
		recs = append(recs, &kgo.Record{Topic: k.topic, Partition: p, Value: []byte(fmt.Sprint(i))})
	}
	if err := k.cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	cfg := k.config()
	cfg.Ordering, cfg.MaxInFlight, cfg.MaxInFlightPerPartition = OrderUnordered, 8, 0
	var mu sync.Mutex
	done := map[int32]int{}
	bigWhenSmallDone := -1
	r := start(t, cfg, func(_ context.Context, rec *kgo.Record) error {
		time.Sleep(time.Millisecond)
		mu.Lock()
		defer mu.Unlock()
		done[rec.Partition]++
		if rec.Partition == 1 && done[1] == 200 {
			bigWhenSmallDone = done[0]
		}
		return nil
	})
	waitFor(t, 60*time.Second, "everything handled", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return done[0] == 2000 && done[1] == 200
	})
	r.shutdown(t)
	// In turn, the big partition has done about 200 when the small one finishes; a
	// partition holding the slots to itself would have done most of its 2,000.
	if bigWhenSmallDone < 0 || bigWhenSmallDone > 1000 {
		t.Errorf("the big partition had done %d of 2000 when the small one finished its 200", bigWhenSmallDone)
	}
}

// bufferedCounter counts the records the client decodes from fetch responses.
type bufferedCounter struct{ n atomic.Int64 }

func (c *bufferedCounter) OnFetchRecordBuffered(*kgo.Record) { c.n.Add(1) }

// TestPausingDoesNotFetchRecordsAgain: a fetch brings ~250 records per partition and the
// queue pauses at 64. The records franz-go still buffers for a paused partition are dropped
// and fetched again after the resume, so the consumer must take whole fetches: each record
// is then decoded (decompressed, hooked, allocated) once, not three or four times.
func TestPausingDoesNotFetchRecordsAgain(t *testing.T) {
	k := newKafka(t, 4)
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 8000
	recs := make([]*kgo.Record, n)
	for i := range recs {
		v := make([]byte, 1<<10) // incompressible, so that fetch sizes count records
		for j := range v {
			v[j] = byte('a' + rng.IntN(26))
		}
		recs[i] = &kgo.Record{Topic: k.topic, Partition: int32(i % 4), Value: v}
	}
	for i := 0; i < n; i += 20 {
		if err := k.cl.ProduceSync(context.Background(), recs[i:i+20]...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	cfg := k.config()
	cfg.Ordering, cfg.MaxInFlight, cfg.MaxInFlightPerPartition = OrderUnordered, 64, 0
	var hook bufferedCounter
	var done atomic.Int64
	c, err := New(cfg, func(context.Context, *kgo.Record) error {
		time.Sleep(time.Millisecond)
		done.Add(1)
		return nil
	}, nil, kgo.WithHooks(&hook))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- c.Run(ctx) }()
	waitFor(t, 60*time.Second, "all handled", func() bool { return done.Load() == n })
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	// Some slack for a fetch already under way when a partition pauses.
	if got := hook.n.Load(); got > n+n/4 {
		t.Errorf("decoded %d records from fetches to handle %d (%.2f×)", got, n, float64(got)/n)
	}
}
