package consumer

import (
	"sync/atomic"
	"time"
)

// runnerIdle is how long a handler goroutine waits for another record before it exits.
const runnerIdle = 10 * time.Second

// runners runs records' handlers on reused goroutines. A goroutine that has handled a
// record waits a while for the next one instead of exiting: its stack, grown through
// validation, the HTTP call and the produce, then serves the next record as it is, where a
// new goroutine would grow (copy) its stack again for every record. There are never more
// goroutines than records handled at once.
type runners struct {
	work chan func()
	quit chan struct{}
	// spawned counts the goroutines started; idle those waiting for a record.
	spawned, idle atomic.Int64
}

func newRunners() *runners {
	return &runners{work: make(chan func()), quit: make(chan struct{})}
}

// Go runs f on an idle goroutine, or on a new one when none is idle.
func (r *runners) Go(f func()) {
	select {
	case r.work <- f:
	default:
		r.spawned.Add(1)
		go r.loop(f)
	}
}

func (r *runners) loop(f func()) {
	idle := time.NewTimer(runnerIdle)
	defer idle.Stop()
	for {
		f()
		idle.Reset(runnerIdle)
		r.idle.Add(1)
		select {
		case f = <-r.work:
			r.idle.Add(-1)
		case <-idle.C:
			r.idle.Add(-1)
			return
		case <-r.quit:
			r.idle.Add(-1)
			return
		}
	}
}

// close makes idle goroutines exit; one still handling a record exits when it is done.
func (r *runners) close() { close(r.quit) }
