package main

import (
	"context"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
)

func TestTopicsCreateMakesTheGatewaysTopicsOnce(t *testing.T) {
	k := newKafka(t, false)
	topics := []string{k.env["JFT_TOPIC_EVENTS"], k.env["JFT_TOPIC_ACKS"], k.env["JFT_TOPIC_RESULTS"], k.env["JFT_TOPIC_DLQ"]}
	out, _, err := k.jftctl("topics", "create", "-partitions", "4", "-config", "retention.ms=86400000", "-config", "cleanup.policy=delete")
	if err != nil {
		t.Fatal(err)
	}
	for _, topic := range topics {
		if !strings.Contains(out, "created  "+topic+" (4 partitions)\n") {
			t.Errorf("no line for %s:\n%s", topic, out)
		}
	}
	adm := kadm.NewClient(k.client())
	details, err := adm.ListTopics(context.Background(), topics...)
	if err != nil {
		t.Fatal(err)
	}
	configs, err := adm.DescribeTopicConfigs(context.Background(), topics...)
	if err != nil {
		t.Fatal(err)
	}
	for _, topic := range topics {
		if d, ok := details[topic]; !ok || d.Err != nil || len(d.Partitions) != 4 {
			t.Errorf("%s: listed %v (%v), %d partitions, want 4", topic, ok, d.Err, len(d.Partitions))
		}
		rc, err := configs.On(topic, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, c := range rc.Configs {
			got[c.Key] = c.MaybeValue()
		}
		if got["retention.ms"] != "86400000" || got["cleanup.policy"] != "delete" {
			t.Errorf("%s: retention.ms %q cleanup.policy %q", topic, got["retention.ms"], got["cleanup.policy"])
		}
	}

	// Again: nothing to do, and that is not an error.
	out, _, err = k.jftctl("topics", "create", "-partitions", "8")
	if err != nil || strings.Count(out, "exists") != 4 || strings.Contains(out, "created") {
		t.Errorf("second run: %v\n%s", err, out)
	}
	details, _ = adm.ListTopics(context.Background(), topics...)
	if n := len(details[topics[0]].Partitions); n != 4 {
		t.Errorf("an existing topic was changed to %d partitions", n)
	}
}

func TestTopicsCreateRefusesBadFlags(t *testing.T) {
	k := newKafka(t, false)
	for _, args := range [][]string{
		{"-config", "retention.ms"},
		{"-config", "=1"},
		{"-partitions", "0"},
		{"-replication-factor", "0"},
		{"-replication-factor", "-2"},
		{"jft.events.v1"},
	} {
		if _, _, err := k.jftctl(append([]string{"topics", "create"}, args...)...); err == nil {
			t.Errorf("%v was accepted", args)
		}
	}
	details, err := kadm.NewClient(k.client()).ListTopics(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := details[k.env["JFT_TOPIC_EVENTS"]]; ok {
		t.Error("a refused command created a topic")
	}
}
