package samples

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func newGen(t *testing.T) *Generator {
	t.Helper()
	g, err := NewGenerator(1, []string{"312229544", "310163449"}, time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestGeneratedEventsAreJSONOfTheirType(t *testing.T) {
	g := newGen(t)
	for i := range 30 {
		ev := g.Next(i)
		var v struct {
			ResourceType string `json:"resourceType"`
		}
		if err := json.Unmarshal(ev.Value, &v); err != nil {
			t.Fatalf("event %d (%s) is not JSON: %v", i, ev.ResourceType, err)
		}
		if v.ResourceType != ev.ResourceType {
			t.Fatalf("event %d: resourceType %q, want %q", i, v.ResourceType, ev.ResourceType)
		}
		if strings.Contains(string(ev.Value), "{{") {
			t.Fatalf("event %d has an unfilled placeholder", i)
		}
	}
}

// mod11 checks a fødselsnummer's two check digits independently of withCheckDigits.
func mod11ok(nin string) bool {
	w1 := []int{3, 7, 6, 1, 8, 9, 4, 5, 2, 1}
	w2 := []int{5, 4, 3, 2, 7, 6, 5, 4, 3, 2, 1}
	sum := func(w []int) int {
		s := 0
		for i, x := range w {
			s += int(nin[i]-'0') * x
		}
		return s
	}
	return sum(w1)%11 == 0 && sum(w2)%11 == 0
}

func TestIdentityNumbers(t *testing.T) {
	g := newGen(t)
	for range 200 {
		s := g.SyntheticNIN()
		if len(s) != 11 || !mod11ok(s) {
			t.Fatalf("synthetic %q fails mod 11", s)
		}
		if m := int(s[2]-'0')*10 + int(s[3]-'0'); m < 81 || m > 92 {
			t.Fatalf("synthetic %q: month field %d is not +80", s, m)
		}
		r := g.RealNIN()
		if !mod11ok(r) {
			t.Fatalf("real %q fails mod 11", r)
		}
		if m := int(r[2]-'0')*10 + int(r[3]-'0'); m < 1 || m > 12 {
			t.Fatalf("real %q: month field %d", r, m)
		}
	}
	// Known numbers from jft-facts.md §7.
	for _, nin := range []string{"05898597468", "02837999890", "20925297314", "13116900216"} {
		if !mod11ok(nin) {
			t.Errorf("the reference check rejects known-valid %s", nin)
		}
	}
	if mod11ok("12345678901") {
		t.Error("the reference check accepts 12345678901")
	}
}

func TestBadEventsAreWhatTheyClaim(t *testing.T) {
	g := newGen(t)
	bad := g.BadEvents("312229544", 1000)
	if len(bad) < 6 {
		t.Fatalf("only %d bad events", len(bad))
	}
	for _, b := range bad {
		switch b.WantCode {
		case "SIZE_LIMIT":
			if len(b.Value) <= 1000 {
				t.Errorf("%s: %d bytes is not over the limit", b.Name, len(b.Value))
			}
		case "FHIR_CARDINALITY":
			var v map[string]any
			if err := json.Unmarshal(b.Value, &v); err != nil {
				t.Fatalf("%s: %v", b.Name, err)
			}
			if _, ok := v["author"].(map[string]any); !ok {
				t.Errorf("%s: author is %T, want an object", b.Name, v["author"])
			}
		case "INVALID_JSON":
			if json.Valid(b.Value) {
				t.Errorf("%s is valid JSON", b.Name)
			}
		}
	}
}
