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
// Accepted() or GET /_sim/events; the body itself is kept only for the ReadAPI.
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
	hashes   map[string]int
	stats    Stats
	inflight int
}

func newStore() *store {
	return &store{byID: map[string]*Event{}, hashes: map[string]int{}, stats: Stats{ByStatus: map[int]int{}, PerTenant: map[string]int{}}}
}

func (st *store) reset() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.events, st.byID, st.hashes = nil, map[string]*Event{}, map[string]int{}
	st.stats = Stats{ByStatus: map[int]int{}, PerTenant: map[string]int{}}
}

func (st *store) add(e *Event, body []byte) {
	sum := sha256.Sum256(body)
	e.BodySHA256 = hex.EncodeToString(sum[:])
	e.body = body
	st.mu.Lock()
	defer st.mu.Unlock()
	st.events = append(st.events, e)
	st.byID[e.ID] = e
	if st.hashes[e.BodySHA256] > 0 {
		st.stats.Duplicates++
	}
	st.hashes[e.BodySHA256]++
	st.stats.Accepted++
	st.stats.PerTenant[e.Tenant]++
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
