package consumer

import (
	"runtime"
	"sync"
	"testing"
)

// A record handled after another has finished runs on the same goroutine; records handled
// at once each get one; close ends the idle ones (goleak checks at the end of the package).
func TestRunnersReuseIdleGoroutines(t *testing.T) {
	r := newRunners()
	defer r.close()
	const n = 200
	for range n {
		done := make(chan struct{})
		r.Go(func() { close(done) })
		<-done
		for r.idle.Load() == 0 { // until the goroutine waits for the next record
			runtime.Gosched()
		}
	}
	// A goroutine counted idle may not yet be receiving, so a few records can still
	// start a new one; a goroutine per record would make n.
	if got := r.spawned.Load(); got > 10 {
		t.Fatalf("%d goroutines started for %d records handled one after another", got, n)
	}

	var started, release sync.WaitGroup
	before := r.spawned.Load()
	idle := r.idle.Load()
	hold := make(chan struct{})
	const m = 8
	started.Add(m)
	release.Add(m)
	for range m {
		r.Go(func() { started.Done(); <-hold; release.Done() })
	}
	started.Wait() // all m run at once: none waited for another to finish
	close(hold)
	release.Wait()
	if got := r.spawned.Load() - before; got < m-idle || got > m {
		t.Fatalf("%d goroutines started for %d records at once with %d idle", got, m, idle)
	}
}
