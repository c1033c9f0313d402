package producer

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/jft-gateway/jft-gateway/internal/jft"
)

// txnFixture is a kfake cluster with an input topic, a group member that consumed it (its
// client only polls: the TxnWriter commits for it), and a TxnWriter over a transactional
// client.
type txnFixture struct {
	c      *kfake.Cluster
	member *kgo.Client
	w      *TxnWriter
	in     []*kgo.Record
}

const txnGroup = "txn-group"

func newTxnFixture(t *testing.T, inputs int) *txnFixture {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "events", "results", "dlq"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	pcl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	for i := range inputs {
		pcl.ProduceSync(context.Background(), &kgo.Record{Topic: "events", Key: []byte("312229544"), Value: []byte(strconv.Itoa(i))})
	}
	pcl.Close()

	member, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumerGroup(txnGroup), kgo.ConsumeTopics("events"),
		kgo.InstanceID("gw-0"), kgo.DisableAutoCommit(), kgo.RequireStableFetchOffsets())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(member.Close)
	f := &txnFixture{c: c, member: member}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for len(f.in) < inputs {
		fs := member.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d inputs", len(f.in), inputs)
		}
		f.in = append(f.in, fs.Records()...)
	}

	cfg := Config{ResultsTopic: "results", DLQTopic: "dlq", Transactional: true, TxnInterval: 10 * time.Second, TxnMaxRecords: 1 << 20, TxnTimeout: 30 * time.Second}
	tcl, err := kgo.NewClient(append(TxnOptions(cfg, txnGroup, "gw-0"), kgo.SeedBrokers(c.ListenAddrs()...))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tcl.Close)
	f.w, err = NewTxnWriter(cfg, tcl, txnGroup, "gw-0", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.w.Close)
	f.w.Bind(member.GroupMetadata)
	return f
}

// handle stages a result for each of recs, as the pipeline does once a record is handled.
func (f *txnFixture) handle(t *testing.T, recs []*kgo.Record, outcome jft.Outcome) {
	t.Helper()
	for _, r := range recs {
		res := jft.Result{Schema: jft.SchemaV1, EventID: "e-" + strconv.FormatInt(r.Offset, 10), Outcome: outcome}
		if outcome != jft.OutcomeAccepted {
			res.Error = &jft.ResultError{Code: jft.CodeAPIUnavailable, Message: "gave up"}
		}
		if err := f.w.Publish(context.Background(), r, res); err != nil {
			t.Fatal(err)
		}
	}
}

// read returns the records of topic visible at the isolation level: it polls until the
// broker has had half a second to send more and sent none.
func read(t *testing.T, c *kfake.Cluster, topic string, level kgo.IsolationLevel) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(level),
		kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out []*kgo.Record
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		fs := cl.PollFetches(ctx)
		cancel()
		recs := fs.Records()
		if len(recs) == 0 {
			return out
		}
		out = append(out, recs...)
	}
}

func committedOffset(t *testing.T, c *kfake.Cluster) int64 {
	t.Helper()
	os, err := admin(t, c).FetchOffsets(context.Background(), txnGroup)
	if err != nil {
		t.Fatal(err)
	}
	o, ok := os.Lookup("events", 0)
	if !ok {
		return -1
	}
	return o.At
}

func TestTxnWriterCommitsResultsWithTheirOffsets(t *testing.T) {
	f := newTxnFixture(t, 6)
	f.handle(t, f.in[:4], jft.OutcomeAccepted)
	f.handle(t, f.in[4:5], jft.OutcomeFailed)
	// Records 0–3 complete; 4 is handled (staged) but its predecessor order says it is not
	// in the prefix yet; 5 is still in flight.
	f.w.Completed("events", 0, f.in[:4])
	if err := f.w.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := read(t, f.c, "results", kgo.ReadCommitted()); len(got) != 4 {
		t.Fatalf("read_committed results = %d, want the 4 completed", len(got))
	}
	if got := committedOffset(t, f.c); got != f.in[3].Offset+1 {
		t.Fatalf("committed offset = %d, want %d (one past the last completed)", got, f.in[3].Offset+1)
	}
	if o, ok := f.w.Committed("events", 0); !ok || o != f.in[3].Offset+1 {
		t.Fatalf("Committed() = %d, %v", o, ok)
	}

	f.w.Completed("events", 0, f.in[4:5])
	if err := f.w.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := read(t, f.c, "results", kgo.ReadCommitted()); len(got) != 5 {
		t.Fatalf("read_committed results = %d, want 5", len(got))
	}
	if got := read(t, f.c, "dlq", kgo.ReadCommitted()); len(got) != 1 {
		t.Fatalf("read_committed dead letters = %d, want 1 (the failed record's copy)", len(got))
	}
	if got := committedOffset(t, f.c); got != f.in[4].Offset+1 {
		t.Fatalf("committed offset = %d, want %d", got, f.in[4].Offset+1)
	}
}

// A transaction whose offsets the group refuses (here: a member id the group does not know,
// as after a fencing rebalance) is aborted: its results were written but no read_committed
// consumer sees them, and the same records are committed by the next transaction.
func TestTxnWriterAbortsAndRetriesWhenTheGroupRefusesTheOffsets(t *testing.T) {
	f := newTxnFixture(t, 3)
	f.handle(t, f.in, jft.OutcomeAccepted)
	f.w.Completed("events", 0, f.in)
	f.w.Bind(func() (string, int32) { return "not-a-member", 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	err := f.w.Commit(ctx)
	cancel()
	if err == nil {
		t.Fatal("Commit succeeded with a member the group does not know")
	}
	if got := read(t, f.c, "results", kgo.ReadUncommitted()); len(got) < 3 {
		t.Fatalf("read_uncommitted results = %d: the aborted transaction should have written 3", len(got))
	}
	if got := read(t, f.c, "results", kgo.ReadCommitted()); len(got) != 0 {
		t.Fatalf("read_committed results = %d after an abort, want 0", len(got))
	}
	if got := committedOffset(t, f.c); got != -1 {
		t.Fatalf("committed offset = %d after an abort, want none", got)
	}

	f.w.Bind(f.member.GroupMetadata)
	if err := f.w.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := read(t, f.c, "results", kgo.ReadCommitted())
	if len(got) != 3 {
		t.Fatalf("read_committed results = %d after the retry, want exactly 3", len(got))
	}
	for i, r := range got {
		if want := "e-" + strconv.FormatInt(f.in[i].Offset, 10); !strings.Contains(string(r.Value), want) {
			t.Errorf("result %d = %s, want %s in input order", i, r.Value, want)
		}
	}
	if got := committedOffset(t, f.c); got != f.in[2].Offset+1 {
		t.Fatalf("committed offset = %d, want %d", got, f.in[2].Offset+1)
	}
}

// Records of a partition this member no longer owns are dropped, not committed: the new
// owner handles them again, and a commit from us would be fenced anyway.
func TestTxnWriterForgetsPartitionsItNoLongerOwns(t *testing.T) {
	f := newTxnFixture(t, 3)
	f.handle(t, f.in, jft.OutcomeAccepted)
	f.w.Completed("events", 0, f.in[:2])
	f.w.Forget(map[string][]int32{"events": {0}})
	if err := f.w.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := countRecords(t, f.c, "results"); got != 0 {
		t.Fatalf("results written = %d for a forgotten partition, want 0", got)
	}
	// The staged result of record 2 went too: completing it now adds nothing.
	f.w.Completed("events", 0, f.in[2:])
	if err := f.w.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := read(t, f.c, "results", kgo.ReadCommitted()); len(got) != 0 {
		t.Fatalf("read_committed results = %d, want 0", len(got))
	}
}

func TestTxnConfigValidateNamesTheVariable(t *testing.T) {
	base := Config{ResultsTopic: "r", Transactional: true, TxnInterval: 50 * time.Millisecond, TxnMaxRecords: 10, TxnTimeout: 20 * time.Second}
	if err := base.Validate(); err != nil {
		t.Fatalf("valid transactional config rejected: %v", err)
	}
	for name, tt := range map[string]struct {
		mod  func(*Config)
		want string
	}{
		"interval":    {func(c *Config) { c.TxnInterval = 0 }, "JFT_RESULTS_TXN_INTERVAL"},
		"max records": {func(c *Config) { c.TxnMaxRecords = 0 }, "JFT_RESULTS_TXN_MAX_RECORDS"},
		"timeout":     {func(c *Config) { c.TxnTimeout = 60 * time.Millisecond }, "JFT_RESULTS_TXN_TIMEOUT"},
	} {
		c := base
		tt.mod(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Validate() = %v, want an error naming %s", name, err, tt.want)
		}
	}
}
