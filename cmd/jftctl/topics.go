package main

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/jft-gateway/jft-gateway/internal/gateway"
)

// topicsCreate creates every topic the gateway reads or writes; existing ones are left as
// they are.
func (c *cli) topicsCreate(args []string) error {
	fs := c.flags("topics create")
	brokers := c.brokersFlag(fs)
	partitions := fs.Int("partitions", 12, "partitions per topic: the most gateway instances that can share the work")
	rf := fs.Int("replication-factor", -1, "replicas per partition (-1: the broker's default)")
	var configs multi
	fs.Var(&configs, "config", "topic config key=value, repeatable (e.g. retention.ms=604800000)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("topics create takes no arguments (the topics come from JFT_TOPIC_*): %q", fs.Args())
	}
	if *partitions < 1 || *partitions > math.MaxInt32 {
		return fmt.Errorf("-partitions: %d is not a positive 32-bit number", *partitions)
	}
	if *rf == 0 || *rf < -1 || *rf > math.MaxInt16 {
		return fmt.Errorf("-replication-factor: %d is neither positive nor -1 (the broker's default)", *rf)
	}
	cfg := map[string]*string{}
	for _, kv := range configs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return fmt.Errorf("-config: %q is not key=value", kv)
		}
		cfg[k] = &v
	}
	topics, err := gateway.TopicsFromEnv(c.ctx, c.getenv)
	if err != nil {
		return err
	}
	cl, err := c.client(*brokers)
	if err != nil {
		return err
	}
	defer cl.Close()
	resp, err := kadm.NewClient(cl).CreateTopics(c.ctx, int32(*partitions), int16(*rf), cfg, topics...)
	if err != nil {
		return fmt.Errorf("create topics: %w", err)
	}
	var failed error
	for _, r := range resp.Sorted() {
		switch {
		case r.Err == nil:
			fmt.Fprintf(c.stdout, "created  %s (%d partitions)\n", r.Topic, *partitions)
		case errors.Is(r.Err, kerr.TopicAlreadyExists):
			fmt.Fprintf(c.stdout, "exists   %s\n", r.Topic)
		default:
			fmt.Fprintf(c.stdout, "failed   %s: %v\n", r.Topic, r.Err)
			failed = fmt.Errorf("topic %s: %w", r.Topic, r.Err)
		}
	}
	return failed
}
