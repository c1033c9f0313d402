package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sethvargo/go-envconfig"

	"github.com/jft-gateway/jft-gateway/internal/jft"
	"github.com/jft-gateway/jft-gateway/internal/tenants"
	"github.com/jft-gateway/jft-gateway/transform"
)

func TestProduceGeneratedEvents(t *testing.T) {
	k := newKafka(t, true)
	out, stderr, err := k.jftctl("produce", "-generate", "30", "-seed", "5", "-progress", "10", "-source-system", "jftctl-test")
	if err != nil || !strings.Contains(out, "produced 30 of 30 records to "+k.env["JFT_TOPIC_EVENTS"]) {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, n := range []string{"10", "20", "30"} {
		if !strings.Contains(stderr, "\n"+n+" acknowledged") && !strings.HasPrefix(stderr, n+" acknowledged") {
			t.Errorf("no progress line for %s:\n%s", n, stderr)
		}
	}

	// The gateway's own validation in the test environment accepts every one of them: the
	// keys are synthetic municipalities, the identity numbers synthetic.
	var cfg transform.Config
	if err := envconfig.ProcessWith(context.Background(), &envconfig.Config{Target: &cfg, Lookuper: envconfig.MapLookuper(map[string]string{"JFT_ENVIRONMENT": "test"})}); err != nil {
		t.Fatal(err)
	}
	tr, err := transform.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	recs := k.read(k.env["JFT_TOPIC_EVENTS"])
	if len(recs) != 30 {
		t.Fatalf("%d records, want 30", len(recs))
	}
	ids := map[string]bool{}
	perTenant, perType := map[string]int{}, map[string]int{}
	for _, r := range recs {
		if !slices.Contains(tenants.DemoOrgnrs(), string(r.Key)) {
			t.Errorf("key %q is not a demo municipality", r.Key)
		}
		perTenant[string(r.Key)]++
		id, n := header(r, jft.HeaderEventID)
		if n != 1 || ids[id] || !strings.HasPrefix(id, "jftctl-5-") {
			t.Errorf("event id %q (×%d) missing, repeated or not from the seed", id, n)
		}
		ids[id] = true
		if v, n := header(r, jft.HeaderSourceSystem); v != "jftctl-test" || n != 1 {
			t.Errorf("nhn-source-system %q ×%d", v, n)
		}
		if len(r.Headers) != 2 {
			t.Errorf("headers %v, want jft-event-id and nhn-source-system only", r.Headers)
		}
		cmd, err := tr.Transform(transform.Input{Kind: jft.KindEvent, Key: r.Key, Value: r.Value})
		if err != nil {
			t.Errorf("event %s is rejected: %v", id, jft.CodeOf(err))
		}
		perType[cmd.ResourceType]++
	}
	if len(perTenant) != 10 {
		t.Errorf("events went to %d municipalities, want the 10 demo ones: %v", len(perTenant), perTenant)
	}
	if perType["Bundle"] != 10 || perType["Composition"] != 10 || perType["MedicationDispense"] != 10 {
		t.Errorf("resource types %v, want 10 of each", perType)
	}

	// -tenant keys every generated event by that municipality.
	if _, _, err := k.jftctl("produce", "-generate", "4", "-tenant", "310163449", "-topic", k.env["JFT_TOPIC_ACKS"]); err != nil {
		t.Fatal(err)
	}
	recs = k.read(k.env["JFT_TOPIC_ACKS"])
	if len(recs) != 4 {
		t.Fatalf("%d records on the -topic, want 4", len(recs))
	}
	for _, r := range recs {
		if string(r.Key) != "310163449" {
			t.Errorf("key %q, want -tenant's", r.Key)
		}
	}
}

func TestProduceFilesAndDirectories(t *testing.T) {
	k := newKafka(t, true)
	files, _ := filepath.Glob(filepath.Join(official, "Composition-*.json"))
	if len(files) < 2 {
		t.Fatalf("official fixtures: %v", files)
	}
	dir := t.TempDir()
	for i, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("in-%d.json", i)), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not an event"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err := k.jftctl(append([]string{"produce", "-tenant", "312229544", "-progress", "0", dir}, files[0])...)
	want := len(files) + 1
	if err != nil || !strings.Contains(out, fmt.Sprintf("produced %d of %d", want, want)) {
		t.Fatalf("%v\n%s", err, out)
	}
	recs := k.read(k.env["JFT_TOPIC_EVENTS"])
	if len(recs) != want {
		t.Fatalf("%d records, want %d (the directory's .json files and one file)", len(recs), want)
	}
	byID := map[string][]byte{}
	for _, r := range recs {
		if string(r.Key) != "312229544" {
			t.Errorf("key %q, want the -tenant", r.Key)
		}
		id, _ := header(r, jft.HeaderEventID)
		byID[id] = r.Value
		if !json.Valid(r.Value) {
			t.Errorf("%s: value is not the file's JSON", id)
		}
	}
	orig, _ := os.ReadFile(files[0])
	if string(byID[filepath.Base(files[0])]) != string(orig) {
		t.Errorf("the file's bytes were not produced as they are, under its name as event id (ids: %v)", keys(byID))
	}
	if _, ok := byID["in-0.json"]; !ok {
		t.Errorf("no record for the directory's in-0.json (ids: %v)", keys(byID))
	}

	for _, args := range [][]string{
		{official}, // files need -tenant: it is the key
		{"-generate", "1", "-tenant", "312229544", files[0]}, // one or the other
		{}, // nothing
		{"-tenant", "312229544", filepath.Join(dir, "missing.json")},
	} {
		if _, _, err := k.jftctl(append([]string{"produce"}, args...)...); err == nil {
			t.Errorf("produce %v succeeded", args)
		}
	}
	if n := len(k.read(k.env["JFT_TOPIC_EVENTS"])); n != want {
		t.Errorf("refused commands produced %d records", n-want)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
