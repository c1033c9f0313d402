// Package consumer is the gateway's Kafka side: a franz-go group consumer that hands each
// record to a Handler and commits an offset only when every record before it in its
// partition has been handled (its result is durable).
//
// Design (after franz-go's goroutine-per-partition example and the OpenTelemetry
// collector's kafka receiver):
//   - one worker per assigned partition, created and stopped in the rebalance callbacks;
//     BlockRebalanceOnPoll keeps callbacks from running while a poll is being distributed;
//   - each worker runs up to MaxInFlightPerPartition records at once in the configured
//     Ordering (per key by default) and marks the highest offset of the completed prefix
//     (MarkCommitRecords with AutoCommitMarks), so early finishers never skip a straggler;
//   - under key ordering a key's next record starts once the handler says its WriteAPI call
//     is over (jft.CallDone), while the first one's result is still being written;
//   - marks are committed eagerly by one committer goroutine (one commit in flight) and
//     periodically by franz-go, which keeps the work a crash can repeat close to the
//     in-flight window;
//   - backpressure pauses a partition's fetches when its queue holds 64 records beyond its
//     window and resumes it at half; the poll loop never sleeps or blocks on a worker;
//   - a revoked partition drains (bounded by DrainTimeout), commits, and only then lets the
//     rebalance go on; a lost partition is cancelled at once and commits nothing.
package consumer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Handler processes one record. It returns nil only once the record's result is durable;
// the consumer then marks it. A non-nil error means "not durable": the consumer retries
// with capped exponential backoff until it succeeds or ctx ends; it never skips a record.
// ctx ends when the record's partition is revoked (after DrainTimeout) or lost, or at the
// end of shutdown's drain.
type Handler func(ctx context.Context, r *kgo.Record) error

// Committer takes committing over from the consumer, for results written in Kafka
// transactions together with their inputs' offsets (producer.TxnWriter). The consumer then
// commits nothing itself: it reports each partition's newly completed prefix, in offset
// order, and asks for a commit when partitions are revoked and at shutdown.
type Committer interface {
	// Completed is told the records of a partition whose handling is complete and all of
	// whose predecessors are, in offset order. It must not block.
	Completed(topic string, partition int32, recs []*kgo.Record)
	// Commit makes everything completed so far durable with its offsets, or fails. It is
	// called when partitions are revoked and at shutdown, while the member is still in the
	// group.
	Commit(ctx context.Context) error
	// Forget drops what was completed, and not committed, on partitions this member no
	// longer owns: lost ones, and revoked ones after Commit.
	Forget(parts map[string][]int32)
	// Committed is the partition's committed offset as the committer knows it.
	Committed(topic string, partition int32) (int64, bool)
}

// PartitionStats describes one assigned partition.
type PartitionStats struct {
	Topic     string
	Partition int32
	InFlight  int
	Queued    int
	Paused    bool
	Completed int64
	// HighWatermark is the partition's end offset as of the newest fetch (-1: none yet).
	HighWatermark int64
	// Committed is the offset the group has committed for the partition (-1: none).
	Committed int64
}

// Lag is the number of records after the committed offset: what a restart would read
// again or for the first time. It is -1 when either end is unknown.
func (s PartitionStats) Lag() int64 {
	if s.HighWatermark < 0 || s.Committed < 0 {
		return -1
	}
	return max(0, s.HighWatermark-s.Committed)
}

// Consumer is a running group member.
type Consumer struct {
	cfg      Config
	h        Handler
	log      *slog.Logger
	cl       *kgo.Client
	sem      chan struct{}
	runners  *runners
	commitCh chan struct{}
	protocol string

	committer Committer // nil: the consumer commits marked offsets itself

	mu      sync.Mutex
	workers map[string]map[int32]*worker
	ready   atomic.Bool
}

// Option configures a Consumer.
type Option func(*Consumer)

// WithCommitter hands committing to cm (transactional results): the consumer then neither
// marks nor commits offsets, and autocommitting is off.
func WithCommitter(cm Committer) Option { return func(c *Consumer) { c.committer = cm } }

// New makes a group consumer; extra options are added to the client (TLS, SASL, hooks).
// It asks the brokers which group protocol they support when GroupProtocol is auto.
func New(cfg Config, h Handler, log *slog.Logger, extra ...kgo.Opt) (*Consumer, error) {
	return NewWith(cfg, h, log, nil, extra...)
}

// NewWith is New with options of the consumer itself.
func NewWith(cfg Config, h Handler, log *slog.Logger, copts []Option, extra ...kgo.Opt) (*Consumer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("consumer config: %w", err)
	}
	if len(cfg.Topics) == 0 {
		return nil, errors.New("consumer: no topics to consume")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Consumer{
		cfg: cfg, h: h, log: log,
		sem:      make(chan struct{}, cfg.MaxInFlight),
		runners:  newRunners(),
		commitCh: make(chan struct{}, 1),
		workers:  map[string]map[int32]*worker{},
	}
	for _, o := range copts {
		o(c)
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.ConsumerGroup(cfg.Group),
		kgo.ConsumeTopics(cfg.Topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsAssigned(c.assigned),
		kgo.OnPartitionsRevoked(c.revoked),
		kgo.OnPartitionsLost(c.lost),
		kgo.SessionTimeout(cfg.SessionTimeout),
		kgo.RebalanceTimeout(cfg.RebalanceTimeout),
		kgo.FetchMaxWait(cfg.FetchMaxWait),
		kgo.FetchMaxBytes(cfg.FetchMaxBytes),
		kgo.FetchMaxPartitionBytes(cfg.FetchMaxPartitionBytes),
		kgo.RequireStableFetchOffsets(),
	}
	if c.committer == nil {
		opts = append(opts, kgo.AutoCommitMarks(), kgo.AutoCommitInterval(cfg.CommitInterval))
	} else {
		opts = append(opts, kgo.DisableAutoCommit())
	}
	if cfg.InstanceID != "" {
		opts = append(opts, kgo.InstanceID(cfg.InstanceID))
	}
	c.protocol = cfg.GroupProtocol
	if c.protocol == ProtocolAuto || c.protocol == ProtocolConsumer && cfg.InstanceID != "" {
		c.protocol = c.prepare(append([]kgo.Opt{kgo.SeedBrokers(cfg.Brokers...)}, extra...))
	}
	if c.protocol == ProtocolConsumer {
		opts = append(opts, kgo.ServerSideBalancer())
	} else {
		opts = append(opts, kgo.Balancers(kgo.CooperativeStickyBalancer()))
	}
	cl, err := kgo.NewClient(append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("kafka consumer client: %w", err)
	}
	c.cl = cl
	return c, nil
}

// prepare runs before the group client exists, on a short-lived client of its own: it
// settles the protocol when it is auto, and under KIP-848 releases the instance id a crashed
// predecessor still holds. It returns the protocol to use.
func (c *Consumer) prepare(opts []kgo.Opt) string {
	protocol := c.cfg.GroupProtocol
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		if protocol == ProtocolAuto {
			return ProtocolClassic
		}
		return protocol
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if protocol == ProtocolAuto {
		protocol = detectProtocol(ctx, cl)
	}
	if protocol == ProtocolConsumer && c.cfg.InstanceID != "" {
		released, err := releasePredecessor(ctx, cl, c.cfg.Group, c.cfg.InstanceID)
		switch {
		case err != nil:
			c.log.Warn("could not release a predecessor's instance id; joining may wait for its session timeout",
				slog.String("instance_id", c.cfg.InstanceID), slog.String("error", err.Error()))
		case released:
			c.log.Info("released the instance id a predecessor held without leaving (it crashed)",
				slog.String("instance_id", c.cfg.InstanceID))
		}
	}
	return protocol
}

// detectProtocol returns consumer when the broker answers ApiVersions with
// ConsumerGroupHeartbeat (KIP-848), else classic. An unreachable broker gives classic; the
// client then reports the connection problem itself.
func detectProtocol(ctx context.Context, cl *kgo.Client) string {
	resp, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctx, cl)
	if err != nil || resp.ErrorCode != 0 {
		return ProtocolClassic
	}
	for _, k := range resp.ApiKeys {
		if k.ApiKey == kmsg.ConsumerGroupHeartbeat.Int16() && k.MaxVersion >= 1 {
			return ProtocolConsumer
		}
	}
	return ProtocolClassic
}

// releasePredecessor handles a KIP-848 static member that crashed: it sent no leave, so the
// broker keeps its instance id, and its partitions, until the session times out (45 s by
// default) and refuses a replacement with UNRELEASED_INSTANCE_ID. We are that replacement
// (the instance id is the pod name), so we send the leave the predecessor could not: the
// same static leave (epoch −2) a graceful stop sends, for the member id the group describes
// under our instance id. The classic protocol does the equivalent itself (KIP-345: a new
// static member fences the old one). Like there, a second live process with the same
// instance id would be fenced: instance ids must be unique per live instance.
func releasePredecessor(ctx context.Context, cl *kgo.Client, group, instanceID string) (bool, error) {
	req := kmsg.NewPtrConsumerGroupDescribeRequest()
	req.Groups = []string{group}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return false, fmt.Errorf("describe group %s: %w", group, err)
	}
	for _, g := range resp.Groups {
		if err := kerr.ErrorForCode(g.ErrorCode); err != nil {
			if errors.Is(err, kerr.GroupIDNotFound) {
				return false, nil
			}
			return false, fmt.Errorf("describe group %s: %w", group, err)
		}
		for _, m := range g.Members {
			if m.InstanceID != nil && *m.InstanceID == instanceID {
				return true, staticLeave(ctx, cl, group, m.MemberID, instanceID, -2)
			}
		}
	}
	return false, nil
}

// Protocol returns the group protocol in use: classic or consumer.
func (c *Consumer) Protocol() string { return c.protocol }

// Ready reports whether the member has joined its group and received an assignment.
func (c *Consumer) Ready() bool { return c.ready.Load() }

// Client returns the underlying client (for lag and metrics).
func (c *Consumer) Client() *kgo.Client { return c.cl }

// Stats returns the assigned partitions' counters, sorted.
func (c *Consumer) Stats() []PartitionStats {
	committed := c.cl.CommittedOffsets()
	c.mu.Lock()
	var out []PartitionStats
	for _, ps := range c.workers {
		for _, w := range ps {
			st := w.stats()
			st.Committed = -1
			if o, ok := committed[st.Topic][st.Partition]; ok {
				st.Committed = o.Offset // as of the join, or the newest commit of our own
			}
			if c.committer != nil {
				if o, ok := c.committer.Committed(st.Topic, st.Partition); ok {
					st.Committed = o
				}
			}
			out = append(out, st)
		}
	}
	c.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		return out[i].Topic < out[j].Topic || out[i].Topic == out[j].Topic && out[i].Partition < out[j].Partition
	})
	return out
}

// Run consumes until ctx ends; then it stops fetching, lets the records in flight finish
// (up to DrainTimeout), commits, and closes the client. With static membership the member
// does not leave the group, so a restart with the same instance id gets its partitions back
// without a rebalance.
func (c *Consumer) Run(ctx context.Context) error {
	commitDone := make(chan struct{})
	commitCtx, stopCommitter := context.WithCancel(context.Background())
	if c.committer == nil {
		go func() { defer close(commitDone); c.commitLoop(commitCtx) }()
	} else {
		close(commitDone)
	}

	err := c.poll(ctx)

	c.mu.Lock()
	var all []*worker
	for _, ps := range c.workers {
		for _, w := range ps {
			all = append(all, w)
		}
	}
	c.workers = map[string]map[int32]*worker{}
	c.mu.Unlock()
	c.stopAll(all, c.cfg.DrainTimeout)
	stopCommitter()
	<-commitDone
	cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	if cerr := c.commit(cctx); cerr != nil {
		c.log.Warn("final commit failed; the next owner repeats the uncommitted records", slog.String("error", cerr.Error()))
	}
	cancel()
	c.ready.Store(false)
	// Leave explicitly with a live context: Close's own leave runs after the client's
	// context is cancelled, and a KIP-848 static member whose leave (epoch -2) is lost keeps
	// its instance id reserved, so its replacement is refused (UNRELEASED_INSTANCE_ID) until
	// the session times out. A classic static member does not leave (franz-go's InstanceID
	// docs); a dynamic member leaves so that its partitions move at once.
	lctx, lcancel := context.WithTimeout(context.Background(), 10*time.Second)
	memberID, _ := c.cl.GroupMetadata()
	lerr := c.cl.LeaveGroupContext(lctx)
	switch {
	case c.cfg.InstanceID != "" && c.cfg.LeaveOnShutdown:
		// A static member that franz-go does not take out of the group (classic: no leave;
		// KIP-848: a temporary leave): leave for good, as the pod is not coming back.
		lerr = c.leaveForGood(lctx, memberID)
	case c.protocol == ProtocolConsumer && c.cfg.InstanceID != "":
		// franz-go v1.22.3 sends the KIP-848 static leave (epoch -2) without the instance
		// id, which Apache Kafka 4.x refuses as INVALID_REQUEST; send it complete.
		lerr = staticLeave(lctx, c.cl, c.cfg.Group, memberID, c.cfg.InstanceID, -2)
	}
	if lerr != nil {
		c.log.Warn("leaving the group failed; the group notices at the session timeout", slog.String("error", lerr.Error()))
	}
	lcancel()
	c.cl.CloseAllowingRebalance()
	c.runners.close()
	return err
}

// poll distributes fetched records to the partitions' workers until ctx ends.
//
// It takes whole fetches. franz-go drops what it still buffers for a partition once that
// partition is paused, and fetches it again after the resume: taking only part of a fetch
// (PollRecords) and then pausing made the gateway decompress, trace-hook and allocate many
// records two or three times. Fetch sizes (FetchMaxPartitionBytes) bound what a poll brings.
func (c *Consumer) poll(ctx context.Context) error {
	for {
		fs := c.cl.PollFetches(ctx)
		if ctx.Err() != nil {
			c.cl.AllowRebalance()
			return nil
		}
		if fs.IsClientClosed() {
			return errors.New("consumer: kafka client closed")
		}
		fs.EachError(func(topic string, p int32, err error) {
			if errors.Is(err, context.Canceled) {
				return
			}
			c.log.Warn("fetch error", slog.String("topic", topic), slog.Int("partition", int(p)), slog.String("error", err.Error()))
		})
		fs.EachPartition(func(p kgo.FetchTopicPartition) {
			c.mu.Lock()
			w := c.workers[p.Topic][p.Partition]
			c.mu.Unlock()
			if w == nil {
				// Not ours any more (revoked between fetch and poll); the owner reads it.
				return
			}
			if p.Err == nil {
				w.highWatermark.Store(p.HighWatermark)
			}
			if len(p.Records) == 0 {
				return
			}
			if w.enqueue(p.Records) {
				w.applyFetch()
			}
		})
		c.cl.AllowRebalance()
	}
}

// leaveForGood takes a static member out of the group, releasing its instance id and
// partitions at once: KIP-848 member epoch −1 with the instance id, or a classic LeaveGroup
// naming the instance id (KIP-345).
func (c *Consumer) leaveForGood(ctx context.Context, memberID string) error {
	if memberID == "" {
		return nil
	}
	if c.protocol == ProtocolConsumer {
		return staticLeave(ctx, c.cl, c.cfg.Group, memberID, c.cfg.InstanceID, -1)
	}
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Group = c.cfg.Group
	m := kmsg.NewLeaveGroupRequestMember()
	m.MemberID = memberID
	id := c.cfg.InstanceID
	m.InstanceID = &id
	req.Members = []kmsg.LeaveGroupRequestMember{m}
	resp, err := req.RequestWith(ctx, c.cl)
	if err != nil {
		return fmt.Errorf("leave group: %w", err)
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return fmt.Errorf("leave group: %w", err)
	}
	for _, m := range resp.Members {
		if err := kerr.ErrorForCode(m.ErrorCode); err != nil && !errors.Is(err, kerr.UnknownMemberID) {
			return fmt.Errorf("leave group: %w", err)
		}
	}
	return nil
}

// staticLeave sends a KIP-848 static member's leave, complete with its instance id: epoch
// −2 leaves for a restart (its partitions stay reserved for the same instance id until the
// session timeout); −1 leaves for good.
func staticLeave(ctx context.Context, cl *kgo.Client, group, memberID, instanceID string, epoch int32) error {
	req := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	req.Group = group
	req.MemberID = memberID
	req.MemberEpoch = epoch
	req.InstanceID = &instanceID
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("static leave: %w", err)
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil && !errors.Is(err, kerr.UnknownMemberID) {
		return fmt.Errorf("static leave: %w", err)
	}
	return nil
}

// handle calls the handler until it succeeds or ctx ends; it reports success.
func (c *Consumer) handle(ctx context.Context, r *kgo.Record) bool {
	wait := 100 * time.Millisecond
	for {
		err := c.h(ctx, r)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		c.log.Warn("handler failed; retrying the record", slog.String("topic", r.Topic), slog.Int("partition", int(r.Partition)),
			slog.Int64("offset", r.Offset), slog.Duration("in", wait), slog.String("error", err.Error()))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
		wait = min(2*wait, 10*time.Second)
	}
}

// commit makes what has completed durable: through the Committer, or as marked offsets.
func (c *Consumer) commit(ctx context.Context) error {
	if c.committer != nil {
		return c.committer.Commit(ctx)
	}
	return c.cl.CommitMarkedOffsets(ctx)
}

// commitSoon asks the committer for a commit; requests while one is running coalesce.
func (c *Consumer) commitSoon() {
	select {
	case c.commitCh <- struct{}{}:
	default:
	}
}

// commitLoop commits marked offsets whenever records complete, one commit at a time.
func (c *Consumer) commitLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.commitCh:
		}
		if err := c.cl.CommitMarkedOffsets(ctx); err != nil && ctx.Err() == nil && !errors.Is(err, kerr.RebalanceInProgress) {
			c.log.Debug("commit failed; retried with the next completion or interval", slog.String("error", err.Error()))
		}
	}
}

// assigned starts a worker per new partition.
func (c *Consumer) assigned(_ context.Context, cl *kgo.Client, parts map[string][]int32) {
	c.mu.Lock()
	for topic, ps := range parts {
		if c.workers[topic] == nil {
			c.workers[topic] = map[int32]*worker{}
		}
		for _, p := range ps {
			if c.workers[topic][p] == nil {
				c.workers[topic][p] = newWorker(c, topic, p)
			}
		}
	}
	c.mu.Unlock()
	cl.ResumeFetchPartitions(parts)
	c.ready.Store(true)
	c.log.Info("partitions assigned", slog.Any("partitions", parts), slog.String("protocol", c.protocol))
}

// revoked drains the revoked partitions' workers and commits what they completed before
// the rebalance may continue.
func (c *Consumer) revoked(ctx context.Context, cl *kgo.Client, parts map[string][]int32) {
	ws := c.detach(parts)
	c.stopAll(ws, c.cfg.DrainTimeout)
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := c.commit(cctx); err != nil {
		c.log.Warn("commit on revoke failed; the next owner repeats the uncommitted records", slog.String("error", err.Error()))
	}
	if c.committer != nil {
		c.committer.Forget(parts)
	}
	cl.ResumeFetchPartitions(parts)
	if len(ws) > 0 {
		c.log.Info("partitions revoked", slog.Any("partitions", parts))
	}
}

// lost cancels the lost partitions' workers; nothing is committed for them.
func (c *Consumer) lost(_ context.Context, cl *kgo.Client, parts map[string][]int32) {
	ws := c.detach(parts)
	for _, w := range ws {
		w.lose()
	}
	if c.committer != nil {
		c.committer.Forget(parts)
	}
	cl.ResumeFetchPartitions(parts)
	c.ready.Store(false)
	c.log.Warn("partitions lost", slog.Any("partitions", parts))
}

func (c *Consumer) detach(parts map[string][]int32) []*worker {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ws []*worker
	for topic, ps := range parts {
		for _, p := range ps {
			if w := c.workers[topic][p]; w != nil {
				ws = append(ws, w)
				delete(c.workers[topic], p)
			}
		}
	}
	return ws
}

// stopAll stops workers in parallel, so one slow partition does not eat the others' time.
func (c *Consumer) stopAll(ws []*worker, wait time.Duration) {
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if n := w.stop(wait); n > 0 {
				c.log.Warn("abandoned records at the drain deadline; the next owner repeats them",
					slog.String("topic", w.topic), slog.Int("partition", int(w.partition)), slog.Int("records", n))
			}
		}()
	}
	wg.Wait()
}
