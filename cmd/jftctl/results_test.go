package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/jft-gateway/jft-gateway/internal/jft"
)

func TestResultsTailPrintsFilteredResults(t *testing.T) {
	k := newKafka(t, true)
	k.publish(nil, []*kgo.Record{
		k.input(0, 0, "312229544"), k.input(0, 1, "312229544"), k.input(1, 0, "310163449"), k.input(1, 1, "310163449"),
	},
		result("e1", "312229544", jft.OutcomeAccepted, ""),
		result("e2", "312229544", jft.OutcomeRejected, jft.CodeFHIRCardinality),
		result("e3", "310163449", jft.OutcomeRejected, jft.CodeNINRealInTest),
		result("e4", "310163449", jft.OutcomeFailed, jft.CodeAPIUnavailable),
	)

	out, _, err := k.jftctl("results", "tail", "-from", "start", "-n", "2", "-outcome", "rejected")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.Contains(out, "e2") || !strings.Contains(out, "e3") || strings.Contains(out, "e1") {
		t.Fatalf("rejected results:\n%s", out)
	}
	for _, l := range lines {
		f := strings.Fields(l)
		if _, err := time.Parse(time.RFC3339, f[0]); err != nil || f[2] != "rejected" || f[4] != "Composition" {
			t.Errorf("line %q: want time, tenant, outcome, code, resource type", l)
		}
		if !strings.HasSuffix(l, "Composition.status: is required") {
			t.Errorf("line %q does not end with the first issue", l)
		}
	}
	if f := strings.Fields(lines[0]); f[1] != "312229544" || f[3] != string(jft.CodeFHIRCardinality) {
		t.Errorf("first line %q: want tenant 312229544 and %s", lines[0], jft.CodeFHIRCardinality)
	}

	out, _, err = k.jftctl("results", "tail", "-from", "start", "-n", "1", "-outcome", "accepted")
	if err != nil || !strings.Contains(out, "e1") || !strings.HasSuffix(strings.TrimSpace(out), "https://write.example/v1/Composition/e1/$status") {
		t.Errorf("accepted: %v\n%s", err, out)
	}

	out, _, err = k.jftctl("results", "tail", "-from", "start", "-idle", "1s", "-code", string(jft.CodeAPIUnavailable))
	if err != nil || strings.Count(out, "\n") != 1 || !strings.Contains(out, "e4") {
		t.Errorf("-code: %v\n%s", err, out)
	}

	out, _, err = k.jftctl("results", "tail", "-from", "start", "-idle", "1s", "-tenant", "310163449", "-json")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var r jft.Result
		if err := json.Unmarshal([]byte(l), &r); err != nil || r.Schema != jft.SchemaV1 {
			t.Fatalf("-json line %q: %v", l, err)
		}
		got = append(got, r.EventID)
	}
	if strings.Join(got, ",") != "e3,e4" {
		t.Errorf("tenant 310163449's results: %v", got)
	}

	if _, _, err := k.jftctl("results", "tail", "-outcome", "rejcted"); err == nil {
		t.Error("an unknown outcome was accepted")
	}
	if _, _, err := k.jftctl("results", "tail", "-from", "yesterday"); err == nil {
		t.Error("an unknown -from was accepted")
	}
}

// From the end (the default), results written before the tail started are not printed.
func TestResultsTailFromEndPrintsOnlyNewResults(t *testing.T) {
	k := newKafka(t, true)
	k.publish(nil, []*kgo.Record{k.input(0, 0, "312229544")}, result("old", "312229544", jft.OutcomeFailed, jft.CodeAPITimeout))

	type tail struct {
		out string
		err error
	}
	done := make(chan tail, 1)
	go func() {
		out, _, err := k.jftctl("results", "tail", "-n", "1", "-outcome", "failed")
		done <- tail{out, err}
	}()
	// Until the tail has its position at the end, a new result might come before it; so
	// keep writing new ones until it prints one.
	for i := 0; ; i++ {
		k.publish(nil, []*kgo.Record{k.input(0, int64(i+1), "312229544")}, result(fmt.Sprintf("new-%d", i), "312229544", jft.OutcomeFailed, jft.CodeAPITimeout))
		select {
		case got := <-done:
			if got.err != nil {
				t.Fatal(got.err)
			}
			if strings.Contains(got.out, "old") || !strings.Contains(got.out, "new-") || strings.Count(got.out, "\n") != 1 {
				t.Errorf("tail from the end printed:\n%s", got.out)
			}
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// A result whose tenant is not an organisation number (TENANT_INVALID keeps what the key
// held, which may be a patient's identity number) is printed without it.
func TestResultsTailHidesTenantsThatAreNotOrganisationNumbers(t *testing.T) {
	k := newKafka(t, true)
	res := result("e1", "13116900216", jft.OutcomeRejected, jft.CodeTenantInvalid)
	k.publish(nil, []*kgo.Record{k.input(0, 0, "13116900216")}, res)
	out, _, err := k.jftctl("results", "tail", "-from", "start", "-n", "1")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "13116900216") || !strings.Contains(out, "(other)") || !strings.Contains(out, string(jft.CodeTenantInvalid)) {
		t.Errorf("output:\n%s", out)
	}
}
