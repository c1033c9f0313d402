package main

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jft-gateway/jft-gateway/internal/jft"
	"github.com/jft-gateway/jft-gateway/internal/samples"
)

// TestKcatInterop uses Debian's kcat (librdkafka, a third-party Kafka client) against
// `dev`: it produces an event with key and headers, and reads the result back. CI installs
// kcat; without it the test is skipped.
func TestKcatInterop(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat not installed (apt-get install -y kcat); .ci/run installs it")
	}
	addr, _, errOut := runDev(t)
	g, _ := samples.NewGenerator(11, []string{"312229544"}, time.Now())
	ev := g.Next(2) // a MedicationDispense
	// kcat -K takes "key<delim>value" per line; events are one line of JSON once compacted.
	var compact bytes.Buffer
	if err := json.Compact(&compact, ev.Value); err != nil {
		t.Fatal(err)
	}
	produce := exec.Command(kcat, "-b", addr, "-t", "jft.events.v1", "-P", "-K", "\t",
		"-H", "jft-event-id=kcat-1", "-H", "nhn-source-system=kcat test")
	produce.Stdin = strings.NewReader("312229544\t" + compact.String() + "\n")
	if b, err := produce.CombinedOutput(); err != nil {
		t.Fatalf("kcat produce: %v: %s\n%s", err, b, errOut.String())
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		consume := exec.Command(kcat, "-b", addr, "-t", "jft.results.v1", "-C", "-o", "beginning", "-e", "-q", "-f", "%k\t%h\t%s\n")
		b, err := consume.Output()
		if err != nil {
			t.Fatalf("kcat consume: %v", err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			parts := strings.SplitN(line, "\t", 3)
			if len(parts) != 3 {
				continue
			}
			var res jft.Result
			if json.Unmarshal([]byte(parts[2]), &res) != nil || res.EventID != "kcat-1" {
				continue
			}
			if res.Outcome != jft.OutcomeAccepted || parts[0] != "312229544" || !strings.Contains(parts[1], "jft-outcome=accepted") {
				t.Fatalf("result key %q headers %q value %+v", parts[0], parts[1], res)
			}
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("no result for the kcat event within 30s\n%s", errOut.String())
}
