package gateway_test

import (
	"fmt"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/jft-gateway/jft-gateway/internal/tenants"
)

// BenchmarkEndToEnd drives the whole gateway (kfake broker, simulator with HelseID + DPoP
// on, full validation) with realistic events for 10 municipalities at a fixed WriteAPI
// latency, and reports records/s and end-to-end latency (input record timestamp → result
// record timestamp). Each op is one batch of JFT_BENCH_RECORDS (default 2000) records. In
// key mode (the default) a municipality's events are sent one at a time, so throughput is
// bounded by municipalities ÷ latency (10 here); unordered mode is bounded by the in-flight
// window (6 partitions × 64).
//
//	go test -run '^$' -bench EndToEnd -benchtime 3x ./internal/gateway/
func BenchmarkEndToEnd(b *testing.B) {
	for _, c := range []struct {
		latency  time.Duration
		ordering string
	}{{0, "key"}, {20 * time.Millisecond, "key"}, {20 * time.Millisecond, "unordered"}, {200 * time.Millisecond, "unordered"}} {
		b.Run(fmt.Sprintf("writeapi=%s/ordering=%s", c.latency, c.ordering), func(b *testing.B) { benchEndToEnd(b, c.latency, c.ordering) })
	}
}

func benchEndToEnd(b *testing.B, latency time.Duration, ordering string) {
	n := 2000
	if v := os.Getenv("JFT_BENCH_RECORDS"); v != "" {
		fmt.Sscan(v, &n)
	}
	h := newHarness(b, withPartitions(6), withSim("JFT_SIM_LATENCY", latency.String()), withEnv("JFT_LOG_LEVEL", "warn"), withEnv("JFT_ORDERING", ordering))
	stop := h.start(h.cfg)
	defer stop()
	g := newSamples(b, 9)
	ts := tenants.DemoOrgnrs()
	var lat []time.Duration
	total := 0
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		recs := make([]*kgo.Record, n)
		for j := range n {
			ev := g.Make([]string{"Bundle", "Composition", "MedicationDispense"}[j%3], ts[j%len(ts)], g.SyntheticNIN())
			recs[j] = eventRecord(fmt.Sprintf("b%d-%d", i, j), ev.Tenant, ev.Value)
		}
		h.produce(recs...)
		total += n
		got := h.waitResults(total, 5*time.Minute, 0)
		for j := range n {
			for _, r := range got[fmt.Sprintf("b%d-%d", i, j)] {
				lat = append(lat, r.rec.Timestamp.Sub(recs[j].Timestamp))
			}
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(float64(total)/elapsed.Seconds(), "records/s")
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op")
}
