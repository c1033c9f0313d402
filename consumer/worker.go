package consumer

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// worker handles one assigned partition: a bounded window of records in flight, in the
// configured order, and a mark for the highest offset whose predecessors are all done.
//
// Records move queue → window (started) → completed. pending holds the started records
// in offset order; the completed prefix of pending is what may be committed, so a record
// that finishes early never lets the commit skip one still in flight.
type worker struct {
	c         *Consumer
	topic     string
	partition int32
	window    int
	lowWater  int

	// ctx is given to the handler. It is cancelled when the partition is lost, or when a
	// revocation or shutdown has waited DrainTimeout for in-flight records.
	ctx    context.Context
	cancel context.CancelFunc
	stopCh chan struct{} // closed: start nothing new
	wake   chan struct{} // capacity 1: something changed
	exited chan struct{} // closed when the dispatcher returns

	mu        sync.Mutex
	queue     []*kgo.Record
	pending   []*slot
	inflight  int
	keyTail   map[string]chan struct{}
	stopped   bool
	noMarks   bool
	paused    bool
	handlers  sync.WaitGroup
	completed int64

	highWatermark atomic.Int64 // from the newest fetch; -1 before the first

	// fetchMu orders the pause and resume calls to the client: the poll loop decides to
	// pause and the dispatcher to resume, on different goroutines, so each applies the
	// state as it is when its turn comes (applyFetch), never a stale one.
	fetchMu sync.Mutex
}

type slot struct {
	rec  *kgo.Record
	done bool
}

func newWorker(c *Consumer, topic string, partition int32) *worker {
	ctx, cancel := context.WithCancel(context.Background())
	w := &worker{
		c: c, topic: topic, partition: partition,
		window: c.cfg.MaxInFlightPerPartition, lowWater: max(1, c.cfg.MaxInFlightPerPartition/2),
		ctx: ctx, cancel: cancel,
		stopCh: make(chan struct{}), wake: make(chan struct{}, 1), exited: make(chan struct{}),
		keyTail: map[string]chan struct{}{},
	}
	w.highWatermark.Store(-1)
	if c.cfg.Ordering == OrderPartition {
		w.window = 1
		w.lowWater = 1
	}
	go w.dispatch()
	return w
}

func (w *worker) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// enqueue adds fetched records and reports whether the partition should be paused: its
// queue already holds a window's worth beyond what is in flight.
func (w *worker) enqueue(recs []*kgo.Record) (pause bool) {
	w.mu.Lock()
	w.queue = append(w.queue, recs...)
	pause = !w.paused && len(w.queue) >= w.window
	if pause {
		w.paused = true
	}
	w.mu.Unlock()
	w.signal()
	return pause
}

// applyFetch pauses or resumes fetching for the partition as w.paused says now. Whoever
// changes w.paused calls it afterwards; as the calls are serialised and each reads the
// state afresh, the last call applies the last state, even when a pause decided on the
// poll loop is applied after the dispatcher has already decided to resume. A stopped
// worker leaves fetching to the partition's next owner.
func (w *worker) applyFetch() {
	w.fetchMu.Lock()
	defer w.fetchMu.Unlock()
	w.mu.Lock()
	paused, stopped := w.paused, w.stopped
	w.mu.Unlock()
	if stopped {
		return
	}
	parts := map[string][]int32{w.topic: {w.partition}}
	if paused {
		w.c.cl.PauseFetchPartitions(parts)
	} else {
		w.c.cl.ResumeFetchPartitions(parts)
	}
}

// dispatch starts queued records as the window, the instance-wide limit and the ordering
// allow, until stopped.
func (w *worker) dispatch() {
	defer close(w.exited)
	for {
		s, prev, mine, resume, ok := w.next()
		if resume {
			w.applyFetch()
		}
		if !ok {
			select {
			case <-w.wake:
				continue
			case <-w.stopCh:
				return
			}
		}
		// The instance-wide limit: wait for a slot, unless told to stop.
		select {
		case w.c.sem <- struct{}{}:
		case <-w.stopCh:
			w.abandon(s, mine)
			return
		}
		w.handlers.Add(1)
		go w.run(s, prev, mine)
	}
}

// next takes the next record off the queue when the window has room. It returns ok=false
// when there is nothing to start; resume reports that the queue drained below the low water
// mark of a paused partition.
func (w *worker) next() (s *slot, prev, mine chan struct{}, resume, ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped || len(w.queue) == 0 || w.inflight >= w.window {
		return nil, nil, nil, false, false
	}
	rec := w.queue[0]
	w.queue[0] = nil
	w.queue = w.queue[1:]
	if len(w.queue) == 0 {
		w.queue = nil // let the backing array go
	}
	w.inflight++
	s = &slot{rec: rec}
	w.pending = append(w.pending, s)
	if w.c.cfg.Ordering == OrderKey {
		k := string(rec.Key)
		prev = w.keyTail[k]
		mine = make(chan struct{})
		w.keyTail[k] = mine
	}
	if w.paused && len(w.queue) < w.lowWater {
		w.paused = false
		resume = true
	}
	return s, prev, mine, resume, true
}

// run handles one record after its key's predecessor, then completes it.
func (w *worker) run(s *slot, prev, mine chan struct{}) {
	defer w.handlers.Done()
	ok := false
	if prev != nil {
		select {
		case <-prev:
		case <-w.ctx.Done():
		}
	}
	if w.ctx.Err() == nil {
		ok = w.c.handle(w.ctx, s.rec)
	}
	<-w.c.sem
	w.finish(s, mine, ok)
}

// abandon undoes next for a record that was never started.
func (w *worker) abandon(s *slot, mine chan struct{}) {
	w.finish(s, mine, false)
}

// finish records the outcome and marks the completed prefix for commit.
func (w *worker) finish(s *slot, mine chan struct{}, ok bool) {
	w.mu.Lock()
	if mine != nil {
		close(mine)
		if k := string(s.rec.Key); w.keyTail[k] == mine {
			delete(w.keyTail, k)
		}
	}
	w.inflight--
	s.done = ok
	var last *kgo.Record
	i := 0
	for i < len(w.pending) && w.pending[i].done {
		last = w.pending[i].rec
		i++
	}
	mark := last != nil && !w.noMarks
	if mark && w.c.committer != nil {
		recs := make([]*kgo.Record, i)
		for j := range recs {
			recs[j] = w.pending[j].rec
		}
		w.c.committer.Completed(w.topic, w.partition, recs)
		mark = false // the committer decides when to commit
	}
	if i > 0 {
		w.completed += int64(i)
		w.pending = append(w.pending[:0:0], w.pending[i:]...)
	}
	if mark {
		w.c.cl.MarkCommitRecords(last)
	}
	w.mu.Unlock()
	if mark {
		w.c.commitSoon()
	}
	w.signal()
}

// stop starts nothing new, waits up to wait for the records in flight, then cancels the
// rest and waits for their handlers to return. After stop, the worker marks nothing.
func (w *worker) stop(wait time.Duration) (abandoned int) {
	w.mu.Lock()
	w.stopped = true
	w.mu.Unlock()
	close(w.stopCh)
	<-w.exited
	drained := make(chan struct{})
	go func() { w.handlers.Wait(); close(drained) }()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-drained:
	case <-timer.C:
		w.cancel()
		<-drained
	}
	w.cancel()
	w.mu.Lock()
	w.noMarks = true
	for _, s := range w.pending {
		if !s.done {
			abandoned++
		}
	}
	w.mu.Unlock()
	return abandoned
}

// lose cancels everything at once and marks nothing: the partition already belongs to
// someone else, so a commit from us could overwrite theirs.
func (w *worker) lose() {
	w.mu.Lock()
	w.noMarks = true
	w.stopped = true
	w.mu.Unlock()
	w.cancel()
	close(w.stopCh)
	<-w.exited
	w.handlers.Wait()
}

// stats returns the worker's counters.
func (w *worker) stats() PartitionStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return PartitionStats{Topic: w.topic, Partition: w.partition, InFlight: w.inflight, Queued: len(w.queue), Paused: w.paused,
		Completed: w.completed, HighWatermark: w.highWatermark.Load(), Committed: -1}
}
