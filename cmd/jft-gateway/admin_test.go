package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/jft-gateway/jft-gateway/internal/samples"
)

// TestAdminEndpointsAfterARun runs `dev` with its admin server, sends accepted and rejected
// events, and reads /healthz, /readyz and /metrics as Kubernetes and Prometheus would: the
// instance turns ready once it has joined, the metrics count what happened with the right
// labels, and no identity number, token or payload reaches them.
func TestAdminEndpointsAfterARun(t *testing.T) {
	addrs := freeAddrs(t, 3) // admin, Kafka and simulator: reserved together, so all differ
	adminAddr := addrs[0]
	kafkaAddr, out, errOut := runDev(t, "JFT_ADMIN_ADDR", adminAddr, "JFT_DEV_KAFKA_ADDR", addrs[1], "JFT_DEV_SIM_ADDR", addrs[2])
	base := "http://" + adminAddr

	waitHTTP(t, base+"/readyz", http.StatusOK, errOut)
	var ready struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	get(t, base+"/readyz", &ready)
	for _, c := range []string{"group", "brokers", "tokens"} {
		if ready.Checks[c] != "ok" {
			t.Errorf("readiness check %s = %q, want ok (%+v)", c, ready.Checks[c], ready)
		}
	}
	if code, _ := fetch(t, base+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz %d", code)
	}
	if !strings.Contains(out.String(), adminAddr) {
		t.Errorf("dev does not print the admin address:\n%s", out.String())
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(kafkaAddr), kgo.ConsumeTopics("jft.results.v1"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.ProducerBatchMaxBytes(2<<20))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	g, _ := samples.NewGenerator(11, []string{"312229544"}, time.Now())
	var nins []string
	var recs []*kgo.Record
	const accepted = 6
	for i := 0; i < accepted; i++ {
		nin := g.SyntheticNIN()
		nins = append(nins, nin)
		ev := g.Make(samples.ResourceTypes[i%len(samples.ResourceTypes)], "312229544", nin)
		recs = append(recs, &kgo.Record{Topic: "jft.events.v1", Key: []byte(ev.Tenant), Value: ev.Value})
	}
	bad := g.BadEvents("312229544", 1_000_000)
	for _, b := range bad {
		recs = append(recs, &kgo.Record{Topic: "jft.events.v1", Key: []byte(b.Key), Value: b.Value})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	results := 0
	for results < len(recs) {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("%d of %d results; stderr:\n%s", results, len(recs), errOut.String())
		}
		results += fs.NumRecords()
	}

	// A result is readable before the gateway's observers count it, and the lag gauge follows
	// the commit: scrape until both have caught up (or the deadline), then check everything
	// on one more scrape. A scrape is not atomic across series, and the latency histogram is
	// observed after results_total, so the scrape that first shows the last latency may
	// predate the last result's count; the next one does not.
	settled := []string{
		`jft_gateway_result_latency_seconds_count ` + itoa(len(recs)),
		`jft_gateway_consumer_lag_records{partition="0",topic="jft.events.v1"} 0`,
	}
	var body string
	for {
		_, body = fetch(t, base+"/metrics")
		if strings.Contains(body, settled[0]) && strings.Contains(body, settled[1]) || ctx.Err() != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	_, body = fetch(t, base+"/metrics")
	wantSeries := []string{
		`jft_gateway_results_total{code="none",outcome="accepted",resource_type="Bundle"} 2`,
		`jft_gateway_results_total{code="none",outcome="accepted",resource_type="Composition"} 2`,
		`jft_gateway_results_total{code="none",outcome="accepted",resource_type="MedicationDispense"} 2`,
		`jft_gateway_token_requests_total{result="ok",tenant="312229544"}`,
		`jft_gateway_writeapi_request_duration_seconds_count{operation="submit",status_class="2xx"} 6`,
		`jft_gateway_records_consumed_total{topic="jft.events.v1"} ` + itoa(len(recs)),
		`jft_gateway_tenant_inflight_records{tenant="312229544"} 0`,
		`jft_gateway_tenant_paused{tenant="312229544"} 0`,
		`jft_gateway_consumer_lag_records{partition="0",topic="jft.events.v1"} 0`,
		`jft_gateway_result_latency_seconds_count ` + itoa(len(recs)),
		`jft_gateway_kafka_produce_records_total{client="producer"`,
		`jft_gateway_kafka_fetch_records_total{client="consumer"`,
		`go_goroutines`,
	}
	for _, want := range wantSeries {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	rejected := 0
	for _, m := range regexp.MustCompile(`jft_gateway_results_total\{code="([A-Z_]+)",outcome="rejected",[^}]*\} (\d+)`).FindAllStringSubmatch(body, -1) {
		if m[1] == "none" {
			t.Errorf("a rejection without a code: %s", m[0])
		}
		rejected += atoi(m[2])
	}
	if rejected != len(bad) {
		t.Errorf("%d rejected results in /metrics, want %d:\n%s", rejected, len(bad),
			strings.Join(regexp.MustCompile(`(?m)^jft_gateway_results_total.*$`).FindAllString(body, -1), "\n"))
	}
	for _, nin := range nins {
		if strings.Contains(body, nin) {
			t.Errorf("/metrics carries an identity number")
		}
	}
	if regexp.MustCompile(`\b\d{11}\b`).MatchString(body) || strings.Contains(body, "eyJ") || strings.Contains(body, "resourceType") {
		t.Errorf("/metrics carries something like an identity number, a JWT or a payload")
	}
}

func waitHTTP(t *testing.T, url string, want int, errOut *syncBuf) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == want {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer %d within 60s (last: %v); stderr:\n%s", url, want, err, errOut.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func fetch(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func get(t *testing.T, url string, v any) {
	t.Helper()
	_, body := fetch(t, url)
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("%s: %v: %s", url, err, body)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
