package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/jft-gateway/jft-gateway/internal/jft"
)

func TestLagPerPartitionAndMunicipality(t *testing.T) {
	k := newKafka(t, true)
	topic, group := k.env["JFT_TOPIC_EVENTS"], k.env["JFT_KAFKA_GROUP"]
	cl := k.client(kgo.RecordPartitioner(kgo.ManualPartitioner()))
	var recs []*kgo.Record
	for i := range 10 { // partition 0: five of 312229544's, partition 1: five of 310163449's
		key := map[int]string{0: "312229544", 1: "310163449"}[i%2]
		recs = append(recs, &kgo.Record{Topic: topic, Partition: int32(i % 2), Key: []byte(key), Value: []byte("{}")})
	}
	recs = append(recs,
		&kgo.Record{Topic: topic, Partition: 0, Key: []byte("13116900216"), Value: []byte("{}")}, // not a municipality
		&kgo.Record{Topic: topic, Partition: 1, Key: []byte("patient-ordering-key"), Value: []byte("{}"),
			Headers: []kgo.RecordHeader{{Key: jft.HeaderTenant, Value: []byte("313513580")}}},
	)
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	// A member of the gateway's group consumes and commits 4 of partition 0's 6 records,
	// and none of partition 1's.
	member := k.client(kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic), kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for seen := 0; seen < len(recs); {
		fs := member.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("the group member read %d of %d records", seen, len(recs))
		}
		seen += fs.NumRecords()
	}
	commit := map[string]map[int32]kgo.EpochOffset{topic: {0: {Epoch: -1, Offset: 4}}}
	var commitErr error
	member.CommitOffsetsSync(ctx, commit, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, _ *kmsg.OffsetCommitResponse, err error) {
		commitErr = err
	})
	if commitErr != nil {
		t.Fatal(commitErr)
	}

	out, _, err := k.jftctl("lag")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"group  " + group,
		fmt.Sprintf("%s  0  4  6  2", topic),
		fmt.Sprintf("%s  1  -  6  6", topic),
		fmt.Sprintf("%s  2  -  0  0", topic),
		"total  8",
		"310163449  5",
		"312229544  1",
		"313513580  1", // from its jft-tenant header
		"(other)  1",   // keyed by something that is not an organisation number
	} {
		if !strings.Contains(squash(out), want+"\n") {
			t.Errorf("lag output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "13116900216") || strings.Contains(out, "patient-ordering-key") {
		t.Errorf("lag printed a key that is not an organisation number:\n%s", out)
	}

	out, _, err = k.jftctl("lag", "-scan-limit", "3")
	if err != nil || !strings.Contains(out, "3 uncommitted records read (stopped at -scan-limit)") {
		t.Errorf("-scan-limit 3: %v\n%s", err, out)
	}
}

// Inputs written in transactions end in markers, hold aborted records and, while a
// transaction is open, records nobody may read yet; the count per municipality still
// finishes and counts only committed records. A group that never committed lags by all.
func TestLagWithTransactionalInputs(t *testing.T) {
	k := newKafka(t, false)
	k.createTopics(1, k.env["JFT_TOPIC_EVENTS"], k.env["JFT_TOPIC_ACKS"])
	topic := k.env["JFT_TOPIC_EVENTS"]
	ctx := context.Background()
	cl := k.client(kgo.TransactionalID("jftctl-lag-" + topic))
	txn := func(n int, end kgo.TransactionEndTry) {
		t.Helper()
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for range n {
			if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: []byte("312229544"), Value: []byte("{}")}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		if err := cl.EndTransaction(ctx, end); err != nil {
			t.Fatal(err)
		}
	}
	txn(3, kgo.TryCommit) // offsets 0-2, marker 3
	txn(2, kgo.TryAbort)  // offsets 4-5, marker 6
	open := k.client(kgo.TransactionalID("jftctl-lag-open-" + topic))
	if err := open.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := open.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: []byte("310163449"), Value: []byte("{}")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = open.EndTransaction(context.Background(), kgo.TryAbort) })
	k.waitStable(topic, 7, 8) // the open transaction's record at 7 holds the last stable offset

	out, _, err := k.jftctl("lag")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		fmt.Sprintf("%s  0  -  8  8", topic), // offsets, markers and the open transaction's record included
		"312229544  3",
		"3  uncommitted  records  read:",
	} {
		if !strings.Contains(squash(out), want) {
			t.Errorf("lag output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "310163449") {
		t.Errorf("a record of an open transaction was counted:\n%s", out)
	}
}
