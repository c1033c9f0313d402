package producer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/jft-gateway/jft-gateway/internal/jft"
)

// TxnWriter writes results in Kafka transactions that also commit their inputs' offsets
// (KIP-98 transactions with KIP-447 fencing). A result is staged when its record is handled
// (Publish) and enters a transaction only when every record before it in its partition has
// completed (Completed, from the consumer), so that the offsets a transaction commits cover
// exactly the results it writes. A transaction commits every Config.TxnInterval, or sooner
// when Config.TxnMaxRecords are waiting, and at revocation and shutdown (Commit). A failed
// or aborted transaction is retried with the same records; after a crash its records are
// handled again, and their earlier results, never committed, stay invisible to
// read_committed consumers.
//
// franz-go's GroupTransactSession is not used: it commits every polled offset and rewinds
// the consumer on abort, which suits a poll–process–commit loop but not a consumer that
// handles records concurrently and commits only completed prefixes. TxnWriter sends the
// same requests (AddOffsetsToTxn, TxnOffsetCommit with the member's generation and instance
// id) for the prefixes it is given, from a transactional client of its own.
//
// TxnWriter implements pipeline.Publisher and consumer.Committer.
type TxnWriter struct {
	p        *Producer
	cfg      Config
	cl       *kgo.Client // transactional: kgo.TransactionalID set
	txnID    string
	group    string
	instance *string
	log      *slog.Logger

	// member returns the consumer's member id and generation (kgo.Client.GroupMetadata).
	member func() (string, int32)

	staged sync.Map // *kgo.Record (input) → []*kgo.Record (its dead letter and result)

	mu        sync.Mutex
	batch     map[tp]*pending // completed, not yet committed
	waiting   int             // records in batch
	leases    map[tp]uint64   // bumped when a partition is lost: its old records are dropped
	committed map[tp]int64    // the newest offsets our transactions committed

	round    sync.Mutex          // one transaction at a time
	topicIDs map[string][16]byte // for TxnOffsetCommit v6+; guarded by round
	wake     chan struct{}
	stop     chan struct{}
	exited   chan struct{}
	once     sync.Once
}

type tp struct {
	topic     string
	partition int32
}

// pending is a partition's completed records waiting for a transaction: their results in
// offset order, and the offset to commit (one past the last).
type pending struct {
	results []*kgo.Record
	next    int64
	epoch   int32
	lease   uint64
}

// TxnOptions are the client options a transactional results client of the instance
// instanceID in group needs: those of Options, the transaction timeout, and a
// transactional id stable across the instance's restarts, so that a restarted instance
// fences its predecessor and aborts the transaction it left open at once.
func TxnOptions(cfg Config, group, instanceID string) []kgo.Opt {
	return append(Options(cfg), kgo.TransactionalID("jft-gateway."+group+"."+instanceID), kgo.TransactionTimeout(cfg.TxnTimeout))
}

// NewTxnWriter returns a writer over cl, a client made with TxnOptions for the same group
// and instance. The group membership is bound later (Bind), once the consumer exists.
// Close stops it.
func NewTxnWriter(cfg Config, cl *kgo.Client, group, instanceID string, log *slog.Logger) (*TxnWriter, error) {
	p, err := New(cfg, cl)
	if err != nil {
		return nil, err
	}
	if !cfg.Transactional {
		return nil, errors.New("producer: NewTxnWriter needs JFT_RESULTS_TRANSACTIONAL=true")
	}
	if instanceID == "" {
		return nil, errors.New("producer: NewTxnWriter needs the instance id (JFT_KAFKA_INSTANCE_ID)")
	}
	id, ok := cl.OptValue(kgo.TransactionalID).(string)
	if !ok || id == "" {
		return nil, errors.New("producer: the results client has no transactional id (use TxnOptions)")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := &TxnWriter{
		p: p, cfg: cfg, cl: cl, txnID: id, group: group, instance: &instanceID, log: log,
		member: func() (string, int32) { return "", -1 },
		batch:  map[tp]*pending{}, leases: map[tp]uint64{}, committed: map[tp]int64{}, topicIDs: map[string][16]byte{},
		wake: make(chan struct{}, 1), stop: make(chan struct{}), exited: make(chan struct{}),
	}
	go t.loop()
	return t, nil
}

// Bind sets where the consumer's group membership is read from (the consumer's client).
func (t *TxnWriter) Bind(member func() (string, int32)) {
	t.round.Lock()
	t.member = member
	t.round.Unlock()
}

// Publish stages the result of in (and its dead-letter copy); it enters a transaction once
// the consumer reports in completed. It never fails for Kafka's sake: a transaction that
// fails is retried with the same records.
func (t *TxnWriter) Publish(ctx context.Context, in *kgo.Record, res jft.Result) error {
	// The records outlive the handler's context (a revocation cancels it before the last
	// transaction commits); they keep its span for the traceparent.
	recs, err := t.p.records(context.WithoutCancel(ctx), in, res)
	if err != nil {
		return err
	}
	t.staged.Store(in, recs)
	return nil
}

// Completed moves the staged results of recs, a partition's newly completed prefix in
// offset order, into the next transaction.
func (t *TxnWriter) Completed(topic string, partition int32, recs []*kgo.Record) {
	if len(recs) == 0 {
		return
	}
	k := tp{topic, partition}
	t.mu.Lock()
	p := t.batch[k]
	if p == nil {
		p = &pending{lease: t.leases[k]}
		t.batch[k] = p
	}
	for _, r := range recs {
		if v, ok := t.staged.LoadAndDelete(r); ok {
			staged := v.([]*kgo.Record)
			p.results = append(p.results, staged...)
			t.waiting += len(staged)
		}
	}
	last := recs[len(recs)-1]
	p.next, p.epoch = last.Offset+1, last.LeaderEpoch
	full := t.waiting >= t.cfg.TxnMaxRecords
	t.mu.Unlock()
	if full {
		select {
		case t.wake <- struct{}{}:
		default:
		}
	}
}

// Forget drops what was staged or completed on partitions this member no longer owns
// (lost, or revoked after Commit): their next owner handles those records again.
func (t *TxnWriter) Forget(parts map[string][]int32) {
	t.mu.Lock()
	for topic, ps := range parts {
		for _, p := range ps {
			k := tp{topic, p}
			t.leases[k]++
			if b := t.batch[k]; b != nil {
				t.waiting -= len(b.results)
				delete(t.batch, k)
			}
		}
	}
	t.mu.Unlock()
	t.staged.Range(func(key, _ any) bool {
		r := key.(*kgo.Record)
		for _, p := range parts[r.Topic] {
			if p == r.Partition {
				t.staged.Delete(key)
			}
		}
		return true
	})
}

// Committed is the offset our newest transaction committed for the partition.
func (t *TxnWriter) Committed(topic string, partition int32) (int64, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	o, ok := t.committed[tp{topic, partition}]
	return o, ok
}

// Commit commits everything completed so far, retrying a failed transaction until ctx
// ends; the consumer calls it before giving partitions up.
func (t *TxnWriter) Commit(ctx context.Context) error {
	wait := 50 * time.Millisecond
	for {
		err := t.commitRound(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("commit results transaction: %w", err)
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

// Close stops the periodic transactions; what is not committed is handled again by the
// partitions' next owner.
func (t *TxnWriter) Close() {
	t.once.Do(func() { close(t.stop) })
	<-t.exited
}

func (t *TxnWriter) loop() {
	defer close(t.exited)
	tick := time.NewTicker(t.cfg.TxnInterval)
	defer tick.Stop()
	failures := 0
	for {
		select {
		case <-t.stop:
			return
		case <-tick.C:
		case <-t.wake:
		}
		ctx, cancel := context.WithTimeout(context.Background(), t.cfg.TxnTimeout)
		err := t.commitRound(ctx)
		cancel()
		if err == nil {
			failures = 0
			continue
		}
		failures++
		t.log.Warn("results transaction failed; retrying it with the same records",
			slog.Int("failures", failures), slog.String("error", err.Error()))
		select { // back off a little, more after repeated failures
		case <-t.stop:
			return
		case <-time.After(min(time.Duration(failures)*t.cfg.TxnInterval, 2*time.Second)):
		}
	}
}

// commitRound runs one transaction over everything waiting. On failure the records go back
// in front of whatever completed meanwhile, unless their partition was lost.
func (t *TxnWriter) commitRound(ctx context.Context) error {
	t.round.Lock()
	defer t.round.Unlock()
	t.mu.Lock()
	batch := t.batch
	t.batch = map[tp]*pending{}
	t.waiting = 0
	t.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	err := t.transact(ctx, batch)
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, b := range batch {
		if err == nil {
			t.committed[k] = b.next
			continue
		}
		if b.lease != t.leases[k] {
			continue // lost meanwhile
		}
		if later := t.batch[k]; later != nil {
			b.results = append(b.results, later.results...)
			b.next, b.epoch = later.next, later.epoch
		}
		t.batch[k] = b
		t.waiting += len(b.results)
	}
	return err
}

// transact writes batch's results and commits its offsets in one transaction.
func (t *TxnWriter) transact(ctx context.Context, batch map[tp]*pending) (err error) {
	if err := t.cl.BeginTransaction(); err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer func() {
		if err != nil {
			err = t.abort(ctx, err)
		}
	}()
	keys := make([]tp, 0, len(batch))
	for k := range batch {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i].topic < keys[j].topic || keys[i].topic == keys[j].topic && keys[i].partition < keys[j].partition
	})

	var (
		wg       sync.WaitGroup
		errMu    sync.Mutex
		firstErr error
	)
	for _, k := range keys {
		for _, r := range batch[k].results {
			wg.Add(1)
			t.cl.Produce(ctx, r, func(r *kgo.Record, err error) {
				defer wg.Done()
				if err != nil {
					errMu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("produce to %s: %w", r.Topic, err)
					}
					errMu.Unlock()
				}
			})
		}
	}
	if err := t.cl.Flush(ctx); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if err := t.commitOffsets(ctx, keys, batch); err != nil {
		return err
	}
	if err := t.cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		return fmt.Errorf("commit transaction: %w", err)
	}
	return nil
}

// commitOffsets adds the group's offsets to the transaction (AddOffsetsToTxn) and commits
// them in it (TxnOffsetCommit), fenced by the member's generation and instance id (KIP-447).
func (t *TxnWriter) commitOffsets(ctx context.Context, keys []tp, batch map[tp]*pending) error {
	memberID, generation := t.member()
	if memberID == "" {
		return errors.New("commit offsets: not a member of the group")
	}
	pid, epoch, err := t.cl.ProducerID(ctx)
	if err != nil {
		return fmt.Errorf("producer id: %w", err)
	}
	add := kmsg.NewPtrAddOffsetsToTxnRequest()
	add.TransactionalID, add.ProducerID, add.ProducerEpoch, add.Group = t.txnID, pid, epoch, t.group
	addResp, err := add.RequestWith(ctx, t.cl)
	if err != nil {
		return fmt.Errorf("add offsets to transaction: %w", err)
	}
	if err := kerr.ErrorForCode(addResp.ErrorCode); err != nil {
		return fmt.Errorf("add offsets to transaction: %w", err)
	}

	if err := t.lookupTopicIDs(ctx, keys); err != nil {
		return err
	}
	req := kmsg.NewPtrTxnOffsetCommitRequest()
	req.TransactionalID, req.Group, req.ProducerID, req.ProducerEpoch = t.txnID, t.group, pid, epoch
	req.Generation, req.MemberID, req.InstanceID = generation, memberID, t.instance
	for _, k := range keys {
		if n := len(req.Topics); n == 0 || req.Topics[n-1].Topic != k.topic {
			rt := kmsg.NewTxnOffsetCommitRequestTopic()
			rt.Topic, rt.TopicID = k.topic, t.topicIDs[k.topic] // by name up to v5, by id from v6
			req.Topics = append(req.Topics, rt)
		}
		p := kmsg.NewTxnOffsetCommitRequestTopicPartition()
		p.Partition, p.Offset, p.LeaderEpoch = k.partition, batch[k].next, batch[k].epoch
		rt := &req.Topics[len(req.Topics)-1]
		rt.Partitions = append(rt.Partitions, p)
	}
	resp, err := req.RequestWith(ctx, t.cl)
	if err != nil {
		return fmt.Errorf("commit offsets in transaction: %w", err)
	}
	for i, rt := range resp.Topics {
		for _, p := range rt.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				if errors.Is(err, kerr.UnknownTopicID) {
					clear(t.topicIDs) // recreated: look the ids up again next time
				}
				name := rt.Topic
				if name == "" && i < len(req.Topics) {
					name = req.Topics[i].Topic
				}
				return fmt.Errorf("commit offset of %s/%d in transaction: %w", name, p.Partition, err)
			}
		}
	}
	return nil
}

// lookupTopicIDs fills topicIDs for the input topics of keys (TxnOffsetCommit v6 names
// topics by id).
func (t *TxnWriter) lookupTopicIDs(ctx context.Context, keys []tp) error {
	req := kmsg.NewPtrMetadataRequest()
	for _, k := range keys {
		if _, ok := t.topicIDs[k.topic]; !ok {
			rt := kmsg.NewMetadataRequestTopic()
			rt.Topic = kmsg.StringPtr(k.topic)
			req.Topics = append(req.Topics, rt)
		}
	}
	if len(req.Topics) == 0 {
		return nil
	}
	resp, err := req.RequestWith(ctx, t.cl)
	if err != nil {
		return fmt.Errorf("look up topic ids: %w", err)
	}
	for _, rt := range resp.Topics {
		if err := kerr.ErrorForCode(rt.ErrorCode); err != nil || rt.Topic == nil {
			return fmt.Errorf("look up topic ids: %w", err)
		}
		t.topicIDs[*rt.Topic] = rt.TopicID
	}
	return nil
}

// abort ends the transaction without committing; cause says why.
func (t *TxnWriter) abort(ctx context.Context, cause error) error {
	if err := t.cl.AbortBufferedRecords(ctx); err != nil {
		return fmt.Errorf("%w (then aborting buffered records: %v)", cause, err)
	}
	if err := t.cl.EndTransaction(ctx, kgo.TryAbort); err != nil {
		return fmt.Errorf("%w (then aborting: %v)", cause, err)
	}
	return cause
}
