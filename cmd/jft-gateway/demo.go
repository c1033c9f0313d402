package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/jft-gateway/jft-gateway/internal/admin"
	"github.com/jft-gateway/jft-gateway/internal/devenv"
	"github.com/jft-gateway/jft-gateway/internal/gateway"
	"github.com/jft-gateway/jft-gateway/internal/jft"
	"github.com/jft-gateway/jft-gateway/internal/samples"
	"github.com/jft-gateway/jft-gateway/internal/tenants"
)

// demoInput is one record the demo produces and what it expects back.
type demoInput struct {
	id       string
	topic    string
	key      string
	value    []byte
	wantCode string // "" = accepted
	label    string
}

// demo starts the embedded environment and the gateway, produces sample events (valid ones
// of all three types for several municipalities, and bad ones), then acknowledgements for
// the accepted dispenses, prints a table of the results and returns nil when every input got
// exactly one result with the expected outcome.
func demo(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "jft-demo-")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer os.RemoveAll(dir)
	dc := devConfig{KafkaAddr: "127.0.0.1:0", Partitions: 3, SimAddr: "127.0.0.1:0"}
	st, err := startDev(ctx, dc, dir, overlay(nil, getenv, map[string]string{"JFT_LOG_LEVEL": "warn", "JFT_KAFKA_GROUP": "jft-gateway-demo", "JFT_ADMIN_ADDR": admin.Off}))
	if err != nil {
		return err
	}
	defer st.env.Close()

	gctx, stopGateway := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- runGateway(gctx, st.cfg, getenv, stderr, gateway.Deps{}) }()
	defer func() { stopGateway(); <-done }()

	cl, err := kgo.NewClient(kgo.SeedBrokers(st.env.Brokers...), kgo.ConsumeTopics(st.cfg.Producer.ResultsTopic),
		kgo.ProducerBatchMaxBytes(devenv.MaxMessageBytes),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return fmt.Errorf("demo kafka client: %w", err)
	}
	defer cl.Close()

	auth := "no authentication"
	if st.env.Sim.Issuer() != nil {
		auth = "HelseID + DPoP"
	}
	fmt.Fprintf(stdout, "jft-gateway demo: embedded Kafka %s, WriteAPI simulator %s (environment test, %s)\n\n", st.env.Brokers[0], st.env.Sim.URL, auth)
	inputs := demoEvents(st.cfg)
	results, err := roundTrip(ctx, cl, inputs, done)
	if err != nil {
		return err
	}
	acks := demoAcks(st.cfg, inputs, results)
	ackResults, err := roundTrip(ctx, cl, acks, done)
	if err != nil {
		return err
	}
	all := append(inputs, acks...)
	for k, v := range ackResults {
		results[k] = v
	}
	return report(stdout, all, results)
}

func demoEvents(cfg gateway.Config) []demoInput {
	ts := tenants.DemoOrgnrs()
	g, err := samples.NewGenerator(2026, ts[:3], time.Now())
	if err != nil {
		panic(err) // only for an empty tenant list, which DemoOrgnrs never is
	}
	var in []demoInput
	for i := range 6 {
		ev := g.Next(i)
		in = append(in, demoInput{topic: cfg.Pipeline.EventsTopic, key: ev.Tenant, value: ev.Value, label: "valid " + ev.ResourceType})
	}
	for _, b := range g.BadEvents(ts[0], cfg.Transform.MaxBodyBytes) {
		in = append(in, demoInput{topic: cfg.Pipeline.EventsTopic, key: b.Key, value: b.Value, wantCode: b.WantCode, label: b.Name})
	}
	for i := range in {
		in[i].id = "demo-" + strconv.Itoa(i+1)
	}
	return in
}

// demoAcks acknowledges every accepted MedicationDispense, and one id the WriteAPI never gave.
func demoAcks(cfg gateway.Config, inputs []demoInput, results map[string][]jft.Result) []demoInput {
	var acks []demoInput
	for _, in := range inputs {
		rs := results[in.id]
		if len(rs) != 1 || rs[0].Outcome != jft.OutcomeAccepted || rs[0].ResourceType != "MedicationDispense" || rs[0].ResourceID == "" {
			continue
		}
		v, _ := json.Marshal(map[string]string{"resourceType": "MedicationDispense", "resourceId": rs[0].ResourceID})
		acks = append(acks, demoInput{topic: cfg.Pipeline.AcksTopic, key: in.key, value: v, label: "ack of " + in.id})
	}
	v := []byte(`{"resourceType":"MedicationDispense","resourceId":"00000000-0000-4000-8000-000000000000"}`)
	acks = append(acks, demoInput{topic: cfg.Pipeline.AcksTopic, key: tenants.DemoOrgnrs()[0], value: v, wantCode: string(jft.CodeAPINotFound), label: "ack of an unknown id"})
	for i := range acks {
		acks[i].id = "demo-ack-" + strconv.Itoa(i+1)
	}
	return acks
}

// roundTrip produces inputs and reads results until each input has one, or ctx ends.
func roundTrip(ctx context.Context, cl *kgo.Client, inputs []demoInput, gatewayDone <-chan error) (map[string][]jft.Result, error) {
	recs := make([]*kgo.Record, len(inputs))
	for i, in := range inputs {
		recs[i] = &kgo.Record{Topic: in.topic, Value: in.value, Headers: []kgo.RecordHeader{{Key: jft.HeaderEventID, Value: []byte(in.id)}}}
		if in.key != "" {
			recs[i].Key = []byte(in.key)
		}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return nil, fmt.Errorf("demo: produce: %w", err)
	}
	want := map[string]bool{}
	for _, in := range inputs {
		want[in.id] = true
	}
	got := map[string][]jft.Result{}
	for n := 0; n < len(inputs); {
		select {
		case err := <-gatewayDone:
			return nil, fmt.Errorf("demo: the gateway stopped early: %w", err)
		default:
		}
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return got, fmt.Errorf("demo: %d of %d results arrived before the deadline", n, len(inputs))
		}
		for _, r := range fs.Records() {
			var res jft.Result
			if err := json.Unmarshal(r.Value, &res); err != nil {
				return nil, fmt.Errorf("demo: a result is not JSON: %w", err)
			}
			if !want[res.EventID] {
				continue
			}
			if len(got[res.EventID]) == 0 {
				n++
			}
			got[res.EventID] = append(got[res.EventID], res)
		}
	}
	return got, nil
}

// report prints the table and checks exactly one result per input with the expected code.
func report(stdout io.Writer, inputs []demoInput, results map[string][]jft.Result) error {
	w := tabwriter.NewWriter(stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(w, "INPUT\tKIND\tTENANT\tTYPE\tOUTCOME\tHTTP\tDETAIL\tCHECK\t")
	var problems []string
	for _, in := range inputs {
		rs := results[in.id]
		if len(rs) != 1 {
			problems = append(problems, fmt.Sprintf("%s has %d results", in.id, len(rs)))
			fmt.Fprintf(w, "%s\t\t%s\t\t(%d results)\t\t%s\t✗\t\n", in.id, in.key, len(rs), in.label)
			continue
		}
		r := rs[0]
		detail, code := r.Location, ""
		if r.Error != nil {
			code = string(r.Error.Code)
			detail = code
			if len(r.Error.Issues) > 0 && r.Error.Issues[0].Path != "" {
				detail += " at " + r.Error.Issues[0].Path
			}
		}
		check := "✓"
		if code != in.wantCode {
			check = "✗ want " + orAccepted(in.wantCode)
			problems = append(problems, fmt.Sprintf("%s (%s): got %s, want %s", in.id, in.label, orAccepted(code), orAccepted(in.wantCode)))
		}
		status := ""
		if r.HTTPStatus != 0 {
			status = strconv.Itoa(r.HTTPStatus)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s %s\t\n", in.id, r.Kind, r.Tenant, r.ResourceType, r.Outcome, status, detail, check, in.label)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	counts := map[jft.Outcome]int{}
	for _, rs := range results {
		for _, r := range rs {
			counts[r.Outcome]++
		}
	}
	keys := make([]string, 0, len(counts))
	for k, v := range counts {
		keys = append(keys, fmt.Sprintf("%s %d", k, v))
	}
	sort.Strings(keys)
	fmt.Fprintf(stdout, "\n%d inputs, %d results (%s)\n", len(inputs), len(inputs)-countMissing(inputs, results), strings.Join(keys, ", "))
	if len(problems) > 0 {
		return errors.New("demo: " + strings.Join(problems, "; "))
	}
	fmt.Fprintln(stdout, "every input has exactly one result with the expected outcome")
	return nil
}

func countMissing(inputs []demoInput, results map[string][]jft.Result) int {
	n := 0
	for _, in := range inputs {
		if len(results[in.id]) == 0 {
			n++
		}
	}
	return n
}

func orAccepted(code string) string {
	if code == "" {
		return "accepted"
	}
	return code
}
