package metrics

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/jft-gateway/jft-gateway/consumer"
	"github.com/jft-gateway/jft-gateway/internal/jft"
	"github.com/jft-gateway/jft-gateway/writeapi"
)

// TestLabelsStayBounded: whatever a rejected record names as its resource type, the label
// takes one of five values, so a producer's garbage cannot grow the series without bound.
func TestLabelsStayBounded(t *testing.T) {
	m := New()
	in := &kgo.Record{Topic: "jft.events.v1", Timestamp: time.Now().Add(-time.Second)}
	for _, rt := range []string{"Bundle", "Patient", "<script>", "Bundle2", "", "MedicationDispense"} {
		m.Observe(in, &jft.Result{Outcome: jft.OutcomeRejected, ResourceType: rt, CompletedAt: time.Now(),
			Error: &jft.ResultError{Code: jft.CodeFHIRStructure}})
	}
	got := map[string]float64{}
	for _, rt := range []string{"Bundle", "MedicationDispense", "other", "unknown"} {
		got[rt] = testutil.ToFloat64(m.results.WithLabelValues("rejected", string(jft.CodeFHIRStructure), rt))
	}
	if got["Bundle"] != 1 || got["MedicationDispense"] != 1 || got["other"] != 3 || got["unknown"] != 1 {
		t.Errorf("results by resource type %v", got)
	}
	if n := testutil.CollectAndCount(m.results); n != 4 {
		t.Errorf("%d series, want 4", n)
	}
	if n := testutil.CollectAndCount(m.resultLatency); n != 1 {
		t.Errorf("latency histogram: %d", n)
	}
}

func TestWriteAPIAttemptsAndTokens(t *testing.T) {
	m := New()
	m.Attempt(writeapi.Attempt{Operation: "submit", Status: 503, Code: jft.CodeAPIUnavailable, Duration: 30 * time.Millisecond, Retried: true})
	m.Attempt(writeapi.Attempt{Operation: "submit", Status: 0, Code: jft.CodeAPITimeout, Duration: time.Second, Retried: true})
	m.Attempt(writeapi.Attempt{Operation: "submit", Status: 202, Duration: 20 * time.Millisecond})
	if v := testutil.ToFloat64(m.retries.WithLabelValues(string(jft.CodeAPIUnavailable))); v != 1 {
		t.Errorf("retries for 503: %v", v)
	}
	if v := testutil.ToFloat64(m.retries.WithLabelValues(string(jft.CodeAPITimeout))); v != 1 {
		t.Errorf("retries for timeouts: %v", v)
	}
	if n := testutil.CollectAndCount(m.requests); n != 3 {
		t.Errorf("%d request series (5xx, error, 2xx), want 3", n)
	}
	m.Token("312229544", nil)
	m.Token("312229544", errors.New("HelseID down"))
	if testutil.ToFloat64(m.tokens.WithLabelValues("312229544", "ok")) != 1 || testutil.ToFloat64(m.tokens.WithLabelValues("312229544", "error")) != 1 {
		t.Error("token requests not counted by result")
	}
	m.SendStarted("312229544")
	m.SendStarted("312229544")
	m.SendDone("312229544")
	if v := testutil.ToFloat64(m.tenantInflight.WithLabelValues("312229544")); v != 1 {
		t.Errorf("in flight %v, want 1", v)
	}
	m.Held("312229544", true)
	if testutil.ToFloat64(m.tenantPaused.WithLabelValues("312229544")) != 1 {
		t.Error("held tenant not shown paused")
	}
	m.Held("312229544", false)
	if testutil.ToFloat64(m.tenantPaused.WithLabelValues("312229544")) != 0 {
		t.Error("released tenant still shown paused")
	}
}

// TestDeadLettersCountOurCode: a replayed record carries its earlier code first; ours is
// the last header. Records to other topics and failed writes are not counted.
func TestDeadLettersCountOurCode(t *testing.T) {
	m := New()
	h := dlqHook{m, "jft.dlq.v1"}
	dl := &kgo.Record{Topic: "jft.dlq.v1", Headers: []kgo.RecordHeader{
		{Key: jft.HeaderErrorCode, Value: []byte("WRITEAPI_UNAVAILABLE")},
		{Key: jft.HeaderErrorCode, Value: []byte("WRITEAPI_TIMEOUT")},
	}}
	h.OnProduceRecordUnbuffered(dl, nil)
	h.OnProduceRecordUnbuffered(dl, errors.New("not durable"))
	h.OnProduceRecordUnbuffered(&kgo.Record{Topic: "jft.results.v1"}, nil)
	if v := testutil.ToFloat64(m.dlq.WithLabelValues("WRITEAPI_TIMEOUT")); v != 1 {
		t.Errorf("dead letters with our code: %v", v)
	}
	if n := testutil.CollectAndCount(m.dlq); n != 1 {
		t.Errorf("%d dead-letter series, want 1", n)
	}
}

func TestPartitionGauges(t *testing.T) {
	m := New()
	m.WatchPartitions(func() []consumer.PartitionStats {
		return []consumer.PartitionStats{
			{Topic: "jft.events.v1", Partition: 3, InFlight: 5, Queued: 7, Paused: true, HighWatermark: 120, Committed: 100},
			{Topic: "jft.events.v1", Partition: 4, HighWatermark: -1, Committed: -1},
		}
	})
	want := `
# HELP jft_gateway_consumer_lag_records High watermark minus the group's committed offset, per assigned partition.
# TYPE jft_gateway_consumer_lag_records gauge
jft_gateway_consumer_lag_records{partition="3",topic="jft.events.v1"} 20
# HELP jft_gateway_partition_paused 1 while fetching from the partition is paused for backpressure.
# TYPE jft_gateway_partition_paused gauge
jft_gateway_partition_paused{partition="3",topic="jft.events.v1"} 1
jft_gateway_partition_paused{partition="4",topic="jft.events.v1"} 0
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "jft_gateway_consumer_lag_records", "jft_gateway_partition_paused"); err != nil {
		t.Error(err)
	}
}

func TestNamesListsEveryOwnMetric(t *testing.T) {
	names := Names()
	for _, want := range []string{"jft_gateway_results_total", "jft_gateway_consumer_lag_records", "jft_gateway_writeapi_request_duration_seconds", "jft_gateway_tenant_paused"} {
		found := false
		for _, n := range names {
			found = found || n == want
		}
		if !found {
			t.Errorf("Names() lacks %s: %v", want, names)
		}
	}
	if len(names) != 13 {
		t.Errorf("%d names, want 13 (9 collectors + 4 partition gauges): %v", len(names), names)
	}
}
