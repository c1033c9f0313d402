package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/jft-gateway/jft-gateway/internal/jft"
)

// resultsTail prints results, one readable line each (or the JSON), filtered by tenant,
// outcome and code. It never prints an event's payload: results carry none.
func (c *cli) resultsTail(args []string) error {
	fs := c.flags("results tail")
	brokers := c.brokersFlag(fs)
	topic := fs.String("topic", c.env.Producer.ResultsTopic, "results topic (JFT_TOPIC_RESULTS)")
	from := fs.String("from", "end", "start or end: read from the beginning, or only new results")
	n := fs.Int("n", 0, "stop after printing this many (0: follow until interrupted or -idle)")
	idle := fs.Duration("idle", 0, "stop after this long without a new result (0: never)")
	tenant := fs.String("tenant", "", "only this municipality")
	outcome := fs.String("outcome", "", "only accepted, rejected or failed")
	code := fs.String("code", "", "only this error code")
	asJSON := fs.Bool("json", false, "print each result as its JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("results tail takes no arguments: %q", fs.Args())
	}
	switch *outcome {
	case "", string(jft.OutcomeAccepted), string(jft.OutcomeRejected), string(jft.OutcomeFailed):
	default:
		return fmt.Errorf("-outcome: %q is not accepted, rejected or failed", *outcome)
	}
	if *n < 0 {
		return fmt.Errorf("-n: %d is negative", *n)
	}
	offset := kgo.NewOffset().AtEnd()
	switch *from {
	case "start":
		offset = kgo.NewOffset().AtStart()
	case "end":
	default:
		return fmt.Errorf("-from: %q is not start or end", *from)
	}
	cl, err := c.client(*brokers, kgo.ConsumeTopics(*topic), kgo.ConsumeResetOffset(offset), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		return err
	}
	defer cl.Close()
	printed := 0
	last := time.Now()
	for {
		ctx, cancel := c.ctx, func() {}
		if *idle > 0 {
			ctx, cancel = context.WithDeadline(c.ctx, last.Add(*idle))
		}
		fetches := cl.PollFetches(ctx)
		cancel()
		if c.ctx.Err() != nil {
			return nil
		}
		if *idle > 0 && time.Since(last) >= *idle {
			return nil
		}
		if errs := fetches.Errors(); len(errs) > 0 && !errors.Is(errs[0].Err, context.DeadlineExceeded) {
			return fmt.Errorf("read %s/%d: %w", errs[0].Topic, errs[0].Partition, errs[0].Err)
		}
		for _, r := range fetches.Records() {
			last = time.Now()
			var res jft.Result
			if json.Unmarshal(r.Value, &res) != nil { // the error would quote the value
				fmt.Fprintf(c.stderr, "skipping %s/%d@%d: not a result record\n", r.Topic, r.Partition, r.Offset)
				continue
			}
			resCode := ""
			if res.Error != nil {
				resCode = string(res.Error.Code)
			}
			if *tenant != "" && res.Tenant != *tenant || *outcome != "" && string(res.Outcome) != *outcome || *code != "" && resCode != *code {
				continue
			}
			if *asJSON {
				fmt.Fprintf(c.stdout, "%s\n", r.Value)
			} else {
				fmt.Fprintln(c.stdout, line(r.Timestamp, &res))
			}
			printed++
			if *n > 0 && printed >= *n {
				return nil
			}
		}
	}
}

// line is one result for people: when, who, what, and where to look next. A tenant that is
// not an organisation number (a result of TENANT_INVALID can carry what the key held) is
// printed as "(other)".
func line(ts time.Time, res *jft.Result) string {
	detail := res.Location
	code := "-"
	if res.Error != nil {
		code = string(res.Error.Code)
		detail = res.Error.Message
		if len(res.Error.Issues) > 0 {
			i := res.Error.Issues[0]
			detail = i.Path + ": " + i.Message
		}
	}
	return fmt.Sprintf("%s  %-9s  %-8s  %-24s  %-18s  %-30s  %s",
		ts.Format(time.RFC3339), orgnrLabel(res.Tenant), res.Outcome, code, res.ResourceType, res.EventID, detail)
}
