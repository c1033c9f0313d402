package gateway_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/trace"

	"github.com/jft-gateway/jft-gateway/internal/gateway"
	"github.com/jft-gateway/jft-gateway/internal/jft"
	"github.com/jft-gateway/jft-gateway/internal/samples"
	"github.com/jft-gateway/jft-gateway/internal/tenants"
)

func resultSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	s, err := c.Compile(filepath.Join("..", "..", "docs", "schema", "result.v1.json"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newSamples(t testing.TB, seed uint64) *samples.Generator {
	t.Helper()
	g, err := samples.NewGenerator(seed, tenants.DemoOrgnrs(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestEveryInputGetsExactlyOneResult is the contract's core promise, with good and bad
// inputs interleaved: one result each, schema-valid, with the right outcome and code, the
// original bytes forwarded, and nothing sent that the WriteAPI would reject.
func TestEveryInputGetsExactlyOneResult(t *testing.T) {
	for _, m := range resultModes {
		t.Run(m.name, func(t *testing.T) { everyInputGetsExactlyOneResult(t, m.opts...) })
	}
}

// resultModes are the two ways results are written: each its own produce call, or in
// transactions with the inputs' offsets (JFT_RESULTS_TRANSACTIONAL).
var resultModes = []struct {
	name string
	opts []harnessOpt
}{
	{"plain", nil},
	{"transactional", []harnessOpt{withEnv("JFT_RESULTS_TRANSACTIONAL", "true"), withEnv("JFT_KAFKA_INSTANCE_ID", "gw-0")}},
}

func everyInputGetsExactlyOneResult(t *testing.T, opts ...harnessOpt) {
	h := newHarness(t, opts...)
	stop := h.start(h.cfg)
	g := newSamples(t, 1)
	type want struct {
		code  string
		value []byte
	}
	wants := map[string]want{}
	var recs []*kgo.Record
	bad := g.BadEvents(tenants.DemoOrgnrs()[0], h.cfg.Transform.MaxBodyBytes)
	for i := range 60 {
		ev := g.Next(i)
		id := fmt.Sprintf("ok-%d", i)
		wants[id] = want{value: ev.Value}
		recs = append(recs, eventRecord(id, ev.Tenant, ev.Value, kgo.RecordHeader{Key: jft.HeaderSourceSystem, Value: []byte("jft-gateway-test 1.0")}))
		if i%8 == 0 && i/8 < len(bad) {
			b := bad[i/8]
			bid := "bad-" + b.WantCode
			wants[bid] = want{code: b.WantCode}
			recs = append(recs, eventRecord(bid, b.Key, b.Value))
		}
	}
	// A valid synthetic municipality that is not in the tenants file: never sent.
	wants["bad-TENANT_UNKNOWN"] = want{code: string(jft.CodeTenantUnknown)}
	recs = append(recs, eventRecord("bad-TENANT_UNKNOWN", "312587963", g.Make("Composition", "312587963", g.SyntheticNIN()).Value))
	h.produce(recs...)
	got := h.waitResults(len(wants), 60*time.Second, time.Second)
	if err := stop(); err != nil {
		t.Fatalf("gateway Run: %v", err)
	}

	schema := resultSchema(t)
	sent := map[string]bool{}
	for _, ev := range h.env.Sim.Accepted() {
		sent[ev.BodySHA256] = true
	}
	for id, w := range wants {
		rs := got[id]
		if len(rs) != 1 {
			t.Errorf("%s: %d results, want exactly 1", id, len(rs))
			continue
		}
		r := rs[0]
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(string(r.rec.Value)))
		if err != nil {
			t.Fatal(err)
		}
		if err := schema.Validate(inst); err != nil {
			t.Errorf("%s: result does not match docs/schema/result.v1.json: %v", id, err)
		}
		if header(r.rec, "content-type") != "application/json" || header(r.rec, jft.HeaderOutcome) != string(r.res.Outcome) || header(r.rec, jft.HeaderEventID) != id {
			t.Errorf("%s: result headers %v", id, r.rec.Headers)
		}
		if w.code == "" {
			if r.res.Outcome != jft.OutcomeAccepted || r.res.HTTPStatus != 202 || r.res.Location == "" || r.res.ResourceID == "" {
				t.Errorf("%s: %+v, want accepted with a location", id, r.res)
			}
			sum := sha256.Sum256(w.value)
			if !sent[hex.EncodeToString(sum[:])] {
				t.Errorf("%s: the simulator never received the original bytes", id)
			}
			continue
		}
		if r.res.Outcome != jft.OutcomeRejected || r.res.Error == nil || string(r.res.Error.Code) != w.code {
			t.Errorf("%s: outcome %s error %+v, want rejected %s", id, r.res.Outcome, r.res.Error, w.code)
		}
		if r.res.Attempts != 0 {
			t.Errorf("%s: a record we can reject was sent to the WriteAPI (%d attempts)", id, r.res.Attempts)
		}
	}
	if n := len(h.env.Sim.Accepted()); n != 60 {
		t.Errorf("simulator accepted %d events, want 60", n)
	}
	for _, ev := range h.env.Sim.Accepted() {
		if ev.SourceSystem != "jft-gateway-test 1.0" {
			t.Errorf("nhn-source-system %q reached the WriteAPI, want the record's header", ev.SourceSystem)
			break
		}
	}
}

// TestRestartMidStreamLosesNothing stops the gateway while records are in flight and starts
// a new instance in the same group: every input ends with exactly one result, and the
// WriteAPI saw each event once (a graceful stop drains and commits).
func TestRestartMidStreamLosesNothing(t *testing.T) {
	h := newHarness(t, withSim("JFT_SIM_LATENCY", "5ms"))
	g := newSamples(t, 2)
	const n = 400
	var recs []*kgo.Record
	for i := range n {
		ev := g.Next(i)
		recs = append(recs, eventRecord(fmt.Sprintf("e-%d", i), ev.Tenant, ev.Value))
	}
	stop := h.start(h.cfg)
	h.produce(recs...)
	// Stop once some, but not all, results are durable.
	h.waitResults(n/4, 60*time.Second, 0)
	if err := stop(); err != nil {
		t.Fatalf("first instance: %v", err)
	}
	stop2 := h.start(h.cfg)
	got := h.waitResults(n, 60*time.Second, time.Second)
	if err := stop2(); err != nil {
		t.Fatalf("second instance: %v", err)
	}
	for i := range n {
		id := fmt.Sprintf("e-%d", i)
		if len(got[id]) != 1 {
			t.Errorf("%s: %d results, want 1", id, len(got[id]))
		}
	}
	if stats := h.env.Sim.Stats(); stats.Duplicates != 0 {
		t.Errorf("a graceful restart sent %d events twice", stats.Duplicates)
	}
}

// TestKeyOrderHoldsUnderConcurrency sends many events for a few municipalities into few
// partitions with random WriteAPI latency: in key mode, each municipality's events reach
// the WriteAPI in offset order, while different keys overlap.
func TestKeyOrderHoldsUnderConcurrency(t *testing.T) {
	h := newHarness(t, withPartitions(1), withSim("JFT_SIM_LATENCY", "1ms"), withSim("JFT_SIM_LATENCY_JITTER", "8ms"), withEnv("JFT_ORDERING", "key"))
	g := newSamples(t, 3)
	ts := tenants.DemoOrgnrs()[:4]
	const perTenant = 40
	order := map[string]int{}       // body hash → sequence within its tenant
	tenantOf := map[string]string{} // body hash → tenant
	var recs []*kgo.Record
	for i := range perTenant {
		for _, tn := range ts {
			ev := g.Make("MedicationDispense", tn, g.SyntheticNIN())
			sum := sha256.Sum256(ev.Value)
			order[hex.EncodeToString(sum[:])] = i
			tenantOf[hex.EncodeToString(sum[:])] = tn
			recs = append(recs, eventRecord(fmt.Sprintf("%s-%d", tn, i), tn, ev.Value))
		}
	}
	h.start(h.cfg)
	h.produce(recs...)
	h.waitResults(len(recs), 60*time.Second, 0)
	last := map[string]int{}
	for _, ev := range h.env.Sim.Accepted() {
		seq, ok := order[ev.BodySHA256]
		if !ok {
			t.Fatalf("simulator accepted an event we did not send")
		}
		tn := tenantOf[ev.BodySHA256]
		if prev, seen := last[tn]; seen && seq <= prev {
			t.Fatalf("tenant %s: event %d reached the WriteAPI after event %d", tn, seq, prev)
		}
		last[tn] = seq
	}
	if st := h.env.Sim.Stats(); st.MaxConcurrent < 2 {
		t.Errorf("max concurrent WriteAPI requests = %d: keys were not processed concurrently", st.MaxConcurrent)
	}
}

// TestTraceContinuesFromInputToResult sends an event with a traceparent: the WriteAPI call
// and the result carry the same trace id.
func TestTraceContinuesFromInputToResult(t *testing.T) {
	for _, m := range resultModes {
		t.Run(m.name, func(t *testing.T) { traceContinuesFromInputToResult(t, m.opts...) })
	}
}

func traceContinuesFromInputToResult(t *testing.T, opts ...harnessOpt) {
	h := newHarness(t, opts...)
	h.start(h.cfg)
	g := newSamples(t, 4)
	ev := g.Next(1)
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	h.produce(eventRecord("traced", ev.Tenant, ev.Value, kgo.RecordHeader{Key: "traceparent", Value: []byte("00-" + traceID + "-00f067aa0ba902b7-01")}))
	got := h.waitResults(1, 30*time.Second, 0)["traced"]
	if len(got) != 1 {
		t.Fatalf("%d results", len(got))
	}
	r := got[0]
	if r.res.TraceID != traceID {
		t.Errorf("result traceId = %q, want the input's %s", r.res.TraceID, traceID)
	}
	tp := header(r.rec, "traceparent")
	if !strings.HasPrefix(tp, "00-"+traceID+"-") {
		t.Errorf("result traceparent = %q, want trace %s", tp, traceID)
	}
	acc := h.env.Sim.Accepted()
	if len(acc) != 1 || acc[0].TraceID != traceID {
		t.Errorf("the WriteAPI call carried trace %v, want %s", acc, traceID)
	}
	var sawHTTP bool
	for _, s := range h.spans.Ended() {
		if s.SpanContext().TraceID().String() == traceID && s.SpanKind() == trace.SpanKindClient {
			sawHTTP = true
		}
	}
	if !sawHTTP {
		t.Error("no HTTP client span in the input's trace")
	}
}

// TestUnsampledTracesCarryTheirIDsWithoutSpans traces as the gateway does when nothing
// exports (Deps.RootsUnsampled): an input whose trace is sampled gets its receive and HTTP
// client spans; an unsampled one, and one with no trace, get none, yet the WriteAPI call and
// the result still carry their trace id.
func TestUnsampledTracesCarryTheirIDsWithoutSpans(t *testing.T) {
	h := newHarness(t, withRootsUnsampled())
	h.start(h.cfg)
	g := newSamples(t, 5)
	const sampled, unsampled = "4bf92f3577b34da6a3ce929d0e0e4736", "5bf92f3577b34da6a3ce929d0e0e4737"
	tp := func(id, flags string) kgo.RecordHeader {
		return kgo.RecordHeader{Key: "traceparent", Value: []byte("00-" + id + "-00f067aa0ba902b7-" + flags)}
	}
	evs := []samples.Event{g.Next(1), g.Next(1), g.Next(1)}
	h.produce(
		eventRecord("sampled", evs[0].Tenant, evs[0].Value, tp(sampled, "01")),
		eventRecord("unsampled", evs[1].Tenant, evs[1].Value, tp(unsampled, "00")),
		eventRecord("untraced", evs[2].Tenant, evs[2].Value),
	)
	got := h.waitResults(3, 30*time.Second, 0)
	calls := map[string]bool{}
	for _, e := range h.env.Sim.Accepted() {
		calls[e.TraceID] = true
	}
	spanKinds := map[string][]trace.SpanKind{}
	for _, s := range h.spans.Ended() {
		id := s.SpanContext().TraceID().String()
		spanKinds[id] = append(spanKinds[id], s.SpanKind())
	}
	for event, want := range map[string]string{"sampled": sampled, "unsampled": unsampled, "untraced": ""} {
		if len(got[event]) != 1 {
			t.Fatalf("%s: %d results", event, len(got[event]))
		}
		id := got[event][0].res.TraceID
		if want != "" && id != want || len(id) != 32 {
			t.Errorf("%s: result traceId %q, want %q", event, id, want)
		}
		if !calls[id] {
			t.Errorf("%s: no WriteAPI call carried trace %s (calls: %v)", event, id, calls)
		}
		// The result record carries the trace on to whoever reads it.
		var parent string
		for _, hd := range got[event][0].rec.Headers {
			if hd.Key == "traceparent" {
				parent = string(hd.Value)
			}
		}
		if p := strings.Split(parent, "-"); len(p) != 4 || p[1] != id {
			t.Errorf("%s: result's traceparent %q, want one of trace %s", event, parent, id)
		}
		kinds := spanKinds[id]
		switch {
		case event == "sampled" && (!slices.Contains(kinds, trace.SpanKindClient) || !slices.Contains(kinds, trace.SpanKindConsumer)):
			t.Errorf("sampled: spans %v, want the receive (consumer) and HTTP client spans", kinds)
		case event != "sampled" && len(kinds) > 0:
			t.Errorf("%s: %d spans recorded for an unsampled trace", event, len(kinds))
		}
	}
}

// TestTransactionalResultsNeedAnInstanceID: the transactional id is made from the
// instance id, so the configuration names both when it is missing.
func TestTransactionalResultsNeedAnInstanceID(t *testing.T) {
	env := map[string]string{"JFT_RESULTS_TRANSACTIONAL": "true", "JFT_AUTH_MODE": "none", "JFT_ENVIRONMENT": "test",
		"JFT_WRITEAPI_BASE_URL": "http://127.0.0.1:8080"}
	_, err := gateway.Load(context.Background(), func(k string) string { return env[k] })
	if err == nil || !strings.Contains(err.Error(), "JFT_RESULTS_TRANSACTIONAL") || !strings.Contains(err.Error(), "JFT_KAFKA_INSTANCE_ID") {
		t.Fatalf("Load() = %v, want an error naming JFT_RESULTS_TRANSACTIONAL and JFT_KAFKA_INSTANCE_ID", err)
	}
	env["JFT_KAFKA_INSTANCE_ID"] = "gw-0"
	if _, err := gateway.Load(context.Background(), func(k string) string { return env[k] }); err != nil {
		t.Fatalf("Load() with an instance id = %v", err)
	}
}

// TestNoHealthDataInLogsOrSpans runs realistic events, good and bad, with debug logging and
// searches everything the gateway emitted for identity numbers, payload text and tokens.
func TestNoHealthDataInLogsOrSpans(t *testing.T) {
	h := newHarness(t)
	stop := h.start(h.cfg)
	g := newSamples(t, 5)
	var secrets []string
	var recs []*kgo.Record
	for i := range 12 {
		nin := g.SyntheticNIN()
		ev := g.Make(samples.ResourceTypes[i%3], tenants.DemoOrgnrs()[i%3], nin)
		secrets = append(secrets, nin)
		recs = append(recs, eventRecord(fmt.Sprintf("p-%d", i), ev.Tenant, ev.Value))
	}
	real := g.RealNIN()
	secrets = append(secrets, real)
	recs = append(recs, eventRecord("real-nin", tenants.DemoOrgnrs()[0], g.Make("Composition", tenants.DemoOrgnrs()[0], real).Value))
	h.produce(recs...)
	h.waitResults(len(recs), 30*time.Second, 0)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	var emitted strings.Builder
	emitted.WriteString(h.logs.String())
	for _, s := range h.spans.Ended() {
		emitted.WriteString(s.Name())
		for _, a := range s.Attributes() {
			emitted.WriteString(" " + string(a.Key) + "=" + a.Value.Emit())
		}
		for _, e := range s.Events() {
			emitted.WriteString(" " + e.Name)
			for _, a := range e.Attributes {
				emitted.WriteString(" " + a.Value.Emit())
			}
		}
		emitted.WriteString(" " + s.Status().Description + "\n")
	}
	out := emitted.String()
	if !strings.Contains(out, `"msg":"result"`) {
		t.Fatal("no result lines logged: the scan would prove nothing")
	}
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("an identity number appears in logs or spans")
		}
	}
	for _, frag := range []string{"Trygghetsalarm", "paracetamol", "oksykodon", "Testesen", `"resourceType"`} {
		if strings.Contains(out, frag) {
			t.Errorf("payload text %q appears in logs or spans", frag)
		}
	}
	if regexp.MustCompile(`eyJ[A-Za-z0-9_-]{10,}\.`).MatchString(out) {
		t.Error("a JWT (token, assertion or DPoP proof) appears in logs or spans")
	}
	if os.Getenv("JFT_TEST_DUMP_LOGS") != "" {
		t.Log(out)
	}
}
