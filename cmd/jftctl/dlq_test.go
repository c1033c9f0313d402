package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/jft-gateway/jft-gateway/internal/jft"
	"github.com/jft-gateway/jft-gateway/producer"
)

// deadLetters writes, as the gateway does, two failed inputs (one of them twice: the DLQ
// is at-least-once), one accepted one (no DLQ copy) and returns the failed inputs.
func deadLetters(k *kafka) (withID, withoutID *kgo.Record) {
	withID = k.input(0, 7, "312229544", jft.HeaderEventID, "caller-1", "traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	withoutID = k.input(1, 3, "patient-ordering-key", jft.HeaderTenant, "310163449", jft.HeaderSourceSystem, "EPJ")
	k.publish(nil, []*kgo.Record{withID, withoutID, withID, k.input(2, 0, "312229544")},
		result("caller-1", "312229544", jft.OutcomeFailed, jft.CodeAPIUnavailable),
		result(fmt.Sprintf("%s-1-3", k.env["JFT_TOPIC_EVENTS"]), "310163449", jft.OutcomeFailed, jft.CodeAPITimeout),
		result("caller-1", "312229544", jft.OutcomeFailed, jft.CodeAPIUnavailable),
		result("e3", "312229544", jft.OutcomeAccepted, ""),
	)
	if n := len(k.read(k.env["JFT_TOPIC_DLQ"])); n != 3 {
		k.t.Fatalf("%d dead letters, want 3", n)
	}
	return withID, withoutID
}

func TestDLQReplayDryRunWritesNothing(t *testing.T) {
	k := newKafka(t, true)
	deadLetters(k)
	out, _, err := k.jftctl("dlq", "replay", "-dry-run")
	if err != nil || !strings.Contains(out, "dry run: 2 of 3 dead letters match (skipped 1 repeated copies, 0 without a source); nothing written") {
		t.Fatalf("%v\n%s", err, out)
	}
	if strings.Count(out, "would replay") != 2 || !strings.Contains(out, "tenant 310163449") || strings.Contains(out, "patient-ordering-key") {
		t.Errorf("dry run lines (the tenant, never a key that is not one):\n%s", out)
	}
	if n := len(k.read(k.env["JFT_TOPIC_EVENTS"])); n != 0 {
		t.Fatalf("a dry run wrote %d records", n)
	}
}

func TestDLQReplayRestoresTheInputs(t *testing.T) {
	k := newKafka(t, true)
	withID, withoutID := deadLetters(k)

	out, _, err := k.jftctl("dlq", "replay", "-code", string(jft.CodeAPITimeout))
	if err != nil || !strings.Contains(out, "replayed 1 of 3 dead letters") {
		t.Fatalf("%v\n%s", err, out)
	}
	recs := k.read(k.env["JFT_TOPIC_EVENTS"])
	if len(recs) != 1 {
		t.Fatalf("%d replayed records, want 1", len(recs))
	}
	// Its key, value and own headers as they were; no jft-event-id of its own, so the one
	// its failed result had, to match the two results.
	want := append(withoutID.Headers, kgo.RecordHeader{Key: jft.HeaderEventID, Value: []byte(k.env["JFT_TOPIC_EVENTS"] + "-1-3")})
	if got := recs[0]; string(got.Key) != string(withoutID.Key) || string(got.Value) != string(withoutID.Value) || fmt.Sprint(got.Headers) != fmt.Sprint(want) {
		t.Errorf("replayed\n key %s value %s headers %s\nwant\n key %s value %s headers %s", got.Key, got.Value, got.Headers, withoutID.Key, withoutID.Value, want)
	}

	out, _, err = k.jftctl("dlq", "replay", "-tenant", "312229544")
	if err != nil || !strings.Contains(out, "replayed 1 of 3") {
		t.Fatalf("%v\n%s", err, out)
	}
	recs = k.read(k.env["JFT_TOPIC_EVENTS"])
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2", len(recs))
	}
	var got *kgo.Record
	for _, r := range recs {
		if string(r.Key) == "312229544" {
			got = r
		}
	}
	if got == nil || string(got.Value) != string(withID.Value) || fmt.Sprint(got.Headers) != fmt.Sprint(withID.Headers) {
		t.Errorf("replayed %v, want the input with exactly its own headers %s", got, withID.Headers)
	}

	out, _, err = k.jftctl("dlq", "replay", "-n", "1")
	if err != nil || !strings.Contains(out, "replayed 1 of") {
		t.Errorf("-n 1: %v\n%s", err, out)
	}
	if n := len(k.read(k.env["JFT_TOPIC_EVENTS"])); n != 3 {
		t.Errorf("%d records after -n 1, want 3", n)
	}
}

// The replay reads the DLQ up to its end as it was at the start, and gets there even when
// the end is a transaction marker or the records before it were deleted.
func TestDLQReplayStopsAtTheEnd(t *testing.T) {
	k := newKafka(t, false)
	k.createTopics(1, k.env["JFT_TOPIC_EVENTS"], k.env["JFT_TOPIC_RESULTS"], k.env["JFT_TOPIC_DLQ"])
	ctx := context.Background()
	adm := kadm.NewClient(k.client())

	out, _, err := k.jftctl("dlq", "replay")
	if err != nil || !strings.Contains(out, "replayed 0 of 0") {
		t.Fatalf("empty DLQ: %v\n%s", err, out)
	}

	// All of it deleted (retention does the same).
	k.publish(nil, []*kgo.Record{k.input(0, 0, "312229544")}, result("gone", "312229544", jft.OutcomeFailed, jft.CodeAPIUnavailable))
	var del kadm.Offsets
	del.Add(kadm.Offset{Topic: k.env["JFT_TOPIC_DLQ"], Partition: 0, At: 1})
	if resp, err := adm.DeleteRecords(ctx, del); err != nil || resp.Error() != nil {
		t.Fatal(err, resp.Error())
	}
	out, _, err = k.jftctl("dlq", "replay", "-dry-run")
	if err != nil || !strings.Contains(out, "0 of 0") {
		t.Fatalf("deleted DLQ: %v\n%s", err, out)
	}

	// A gateway writing its results in transactions: the DLQ ends with a commit marker.
	txn := []kgo.Opt{kgo.TransactionalID("jftctl-test-" + k.env["JFT_TOPIC_DLQ"])}
	cl := k.client(txn...)
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, k.deadLetter(k.input(0, 1, "312229544"), "txn")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	k.waitStable(k.env["JFT_TOPIC_DLQ"], 3, 3) // deleted 0, the record 1, its commit marker 2
	out, _, err = k.jftctl("dlq", "replay")
	if err != nil || !strings.Contains(out, "replayed 1 of 1") {
		t.Fatalf("transactional DLQ: %v\n%s", err, out)
	}
	if recs := k.read(k.env["JFT_TOPIC_EVENTS"]); len(recs) != 1 {
		t.Errorf("%d records replayed, want 1", len(recs))
	}
}

// A record on the DLQ that does not name its source is skipped and counted.
func TestDLQReplaySkipsRecordsWithoutASource(t *testing.T) {
	k := newKafka(t, true)
	cl := k.client()
	err := cl.ProduceSync(context.Background(),
		&kgo.Record{Topic: k.env["JFT_TOPIC_DLQ"], Key: []byte("312229544"), Value: []byte("{}")},
		k.deadLetter(k.input(0, 0, "312229544"), "e1"),
	).FirstErr()
	if err != nil {
		t.Fatal(err)
	}
	out, stderr, err := k.jftctl("dlq", "replay")
	if err != nil || !strings.Contains(out, "replayed 1 of 2 dead letters (skipped 0 repeated copies, 1 without a source)") || !strings.Contains(stderr, "no jft-source-topic header") {
		t.Errorf("%v\n%s\n%s", err, out, stderr)
	}
}

// deadLetter is in's DLQ copy with the headers the gateway adds (producer.deadLetter, which
// is not exported), for writing one in a transaction or next to a foreign record.
func (k *kafka) deadLetter(in *kgo.Record, eventID string) *kgo.Record {
	h := append(in.Headers[:len(in.Headers):len(in.Headers)],
		kgo.RecordHeader{Key: jft.HeaderOutcome, Value: []byte(jft.OutcomeFailed)},
		kgo.RecordHeader{Key: jft.HeaderEventID, Value: []byte(eventID)},
		kgo.RecordHeader{Key: producer.HeaderDLQSourceTopic, Value: []byte(in.Topic)},
		kgo.RecordHeader{Key: producer.HeaderDLQSourcePartition, Value: []byte(fmt.Sprint(in.Partition))},
		kgo.RecordHeader{Key: producer.HeaderDLQSourceOffset, Value: []byte(fmt.Sprint(in.Offset))},
		kgo.RecordHeader{Key: jft.HeaderErrorCode, Value: []byte(jft.CodeAPIUnavailable)},
		kgo.RecordHeader{Key: producer.HeaderDLQErrorMessage, Value: []byte("unavailable")},
	)
	return &kgo.Record{Topic: k.env["JFT_TOPIC_DLQ"], Key: in.Key, Value: in.Value, Headers: h}
}
