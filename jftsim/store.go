package jftsim

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync"
	"time"
)

// Event is an accepted event as the simulator saw it. Tests and vendors read these through
// Accepted() or GET /_sim/events. The body is kept only for the ReadAPI, and only while it
// is among the most recent JFT_SIM_READ_BODY_BYTES of accepted bodies.
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

// record is an accepted event as stored: fixed-size fields and indexes into the store's
// interned strings, no pointers. A soak test keeps hundreds of thousands of them; without
// pointers the garbage collector does not scan them, and the simulator stays a quiet
// neighbour of the gateway it serves on the same cores (jft-bench measures that gateway).
type record struct {
	id                          guid
	sum                         [sha256.Size]byte
	trace                       [16]byte // zero: none
	registered, read, journaled int64    // Unix ns; 0: not yet
	typ, tenant, source, client uint32   // interned strings; 0 is ""
}

type guid [16]byte

type store struct {
	mu       sync.Mutex
	recs     []record
	byID     map[guid]uint32
	sums     map[[sha256.Size]byte]uint32
	strs     []string
	interned map[string]uint32
	stats    Stats
	inflight int
	// bodies is the budget of kept bodies (JFT_SIM_READ_BODY_BYTES); body holds them by
	// record index, kept their indexes oldest first from keptFrom, keptBytes long in all.
	bodies    int64
	body      map[uint32][]byte
	kept      []uint32
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
	st.recs, st.byID, st.sums = nil, map[guid]uint32{}, map[[sha256.Size]byte]uint32{}
	st.strs, st.interned = []string{""}, map[string]uint32{"": 0}
	st.body, st.kept, st.keptFrom, st.keptBytes = map[uint32][]byte{}, nil, 0, 0
	st.stats = Stats{ByStatus: map[int]int{}, PerTenant: map[string]int{}}
}

// add stores an accepted event under a new id, which it returns. Of e it takes the
// resource type, tenant, source system, client, trace id and registration time.
func (st *store) add(e Event, body []byte) string {
	sum := sha256.Sum256(body)
	var trace [16]byte // e.TraceID is traceID's: 32 lower-case hex digits or empty
	if len(e.TraceID) != len(trace)*2 {
		trace = [16]byte{}
	} else if _, err := hex.Decode(trace[:], []byte(e.TraceID)); err != nil {
		trace = [16]byte{}
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	r := record{id: st.newID(), sum: sum, trace: trace, registered: e.Registered.UnixNano(),
		typ: st.intern(e.ResourceType), tenant: st.intern(e.Tenant), source: st.intern(e.SourceSystem), client: st.intern(e.ClientID)}
	i := uint32(len(st.recs))
	st.recs = append(st.recs, r)
	st.byID[r.id] = i
	if st.sums[sum] > 0 {
		st.stats.Duplicates++
	}
	st.sums[sum]++
	st.stats.Accepted++
	st.stats.PerTenant[e.Tenant]++
	st.keep(i, body)
	return r.id.String()
}

// newID draws a version-4 UUID, as JFT's resource ids, that no stored event has.
func (st *store) newID() guid {
	for {
		var g guid
		_, _ = rand.Read(g[:])
		g[6] = g[6]&0x0f | 0x40
		g[8] = g[8]&0x3f | 0x80
		if _, taken := st.byID[g]; !taken {
			return g
		}
	}
}

func (st *store) intern(s string) uint32 {
	if i, ok := st.interned[s]; ok {
		return i
	}
	i := uint32(len(st.strs))
	st.strs = append(st.strs, s)
	st.interned[s] = i
	return i
}

// keep holds body for the ReadAPI and lets go of the oldest kept bodies past the budget,
// so that the simulator's memory does not grow with every event's body.
func (st *store) keep(i uint32, body []byte) {
	if int64(len(body)) > st.bodies {
		return
	}
	st.body[i] = body
	st.kept = append(st.kept, i)
	st.keptBytes += int64(len(body))
	for st.keptBytes > st.bodies {
		old := st.kept[st.keptFrom]
		st.keptFrom++
		st.keptBytes -= int64(len(st.body[old]))
		delete(st.body, old)
	}
	if st.keptFrom > len(st.kept)/2 {
		st.kept = append(st.kept[:0], st.kept[st.keptFrom:]...)
		st.keptFrom = 0
	}
}

// find returns the event with this id if it is of type typ and, unless anyTenant, of tenant,
// with its body when still kept. Another type's or another municipality's event is as
// unknown as a missing one. A readAt other than 0 marks the event read then (the first time),
// if its body is still there to be read.
func (st *store) find(typ, id, tenant string, anyTenant bool, readAt int64) (Event, []byte, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	i, ok := st.index(typ, id, tenant, anyTenant)
	if !ok {
		return Event{}, nil, false
	}
	body := st.body[i]
	if r := &st.recs[i]; readAt != 0 && body != nil && r.read == 0 {
		r.read = readAt
	}
	return st.event(i), body, true
}

// acknowledge marks the event journaled at (Unix ns), as find finds it.
func (st *store) acknowledge(typ, id, tenant string, anyTenant bool, at int64) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	i, ok := st.index(typ, id, tenant, anyTenant)
	if ok {
		st.recs[i].journaled = at
		st.stats.Acknowledgements++
	}
	return ok
}

func (st *store) index(typ, id, tenant string, anyTenant bool) (uint32, bool) {
	g, ok := parseGUID(id)
	if !ok {
		return 0, false
	}
	i, ok := st.byID[g]
	if !ok {
		return 0, false
	}
	r := &st.recs[i]
	if st.strs[r.typ] != typ || (!anyTenant && st.strs[r.tenant] != tenant) {
		return 0, false
	}
	return i, true
}

func (st *store) event(i uint32) Event {
	r := &st.recs[i]
	e := Event{ID: r.id.String(), ResourceType: st.strs[r.typ], Tenant: st.strs[r.tenant], BodySHA256: hex.EncodeToString(r.sum[:]),
		SourceSystem: st.strs[r.source], ClientID: st.strs[r.client], Registered: time.Unix(0, r.registered).UTC(),
		Read: unixTime(r.read), Journaled: unixTime(r.journaled)}
	if r.trace != ([16]byte{}) {
		e.TraceID = hex.EncodeToString(r.trace[:])
	}
	return e
}

func unixTime(ns int64) *time.Time {
	if ns == 0 {
		return nil
	}
	t := time.Unix(0, ns).UTC()
	return &t
}

// count changes the counters under the store's lock.
func (st *store) count(change func(*Stats)) {
	st.mu.Lock()
	change(&st.stats)
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

// events returns every accepted event, in the order they were accepted.
func (st *store) events() []Event {
	st.mu.Lock()
	defer st.mu.Unlock()
	evs := make([]Event, len(st.recs))
	for i := range st.recs {
		evs[i] = st.event(uint32(i))
	}
	return evs
}

// counters returns a copy of the counters.
func (st *store) counters() Stats {
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.stats
	s.ByStatus = make(map[int]int, len(st.stats.ByStatus))
	for k, v := range st.stats.ByStatus {
		s.ByStatus[k] = v
	}
	s.PerTenant = make(map[string]int, len(st.stats.PerTenant))
	for k, v := range st.stats.PerTenant {
		s.PerTenant[k] = v
	}
	return s
}

// String formats the id as JFT's resource ids: lower-case hex in 8-4-4-4-12 groups.
func (g guid) String() string {
	var b [36]byte
	hex.Encode(b[0:8], g[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], g[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], g[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], g[8:10])
	b[23] = '-'
	hex.Encode(b[24:36], g[10:16])
	return string(b[:])
}

// parseGUID reads an id in exactly the form String writes; any other spelling names no
// stored event.
func parseGUID(s string) (guid, bool) {
	var g guid
	b, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(b) != len(g) {
		return g, false
	}
	copy(g[:], b)
	return g, g.String() == s
}
