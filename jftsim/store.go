package jftsim

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"time"
)

// Event is an accepted event as the simulator saw it. Tests and vendors read these through
// Accepted() or GET /_sim/events; the body itself is kept only for the ReadAPI, and only
// while it is among the most recent JFT_SIM_READ_BODY_BYTES of accepted bodies.
type Event struct {
	ID           string     `json:"id"`
	ResourceType string     `json:"resourceType"`
	Tenant       string     `json:"tenant"`
	BodySHA256   string     `json:"bodySha256"`
	SourceSystem string     `json:"sourceSystem,omitempty"`
	TraceID      string     `json:"traceId,omitempty"`
	ClientID     string     `json:"clientId,omitempty"`
	Registered   time.Time  `json:"registered"`
	Read         *time.Time `json:"read"`
	Journaled    *time.Time `json:"journaled"`
	body         []byte
}

// Stats counts what the simulator answered.
type Stats struct {
	// ByStatus counts answers to WriteAPI POSTs by HTTP status.
	ByStatus map[int]int `json:"byStatus"`
	// Accepted events and acknowledgements.
	Accepted         int `json:"accepted"`
	Acknowledgements int `json:"acknowledgements"`
	// Duplicates counts events whose body was already accepted once.
	Duplicates int `json:"duplicates"`
	// Resets and Hangs injected.
	Resets int `json:"resets"`
	Hangs  int `json:"hangs"`
	// MaxConcurrent WriteAPI requests seen at once.
	MaxConcurrent int `json:"maxConcurrent"`
	// PerTenant accepted events.
	PerTenant map[string]int `json:"perTenant"`
}

type store struct {
	mu       sync.Mutex
	events   []*Event
	byID     map[string]*Event
	hashes   map[[sha256.Size]byte]int
	stats    Stats
	inflight int
	// bodies is the budget of kept bodies (JFT_SIM_READ_BODY_BYTES); kept lists the events
	// that still hold theirs, oldest first from keptFrom, keptBytes long in all.
	bodies    int64
	kept      []*Event
	keptFrom  int
	keptBytes int64
}

func newStore(bodies int64) *store {
	st := &store{bodies: bodies}
	st.clear()
	return st
}

func (st *store) reset() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.clear()
}

func (st *store) clear() {
	st.events, st.byID, st.hashes = nil, map[string]*Event{}, map[[sha256.Size]byte]int{}
	st.kept, st.keptFrom, st.keptBytes = nil, 0, 0
	st.stats = Stats{ByStatus: map[int]int{}, PerTenant: map[string]int{}}
}

func (st *store) add(e *Event, body []byte) {
	sum := sha256.Sum256(body)
	e.BodySHA256 = hex.EncodeToString(sum[:])
	st.mu.Lock()
	defer st.mu.Unlock()
	st.events = append(st.events, e)
	st.byID[e.ID] = e
	if st.hashes[sum] > 0 {
		st.stats.Duplicates++
	}
	st.hashes[sum]++
	st.stats.Accepted++
	st.stats.PerTenant[e.Tenant]++
	st.keep(e, body)
}

// keep gives e its body and lets go of the oldest kept bodies past the budget, so that the
// simulator's memory does not grow with every event's body (metadata stays for accounting).
func (st *store) keep(e *Event, body []byte) {
	if int64(len(body)) > st.bodies {
		return
	}
	e.body = body
	st.kept = append(st.kept, e)
	st.keptBytes += int64(len(body))
	for st.keptBytes > st.bodies {
		old := st.kept[st.keptFrom]
		st.kept[st.keptFrom] = nil
		st.keptFrom++
		st.keptBytes -= int64(len(old.body))
		old.body = nil
	}
	if st.keptFrom > len(st.kept)/2 {
		st.kept = append(st.kept[:0], st.kept[st.keptFrom:]...)
		clear(st.kept[len(st.kept):cap(st.kept)])
		st.keptFrom = 0
	}
}

func (st *store) answered(status int) {
	st.mu.Lock()
	st.stats.ByStatus[status]++
	st.mu.Unlock()
}

func (st *store) enter() {
	st.mu.Lock()
	st.inflight++
	st.stats.MaxConcurrent = max(st.stats.MaxConcurrent, st.inflight)
	st.mu.Unlock()
}

func (st *store) leave() {
	st.mu.Lock()
	st.inflight--
	st.mu.Unlock()
}

func (st *store) snapshot() ([]Event, Stats) {
	st.mu.Lock()
	defer st.mu.Unlock()
	evs := make([]Event, len(st.events))
	for i, e := range st.events {
		evs[i] = *e
		evs[i].body = nil
	}
	s := st.stats
	s.ByStatus = map[int]int{}
	for k, v := range st.stats.ByStatus {
		s.ByStatus[k] = v
	}
	s.PerTenant = map[string]int{}
	for k, v := range st.stats.PerTenant {
		s.PerTenant[k] = v
	}
	return evs, s
}

// newGUID returns a random version-4 UUID, as JFT's resource ids.
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
