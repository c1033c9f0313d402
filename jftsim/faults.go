package jftsim

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// Faults is the fault injection in force; PUT /_sim/faults replaces it, GET reads it.
type Faults struct {
	Latency       Duration        `json:"latency"`
	LatencyJitter Duration        `json:"latencyJitter"`
	ErrorRates    map[int]float64 `json:"errorRates,omitempty"`
	RetryAfter    int             `json:"retryAfter"`
	ResetRate     float64         `json:"resetRate"`
	HangRate      float64         `json:"hangRate"`
	HangMax       Duration        `json:"hangMax"`
	TenantRPS     float64         `json:"tenantRps"`
	// OutageUntil answers every WriteAPI request with 503 until this time.
	OutageUntil time.Time `json:"outageUntil,omitzero"`
}

// Duration is a time.Duration written as "250ms" in JSON.
type Duration time.Duration

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	*d = Duration(v)
	return err
}

func faultsFrom(c Config) Faults {
	rates, _ := parseRates(c.ErrorRates)
	return Faults{Latency: Duration(c.Latency), LatencyJitter: Duration(c.LatencyJitter), ErrorRates: rates,
		RetryAfter: c.RetryAfter, ResetRate: c.ResetRate, HangRate: c.HangRate, HangMax: Duration(c.HangMax), TenantRPS: c.TenantRPS}
}

func (f Faults) validate() error {
	total := 0.0
	for code, r := range f.ErrorRates {
		if code < 400 || code > 599 || r < 0 || r > 1 {
			return fmt.Errorf("errorRates: %d=%v is not a 4xx/5xx status with a fraction", code, r)
		}
		total += r
	}
	if total > 1 || f.ResetRate < 0 || f.ResetRate > 1 || f.HangRate < 0 || f.HangRate > 1 {
		return fmt.Errorf("rates must be fractions adding up to at most 1")
	}
	return nil
}

// injector draws faults from a seeded source, so a run is reproducible.
type injector struct {
	mu      sync.Mutex
	f       Faults
	rng     *rand.Rand
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newInjector(f Faults, seed uint64) *injector {
	return &injector{f: f, rng: rand.New(rand.NewPCG(seed, seed^0x5bd1e995)), buckets: map[string]*bucket{}}
}

func (in *injector) get() Faults {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.f
}

func (in *injector) set(f Faults) {
	in.mu.Lock()
	in.f = f
	in.buckets = map[string]*bucket{}
	in.mu.Unlock()
}

// fault is what to do with one request.
type fault struct {
	delay  time.Duration
	status int // 0: none
	reset  bool
	hang   bool
}

// draw decides one request's fault.
func (in *injector) draw(tenant string, now time.Time) fault {
	in.mu.Lock()
	defer in.mu.Unlock()
	f := in.f
	var out fault
	out.delay = time.Duration(f.Latency)
	if f.LatencyJitter > 0 {
		out.delay += time.Duration(in.rng.Int64N(int64(f.LatencyJitter) + 1))
	}
	if now.Before(f.OutageUntil) {
		out.status = http.StatusServiceUnavailable
		return out
	}
	if f.TenantRPS > 0 && !in.take(tenant, now, f.TenantRPS) {
		out.status = http.StatusTooManyRequests
		return out
	}
	x := in.rng.Float64()
	switch {
	case x < f.ResetRate:
		out.reset = true
		return out
	case x < f.ResetRate+f.HangRate:
		out.hang = true
		return out
	}
	x = in.rng.Float64()
	acc := 0.0
	for _, code := range []int{429, 500, 502, 503, 504} {
		acc += f.ErrorRates[code]
		if x < acc {
			out.status = code
			return out
		}
	}
	for code, r := range f.ErrorRates {
		if code != 429 && (code < 500 || code > 504) {
			acc += r
			if x < acc {
				out.status = code
				return out
			}
		}
	}
	return out
}

// take is a token bucket per tenant with a one-second burst.
func (in *injector) take(tenant string, now time.Time, rps float64) bool {
	b := in.buckets[tenant]
	if b == nil {
		b = &bucket{tokens: rps, last: now}
		in.buckets[tenant] = b
	}
	b.tokens = min(rps, b.tokens+now.Sub(b.last).Seconds()*rps)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
