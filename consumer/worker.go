package consumer

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/jft-gateway/jft-gateway/internal/jft"
)

// queueDepth is how many fetched records a partition may hold beyond its window before its
// fetches pause; they resume at half. It is small because a record's wait in the queue is
// short: the dispatcher moves records into the window as soon as it has room.
const queueDepth = 64

// worker handles one assigned partition: a bounded window of records in flight, in the
// configured order, and a mark for the highest offset whose predecessors are all done.
//
// Records move queue → window (taken) → running → completed. pending holds the taken
// records in offset order; the completed prefix of pending is what may be committed, so a
// record that finishes early never lets the commit skip one still in flight. A record runs
// only with one of the instance-wide slots (Consumer.sem). Under key ordering a record whose
// key has a record running waits in keyWait, holding no slot and no goroutine, and is
// started when its predecessor's WriteAPI call is over (the handler calls jft.CallDone) or,
// if the handler never says so, when its predecessor finishes.
type worker struct {
	c         *Consumer
	topic     string
	partition int32
	window    int
	queueCap  int
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
	inflight  int                // taken into the window and not finished
	keyWait   map[string][]*slot // key ordering: present while a record of the key runs (until its call is done)
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
	rec      *kgo.Record
	key      string // the record's key as a map key, under key ordering
	done     bool
	released bool // key ordering: the key's next record has been let go (releaseKey)
}

func newWorker(c *Consumer, topic string, partition int32) *worker {
	ctx, cancel := context.WithCancel(context.Background())
	w := &worker{
		c: c, topic: topic, partition: partition,
		window: c.cfg.Window(), queueCap: min(c.cfg.Window(), queueDepth),
		ctx: ctx, cancel: cancel,
		stopCh: make(chan struct{}), wake: make(chan struct{}, 1), exited: make(chan struct{}),
		keyWait: map[string][]*slot{},
	}
	w.highWatermark.Store(-1)
	if c.cfg.Ordering == OrderPartition {
		w.window = 1
		w.queueCap = 1
	}
	w.lowWater = max(1, w.queueCap/2)
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
// queue already holds queueCap records beyond its window.
func (w *worker) enqueue(recs []*kgo.Record) (pause bool) {
	w.mu.Lock()
	w.queue = append(w.queue, recs...)
	pause = !w.paused && len(w.queue) >= w.queueCap
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
		s, resume, ok := w.next()
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
		// The instance-wide limit: wait for a slot, unless told to stop. Waiting here
		// rather than in a goroutine keeps records that cannot run yet in the queue.
		select {
		case w.c.sem <- struct{}{}:
		case <-w.stopCh:
			w.finish(s, false) // never started
			return
		}
		w.handlers.Add(1)
		w.c.runners.Go(func() { w.run(s, true) })
	}
}

// next takes records off the queue while the window has room, and returns the first that
// may run now. Under key ordering, a record whose key has a record running is parked in
// keyWait instead. ok=false: nothing to start; resume reports that the queue drained below
// the low water mark of a paused partition.
func (w *worker) next() (s *slot, resume, ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for !w.stopped && len(w.queue) > 0 && w.inflight < w.window {
		rec := w.queue[0]
		w.queue[0] = nil
		w.queue = w.queue[1:]
		if len(w.queue) == 0 {
			w.queue = nil // let the backing array go
		}
		w.inflight++
		s = &slot{rec: rec}
		w.pending = append(w.pending, s)
		if w.paused && len(w.queue) < w.lowWater {
			w.paused = false
			resume = true
		}
		if w.c.cfg.Ordering != OrderKey {
			return s, resume, true
		}
		s.key = string(rec.Key)
		if waiting, busy := w.keyWait[s.key]; busy {
			w.keyWait[s.key] = append(waiting, s) // started by releaseKey, after its predecessor
			continue
		}
		w.keyWait[s.key] = nil
		return s, resume, true
	}
	return nil, resume, false
}

// run handles one record, then completes it. held says the dispatcher already took the
// record's instance-wide slot; a record released by its key's predecessor takes its own.
func (w *worker) run(s *slot, held bool) {
	defer w.handlers.Done()
	if !held {
		held = w.acquire()
	}
	ok := false
	if held {
		if w.ctx.Err() == nil {
			ctx := w.ctx
			if w.c.cfg.Ordering == OrderKey {
				ctx = jft.WithCallDone(ctx, func() { w.callDone(s) })
			}
			ok = w.c.handle(ctx, s.rec)
		}
		<-w.c.sem
	}
	w.finish(s, ok)
}

// callDone starts the next record of s's key once s's WriteAPI call is over (jft.CallDone),
// before s's result is durable. s itself stays in the window, uncommitted, until finish.
func (w *worker) callDone(s *slot) {
	w.mu.Lock()
	next := w.releaseKey(s)
	w.mu.Unlock()
	w.start(next)
}

// start runs a record let go by its key's predecessor, if any.
func (w *worker) start(next *slot) {
	if next != nil {
		w.handlers.Add(1) // the caller is a handler itself, so handlers cannot reach zero first
		w.c.runners.Go(func() { w.run(next, false) })
	}
}

// releaseKey lets the next record of s's key go, once: it returns that record to start, or
// nil. When the worker is cancelled, what still waits is never started, and stays
// uncommitted. Called with w.mu held, under key ordering.
func (w *worker) releaseKey(s *slot) *slot {
	if s.released {
		return nil
	}
	s.released = true
	waiting := w.keyWait[s.key]
	if len(waiting) > 0 && w.ctx.Err() == nil {
		next := waiting[0]
		w.keyWait[s.key] = waiting[1:]
		return next
	}
	w.inflight -= len(waiting)
	delete(w.keyWait, s.key)
	return nil
}

// acquire takes an instance-wide slot for a record released by its key's predecessor. It
// still does while the worker drains: the record was taken into the window before the one
// the dispatcher may be abandoning, so leaving it out would commit less than was handled.
// It reports false when the worker's context ends first.
func (w *worker) acquire() bool {
	select {
	case w.c.sem <- struct{}{}:
		return true
	case <-w.ctx.Done():
		return false
	}
}

// finish records the outcome, starts the next record of its key, and marks the completed
// prefix for commit.
func (w *worker) finish(s *slot, ok bool) {
	w.mu.Lock()
	w.inflight--
	s.done = ok
	var next *slot
	if w.c.cfg.Ordering == OrderKey {
		next = w.releaseKey(s)
	}
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
		n := copy(w.pending, w.pending[i:]) // in place: no new array per completion
		clear(w.pending[n:])
		w.pending = w.pending[:n]
	}
	if mark {
		w.c.cl.MarkCommitRecords(last)
	}
	w.mu.Unlock()
	w.start(next)
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
