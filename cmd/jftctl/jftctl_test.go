package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/jft-gateway/jft-gateway/internal/jft"
	"github.com/jft-gateway/jft-gateway/internal/tenants"
	"github.com/jft-gateway/jft-gateway/producer"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const official = "../../../shared/fixtures/fhir-r4/official"

// kafka is a kfake broker with the gateway's four topics, named per test.
type kafka struct {
	t       *testing.T
	cluster *kfake.Cluster
	env     map[string]string
}

func newKafka(t *testing.T, seedTopics bool) *kafka {
	t.Helper()
	name := strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	env := map[string]string{
		"JFT_TOPIC_EVENTS": name + ".events", "JFT_TOPIC_ACKS": name + ".acks",
		"JFT_TOPIC_RESULTS": name + ".results", "JFT_TOPIC_DLQ": name + ".dlq", "JFT_KAFKA_GROUP": name + "-group",
	}
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.BrokerConfigs(map[string]string{"message.max.bytes": "4194304"})}
	if seedTopics {
		opts = append(opts, kfake.SeedTopics(3, env["JFT_TOPIC_EVENTS"], env["JFT_TOPIC_ACKS"], env["JFT_TOPIC_RESULTS"], env["JFT_TOPIC_DLQ"]))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	env["JFT_KAFKA_BROKERS"] = strings.Join(c.ListenAddrs(), ",")
	return &kafka{t: t, cluster: c, env: env}
}

// jftctl runs a command in process and returns its stdout.
func (k *kafka) jftctl(args ...string) (string, error) {
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := run(ctx, args, func(v string) string { return k.env[v] }, &out, &errOut)
	if err != nil && !errors.Is(err, errReported) {
		k.t.Logf("stderr: %s", errOut.String())
	}
	return out.String(), err
}

func (k *kafka) client(opts ...kgo.Opt) *kgo.Client {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(k.cluster.ListenAddrs()...)}, opts...)...)
	if err != nil {
		k.t.Fatal(err)
	}
	k.t.Cleanup(cl.Close)
	return cl
}

// read returns every record of topic.
func (k *kafka) read(topic string) []*kgo.Record {
	cl := k.client(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	var out []*kgo.Record
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		fs := cl.PollFetches(ctx)
		cancel()
		if fs.NumRecords() == 0 {
			return out
		}
		out = append(out, fs.Records()...)
	}
}

func header(r *kgo.Record, key string) (string, int) {
	v, n := "", 0
	for _, h := range r.Headers {
		if h.Key == key {
			v, n = string(h.Value), n+1
		}
	}
	return v, n
}

func TestTopicsCreateMakesTheGatewaysTopics(t *testing.T) {
	k := newKafka(t, false)
	out, err := k.jftctl("topics", "create", "-partitions", "4", "-config", "retention.ms=86400000")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(out, "created") != 4 {
		t.Errorf("output:\n%s", out)
	}
	details, err := kadm.NewClient(k.client()).ListTopics(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"JFT_TOPIC_EVENTS", "JFT_TOPIC_ACKS", "JFT_TOPIC_RESULTS", "JFT_TOPIC_DLQ"} {
		d, ok := details[k.env[v]]
		if !ok || len(d.Partitions) != 4 {
			t.Errorf("%s: exists %v, %d partitions", k.env[v], ok, len(d.Partitions))
		}
	}
	out, err = k.jftctl("topics", "create")
	if err != nil || strings.Count(out, "exists") != 4 {
		t.Errorf("second run: %v\n%s", err, out)
	}
	if _, err := k.jftctl("topics", "create", "-config", "retention.ms"); err == nil {
		t.Error("a config without a value was accepted")
	}
}

func TestProduceGeneratedAndFiles(t *testing.T) {
	k := newKafka(t, true)
	out, err := k.jftctl("produce", "-generate", "30", "-seed", "5", "-progress", "10")
	if err != nil || !strings.Contains(out, "produced 30 of 30") {
		t.Fatalf("%v\n%s", err, out)
	}
	recs := k.read(k.env["JFT_TOPIC_EVENTS"])
	if len(recs) != 30 {
		t.Fatalf("%d records, want 30", len(recs))
	}
	ids := map[string]bool{}
	for _, r := range recs {
		if !slices.Contains(tenants.DemoOrgnrs(), string(r.Key)) {
			t.Errorf("key %q is not a demo municipality", r.Key)
		}
		id, n := header(r, jft.HeaderEventID)
		if n != 1 || ids[id] {
			t.Errorf("event id %q (%d headers) missing or repeated", id, n)
		}
		ids[id] = true
		var v struct{ ResourceType string }
		if json.Unmarshal(r.Value, &v) != nil || v.ResourceType == "" {
			t.Error("a generated value is not a FHIR resource")
		}
	}
	files, _ := filepath.Glob(filepath.Join(official, "Composition-*.json"))
	if _, err := k.jftctl(append([]string{"produce", "-tenant", "312229544"}, files...)...); err != nil {
		t.Fatal(err)
	}
	if n := len(k.read(k.env["JFT_TOPIC_EVENTS"])); n != 30+len(files) {
		t.Errorf("%d records after the files, want %d", n, 30+len(files))
	}
	if _, err := k.jftctl("produce", official); err == nil {
		t.Error("files without -tenant were produced")
	}
}

// publish writes results (and DLQ copies) as the gateway does, through its producer.
func publish(t *testing.T, k *kafka, results ...jft.Result) {
	t.Helper()
	cl := k.client(producer.Options()...)
	p, err := producer.New(producer.Config{ResultsTopic: k.env["JFT_TOPIC_RESULTS"], DLQTopic: k.env["JFT_TOPIC_DLQ"]}, cl)
	if err != nil {
		t.Fatal(err)
	}
	for i, res := range results {
		in := &kgo.Record{Topic: k.env["JFT_TOPIC_EVENTS"], Partition: 0, Offset: int64(i), Key: []byte(res.Tenant), Value: []byte(`{"resourceType":"Composition"}`),
			Headers: []kgo.RecordHeader{{Key: "traceparent", Value: []byte("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")}}}
		if err := p.Publish(context.Background(), in, res); err != nil {
			t.Fatal(err)
		}
	}
}

func result(id, tenant string, outcome jft.Outcome, code jft.Code) jft.Result {
	r := jft.Result{Schema: jft.SchemaV1, EventID: id, Tenant: tenant, Outcome: outcome, Kind: jft.KindEvent, ResourceType: "Composition"}
	if code != "" {
		r.Error = &jft.ResultError{Code: code, Message: "what went wrong", Issues: []jft.Issue{{Severity: jft.SeverityError, Code: code, Path: "Composition.status", Message: "is required"}}}
	} else {
		r.Location = "https://read.example/v1/Composition/abc/$status"
	}
	return r
}

func TestResultsTailFilters(t *testing.T) {
	k := newKafka(t, true)
	publish(t, k,
		result("e1", "312229544", jft.OutcomeAccepted, ""),
		result("e2", "312229544", jft.OutcomeRejected, jft.CodeFHIRCardinality),
		result("e3", "310163449", jft.OutcomeRejected, jft.CodeNINRealInTest),
		result("e4", "310163449", jft.OutcomeFailed, jft.CodeAPIUnavailable),
	)
	out, err := k.jftctl("results", "tail", "-from", "start", "-n", "2", "-outcome", "rejected")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.Contains(out, "e2") || !strings.Contains(out, "e3") || strings.Contains(out, "e1") {
		t.Fatalf("rejected results:\n%s", out)
	}
	if !strings.Contains(out, "Composition.status: is required") || !strings.Contains(out, string(jft.CodeFHIRCardinality)) {
		t.Errorf("a line lacks the code or the first issue:\n%s", out)
	}
	out, err = k.jftctl("results", "tail", "-from", "start", "-idle", "1s", "-tenant", "310163449", "-json")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var r jft.Result
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("-json line %q: %v", l, err)
		}
		got = append(got, r.EventID)
	}
	if strings.Join(got, ",") != "e3,e4" {
		t.Errorf("tenant 310163449's results: %v", got)
	}
}

func TestDLQReplayDryRunAndFilter(t *testing.T) {
	k := newKafka(t, true)
	publish(t, k,
		result("e1", "312229544", jft.OutcomeFailed, jft.CodeAPIUnavailable),
		result("e2", "310163449", jft.OutcomeFailed, jft.CodeAPITimeout),
		result("e3", "312229544", jft.OutcomeAccepted, ""),
	)
	if n := len(k.read(k.env["JFT_TOPIC_DLQ"])); n != 2 {
		t.Fatalf("%d dead letters, want 2", n)
	}
	out, err := k.jftctl("dlq", "replay", "-dry-run")
	if err != nil || !strings.Contains(out, "dry run: 2 of 2") {
		t.Fatalf("%v\n%s", err, out)
	}
	if n := len(k.read(k.env["JFT_TOPIC_EVENTS"])); n != 0 {
		t.Fatalf("a dry run wrote %d records", n)
	}
	out, err = k.jftctl("dlq", "replay", "-code", string(jft.CodeAPITimeout))
	if err != nil || !strings.Contains(out, "replayed 1 of 2") {
		t.Fatalf("%v\n%s", err, out)
	}
	recs := k.read(k.env["JFT_TOPIC_EVENTS"])
	if len(recs) != 1 {
		t.Fatalf("%d replayed records, want 1", len(recs))
	}
	r := recs[0]
	if string(r.Key) != "310163449" || string(r.Value) != `{"resourceType":"Composition"}` {
		t.Errorf("replayed key %s value %s", r.Key, r.Value)
	}
	if id, n := header(r, jft.HeaderEventID); id != "e2" || n != 1 {
		t.Errorf("event id %q ×%d, want e2 once", id, n)
	}
	for _, h := range []string{jft.HeaderErrorCode, jft.HeaderOutcome, producer.HeaderDLQSourceTopic, producer.HeaderDLQErrorMessage} {
		if _, n := header(r, h); n != 0 {
			t.Errorf("replayed record keeps the DLQ header %s", h)
		}
	}
	if _, n := header(r, "traceparent"); n != 1 {
		t.Error("the input's own headers were not kept")
	}
}

func TestLagPerPartitionAndTenant(t *testing.T) {
	k := newKafka(t, true)
	cl := k.client(kgo.RecordPartitioner(kgo.ManualPartitioner()))
	topic := k.env["JFT_TOPIC_EVENTS"]
	var recs []*kgo.Record
	for i := 0; i < 10; i++ {
		key := "312229544"
		if i%2 == 1 {
			key = "310163449"
		}
		recs = append(recs, &kgo.Record{Topic: topic, Partition: int32(i % 2), Key: []byte(key), Value: []byte("{}")})
	}
	recs = append(recs, &kgo.Record{Topic: topic, Partition: 0, Key: []byte("13116900216"), Value: []byte("{}")})
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	// The group has committed 4 of partition 0's 6 records and none of partition 1's 5.
	adm := kadm.NewClient(cl)
	var offs kadm.Offsets
	offs.Add(kadm.Offset{Topic: topic, Partition: 0, At: 4, LeaderEpoch: -1})
	if _, err := adm.CommitOffsets(context.Background(), k.env["JFT_KAFKA_GROUP"], offs); err != nil {
		t.Fatal(err)
	}
	out, err := k.jftctl("lag")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		fmt.Sprintf("%s  0  4  6  2", topic),
		fmt.Sprintf("%s  1  0  5  5", topic),
		"total  7",
		"310163449  5", // all of partition 1
		"(other)  1",   // the record keyed by something not an organisation number
		"312229544  1",
	} {
		if !strings.Contains(squash(out), want) {
			t.Errorf("lag output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "13116900216") {
		t.Error("lag printed a key that is not an organisation number")
	}
}

// squash collapses runs of spaces to two, so table columns compare regardless of width.
func squash(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		b.WriteString(strings.Join(strings.Fields(line), "  "))
		b.WriteByte('\n')
	}
	return b.String()
}

func TestValidateOffline(t *testing.T) {
	k := newKafka(t, false)
	good := filepath.Join(official, "Composition-example.json")
	out, err := k.jftctl("validate", "-environment", "test", good)
	if err != nil || !strings.Contains(out, "ok ") || !strings.Contains(out, "0 of 1 files") {
		t.Fatalf("%v\n%s", err, out)
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"resourceType":"Composition","status":"final","title":""}`), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = k.jftctl("validate", "-environment", "test", good, bad)
	if !errors.Is(err, errReported) {
		t.Fatalf("err %v, want a failing exit", err)
	}
	if !strings.Contains(out, "rejected  "+bad) || !strings.Contains(out, "Composition.title") || !strings.Contains(out, "1 of 2 files") {
		t.Errorf("output:\n%s", out)
	}
	if _, err := k.jftctl("validate", "-environment", "staging", good); err == nil {
		t.Error("an unknown environment was accepted")
	}
}

func TestHelpAndUnknownCommand(t *testing.T) {
	k := newKafka(t, false)
	out, err := k.jftctl("help")
	if err != nil || !strings.Contains(out, "dlq replay") {
		t.Errorf("help: %v\n%s", err, out)
	}
	if _, err := k.jftctl("frobnicate"); err == nil {
		t.Error("an unknown command succeeded")
	}
}
