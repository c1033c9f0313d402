package transform

import (
	"fmt"
	"strings"
	"testing"
)

// TestWorkGrowsLinearly feeds shapes that make naive validators quadratic or worse (deep
// nesting, wide objects, long strings, many Bundle entries, many issues) at size n and 4n,
// and compares the allocations, which count work without a clock: 4× the input may cost
// at most 6× the allocations.
func TestWorkGrowsLinearly(t *testing.T) {
	tr := newT(t, "test")
	shapes := map[string]func(n int) string{
		"deep nesting": func(n int) string {
			return `{"resourceType":"Composition","extension":` + strings.Repeat(`[`, n) + strings.Repeat(`]`, n) + `}`
		},
		"wide object of unknown elements": func(n int) string {
			var b strings.Builder
			b.WriteString(`{"resourceType":"Composition"`)
			for i := range n {
				fmt.Fprintf(&b, `,"x%d":%d`, i, i)
			}
			return b.String() + `}`
		},
		"long string": func(n int) string {
			return `{"resourceType":"Composition","status":"final","title":"` + strings.Repeat(`a\u00e6`, n) + `"}`
		},
		"many bundle entries": func(n int) string {
			e := `{"fullUrl":"urn:uuid:%08d-0000-4000-8000-000000000000","resource":{"resourceType":"Patient","id":"p%d","gender":"other"}}`
			parts := make([]string, n)
			for i := range n {
				parts[i] = fmt.Sprintf(e, i, i)
			}
			return `{"resourceType":"Bundle","type":"collection","entry":[` + strings.Join(parts, ",") + `]}`
		},
		"many references to resolve": func(n int) string {
			e := `{"fullUrl":"urn:uuid:%08d-0000-4000-8000-000000000000","resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"urn:uuid:%08d-0000-4000-8000-000000000000"}}}`
			parts := make([]string, n)
			for i := range n {
				parts[i] = fmt.Sprintf(e, i, (i+1)%n)
			}
			return `{"resourceType":"Bundle","type":"collection","entry":[` + strings.Join(parts, ",") + `]}`
		},
	}
	for name, shape := range shapes {
		t.Run(name, func(t *testing.T) {
			small, large := []byte(shape(500)), []byte(shape(2000))
			a := testing.AllocsPerRun(3, func() { _, _ = tr.Transform(event("312229544", small)) })
			b := testing.AllocsPerRun(3, func() { _, _ = tr.Transform(event("312229544", large)) })
			t.Logf("%d bytes: %.0f allocations; %d bytes: %.0f", len(small), a, len(large), b)
			if b > 6*a+50 {
				t.Errorf("%d bytes: %.0f allocations; %d bytes: %.0f (%.1f×)", len(small), a, len(large), b, b/a)
			}
		})
	}
}
