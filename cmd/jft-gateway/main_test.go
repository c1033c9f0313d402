package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/jft-gateway/jft-gateway/internal/gateway"
	"github.com/jft-gateway/jft-gateway/internal/jft"
	"github.com/jft-gateway/jft-gateway/internal/samples"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// TestDemo runs the README's first command in process: it must print one result per input
// and succeed.
func TestDemo(t *testing.T) {
	var out, errOut syncBuf
	if err := run(context.Background(), []string{"demo"}, env(nil), &out, &errOut); err != nil {
		t.Fatalf("demo: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errOut.String())
	}
	s := out.String()
	if !strings.Contains(s, "every input has exactly one result with the expected outcome") {
		t.Fatalf("demo output lacks its verdict:\n%s", s)
	}
	for _, want := range []string{"Bundle", "Composition", "MedicationDispense", "acknowledgement", "SIZE_LIMIT", "NIN_REAL_IN_TEST", "FHIR_CARDINALITY", "WRITEAPI_NOT_FOUND"} {
		if !strings.Contains(s, want) {
			t.Errorf("demo output lacks %s", want)
		}
	}
	if strings.Contains(s, "✗") {
		t.Errorf("demo reports a mismatch:\n%s", s)
	}
}

// TestDevServesExternalKafkaClients runs `dev` on a chosen port and talks to it with a
// separate franz-go client, as kcat or any producer would.
func TestDevServesExternalKafkaClients(t *testing.T) {
	addr, out, errOut := runDev(t)

	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics("jft.results.v1"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.RetryTimeout(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	g, _ := samples.NewGenerator(7, []string{"312229544"}, time.Now())
	ev := g.Next(0)
	pctx, pcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer pcancel()
	rec := &kgo.Record{Topic: "jft.events.v1", Key: []byte(ev.Tenant), Value: ev.Value,
		Headers: []kgo.RecordHeader{{Key: jft.HeaderEventID, Value: []byte("external-1")}}}
	if err := cl.ProduceSync(pctx, rec).FirstErr(); err != nil {
		t.Fatalf("produce through %s: %v\n%s", addr, err, errOut.String())
	}
	for {
		fs := cl.PollFetches(pctx)
		if pctx.Err() != nil {
			t.Fatalf("no result within 30s; dev stdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
		}
		for _, r := range fs.Records() {
			var res jft.Result
			if err := json.Unmarshal(r.Value, &res); err != nil {
				t.Fatal(err)
			}
			if res.EventID == "external-1" {
				if res.Outcome != jft.OutcomeAccepted {
					t.Fatalf("result %+v", res)
				}
				if !strings.Contains(out.String(), addr) {
					t.Errorf("dev did not print its Kafka address:\n%s", out.String())
				}
				return
			}
		}
	}
}

func TestHelpListsEveryVariable(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"help"}, env(nil), &out, &out); err != nil {
		t.Fatal(err)
	}
	for _, v := range gateway.Variables(gateway.Config{}) {
		if !strings.Contains(out.String(), v.Name) {
			t.Errorf("help does not list %s", v.Name)
		}
	}
	if !strings.Contains(out.String(), "JFT_DEV_KAFKA_ADDR") || !strings.Contains(out.String(), "127.0.0.1:9092") {
		t.Error("help does not list dev's variables with defaults")
	}
}

func TestServeRefusesBadConfigNamingTheVariable(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"environment is required", map[string]string{}, "JFT_ENVIRONMENT"},
		{"unknown ordering", map[string]string{"JFT_ENVIRONMENT": "test", "JFT_ORDERING": "random"}, "JFT_ORDERING"},
		{"no auth toward NHN", map[string]string{"JFT_ENVIRONMENT": "test", "JFT_AUTH_MODE": "none"}, "JFT_AUTH_MODE"},
		{"no auth in prod", map[string]string{"JFT_ENVIRONMENT": "prod", "JFT_AUTH_MODE": "none", "JFT_WRITEAPI_BASE_URL": "http://127.0.0.1:1"}, "JFT_AUTH_MODE"},
		{"bad duration", map[string]string{"JFT_ENVIRONMENT": "test", "JFT_WRITEAPI_TIMEOUT": "soon"}, "JFT_WRITEAPI_TIMEOUT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), []string{"serve"}, env(tt.env), &out, &out)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want one naming %s", err, tt.want)
			}
		})
	}
}

func TestUnknownCommand(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"frobnicate"}, env(nil), &out, &out); err == nil || !strings.Contains(out.String(), "usage") {
		t.Fatalf("err %v, output %q", err, out.String())
	}
}

// runDev runs `dev` on a free Kafka port until the test ends and returns the address and
// dev's output.
func runDev(t *testing.T, extra ...string) (addr string, out, errOut *syncBuf) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, errOut = &syncBuf{}, &syncBuf{}
	addrs := freeAddrs(t, 2)
	vars := map[string]string{
		"JFT_DEV_KAFKA_ADDR": addrs[0], "JFT_DEV_DATA_DIR": t.TempDir(), "JFT_DEV_SIM_ADDR": addrs[1], "JFT_DEV_PARTITIONS": "2",
		"JFT_ADMIN_ADDR": "off",
	}
	for i := 0; i+1 < len(extra); i += 2 {
		vars[extra[i]] = extra[i+1]
	}
	addr = vars["JFT_DEV_KAFKA_ADDR"]
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"dev"}, env(vars), out, errOut)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("dev: %v\n%s", err, errOut.String())
		}
	})
	return addr, out, errOut
}

// freeAddrs returns n distinct free loopback addresses. They are reserved together, so
// none of them is a port another one of them just released; a server that binds port 0
// later may still take one, so callers give every server of theirs one of these.
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		out = append(out, ln.Addr().String())
	}
	return out
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
