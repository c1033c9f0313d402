package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchSmoke runs a small benchmark end to end: the gateway process drains the backlog
// and the latency phase, and the report has every figure.
func TestBenchSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the gateway")
	}
	out := filepath.Join(t.TempDir(), "r.jsonl")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"-records", "300", "-latency", "2ms", "-tenants", "10", "-partitions", "3",
		"-load", "0.5", "-load-duration", "1s", "-json", out}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if r.DrainPerSec <= 0 || r.CPUMicrosPer <= 0 || r.PeakRSSMB <= 0 || r.LoadResults == 0 || r.P99MS <= 0 || r.MaxConcurrent == 0 {
		t.Errorf("a figure is missing: %+v", r)
	}
	if r.Errors != 0 {
		t.Errorf("%d results were not accepted", r.Errors)
	}
	if !strings.HasPrefix(stdout.String(), "| 300 |") {
		t.Errorf("table row: %q", stdout.String())
	}
}

func TestInFlightLimitFollowsTheGateway(t *testing.T) {
	if n, err := inFlightLimit(""); err != nil || n != 512 {
		t.Errorf("default: %v %v, want the consumer's default 512", n, err)
	}
	if n, err := inFlightLimit("128"); err != nil || n != 128 {
		t.Errorf("override: %v %v", n, err)
	}
	if _, err := inFlightLimit("many"); err == nil || !strings.Contains(err.Error(), "JFT_MAX_IN_FLIGHT") {
		t.Errorf("bad value: %v", err)
	}
}

// TestGatewayThatExitsEndsTheRun: a gateway that stops before its results are in (here a
// configuration error) fails the run with the reason instead of leaving it waiting.
func TestGatewayThatExitsEndsTheRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the gateway")
	}
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"-records", "50", "-latency", "0s", "-load", "0",
		"-env", "JFT_LOG_LEVEL=loud"}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "the gateway exited early") {
		t.Fatalf("run: %v, want the gateway's early exit\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "JFT_LOG_LEVEL") {
		t.Errorf("the gateway's own error is not in the log:\n%s", stderr.String())
	}
}
