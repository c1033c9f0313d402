package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/jft-gateway/jft-gateway/internal/jft"
	"github.com/jft-gateway/jft-gateway/producer"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// official is the directory of official FHIR R4 examples, from this package's directory.
const official = "../../../shared/fixtures/fhir-r4/official"

// kafka is one test's broker: an in-process kfake cluster, or the real Kafka named by
// JFT_TEST_KAFKA_SEEDS, with the gateway's variables naming topics and a group of this
// test's own.
type kafka struct {
	t     *testing.T
	seeds []string
	env   map[string]string
}

func newKafka(t *testing.T, createTopics bool) *kafka {
	t.Helper()
	name := strings.ToLower(strings.NewReplacer("/", ".", " ", "_").Replace(t.Name())) + fmt.Sprintf(".%d", time.Now().UnixNano())
	k := &kafka{t: t, env: map[string]string{
		"JFT_TOPIC_EVENTS": name + ".events", "JFT_TOPIC_ACKS": name + ".acks",
		"JFT_TOPIC_RESULTS": name + ".results", "JFT_TOPIC_DLQ": name + ".dlq", "JFT_KAFKA_GROUP": name + ".group",
	}}
	if s := os.Getenv("JFT_TEST_KAFKA_SEEDS"); s != "" {
		k.seeds = strings.Split(s, ",")
	} else {
		c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.BrokerConfigs(map[string]string{"message.max.bytes": "4194304"}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		k.seeds = c.ListenAddrs()
	}
	k.env["JFT_KAFKA_BROKERS"] = strings.Join(k.seeds, ",")
	if createTopics {
		k.createTopics(3, k.env["JFT_TOPIC_EVENTS"], k.env["JFT_TOPIC_ACKS"], k.env["JFT_TOPIC_RESULTS"], k.env["JFT_TOPIC_DLQ"])
	}
	return k
}

func (k *kafka) createTopics(partitions int32, topics ...string) {
	k.t.Helper()
	resp, err := kadm.NewClient(k.client()).CreateTopics(context.Background(), partitions, -1, nil, topics...)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		k.t.Fatal(err)
	}
}

// jftctl runs a command in process, as main does, and returns what it wrote.
func (k *kafka) jftctl(args ...string) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = run(ctx, args, func(v string) string { return k.env[v] }, &out, &errOut)
	if err != nil && !errors.Is(err, errReported) {
		k.t.Logf("jftctl %s: %v\nstderr: %s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String(), errOut.String(), err
}

func (k *kafka) client(opts ...kgo.Opt) *kgo.Client {
	k.t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(k.seeds...)}, opts...)...)
	if err != nil {
		k.t.Fatal(err)
	}
	k.t.Cleanup(cl.Close)
	return cl
}

// read returns every committed record of topic, reading up to its end offsets.
func (k *kafka) read(topic string) []*kgo.Record {
	k.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ends, err := kadm.NewClient(k.client()).ListCommittedOffsets(ctx, topic)
	if err != nil || ends.Error() != nil {
		k.t.Fatalf("end offsets of %s: %v %v", topic, err, ends.Error())
	}
	want := 0
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			want++
		}
	})
	cl := k.client(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())
	var out []*kgo.Record
	done := map[int32]bool{}
	for len(done) < want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			k.t.Fatalf("reading %s: %v", topic, ctx.Err())
		}
		for _, r := range fs.Records() {
			end, _ := ends.Lookup(topic, r.Partition)
			if r.Offset+1 >= end.Offset {
				done[r.Partition] = true
			}
			if !r.Attrs.IsControl() && r.Offset < end.Offset {
				out = append(out, r)
			}
		}
	}
	return out
}

// header returns the value of the last header key of r and how many r has.
func header(r *kgo.Record, key string) (string, int) {
	v, n := "", 0
	for _, h := range r.Headers {
		if h.Key == key {
			v, n = string(h.Value), n+1
		}
	}
	return v, n
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

// input is an input record as the gateway consumed it: the DLQ copy names its topic,
// partition and offset.
func (k *kafka) input(partition int32, offset int64, key string, headers ...string) *kgo.Record {
	r := &kgo.Record{Topic: k.env["JFT_TOPIC_EVENTS"], Partition: partition, Offset: offset, Key: []byte(key),
		Value: []byte(fmt.Sprintf(`{"resourceType":"Composition","id":"in-%d-%d"}`, partition, offset))}
	for i := 0; i+1 < len(headers); i += 2 {
		r.Headers = append(r.Headers, kgo.RecordHeader{Key: headers[i], Value: []byte(headers[i+1])})
	}
	return r
}

// publish writes the result of each input (and its DLQ copy when the outcome calls for one)
// exactly as the gateway does: through the producer package, on a client with its options
// and more (a transactional id, say).
func (k *kafka) publish(opts []kgo.Opt, in []*kgo.Record, results ...jft.Result) {
	k.t.Helper()
	cl := k.client(append(producer.Options(producer.Config{}), opts...)...)
	p, err := producer.New(producer.Config{ResultsTopic: k.env["JFT_TOPIC_RESULTS"], DLQTopic: k.env["JFT_TOPIC_DLQ"]}, cl)
	if err != nil {
		k.t.Fatal(err)
	}
	for i, res := range results {
		if err := p.Publish(context.Background(), in[i], res); err != nil {
			k.t.Fatal(err)
		}
	}
}

// result is a result as the pipeline makes it; code "" means accepted.
func result(id, tenant string, outcome jft.Outcome, code jft.Code) jft.Result {
	r := jft.Result{Schema: jft.SchemaV1, EventID: id, Tenant: tenant, Outcome: outcome, Kind: jft.KindEvent, ResourceType: "Composition"}
	if code == "" {
		r.HTTPStatus = 202
		r.Location = "https://write.example/v1/Composition/" + id + "/$status"
		return r
	}
	r.Error = &jft.ResultError{Code: code, Message: "what went wrong", Issues: []jft.Issue{{Severity: jft.SeverityError, Code: code, Path: "Composition.status", Message: "is required"}}}
	return r
}

// waitStable waits until partition 0 of topic has the last stable offset lso and the end
// offset end: a broker writes transaction markers after EndTransaction returns.
func (k *kafka) waitStable(topic string, lso, end int64) {
	k.t.Helper()
	adm := kadm.NewClient(k.client())
	deadline := time.Now().Add(20 * time.Second)
	for {
		stable, err1 := adm.ListCommittedOffsets(context.Background(), topic)
		ends, err2 := adm.ListEndOffsets(context.Background(), topic)
		s, _ := stable.Lookup(topic, 0)
		e, _ := ends.Lookup(topic, 0)
		if err1 == nil && err2 == nil && s.Offset == lso && e.Offset == end {
			return
		}
		if time.Now().After(deadline) {
			k.t.Fatalf("%s: last stable offset %d, end %d (%v %v); want %d, %d", topic, s.Offset, e.Offset, err1, err2, lso, end)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
