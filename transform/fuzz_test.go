package transform

import (
	"testing"

	"github.com/jft-gateway/jft-gateway/internal/jft"
)

// FuzzTransform: any bytes give a command or a permanent coded error, never a panic, and
// an accepted event is forwarded byte for byte.
func FuzzTransform(f *testing.F) {
	for _, b := range fixtures(f) {
		if len(b) < 20000 {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"resourceType":"Composition","status":"final"}`))
	f.Add([]byte(`{"resourceType":"Bundle","entry":[{"resource":"x"}]}`))
	tr := newT(f, "test")
	f.Fuzz(func(t *testing.T, b []byte) {
		cmd, err := tr.Transform(event("312229544", b))
		if err != nil {
			if !jft.IsPermanent(err) || jft.CodeOf(err) == jft.CodeInternal {
				t.Fatalf("error is not a permanent coded error: %v", err)
			}
			return
		}
		if string(cmd.Body) != string(b) {
			t.Fatal("accepted event not forwarded verbatim")
		}
	})
}

// FuzzParseNIN: never panics; anything accepted is 11 digits.
func FuzzParseNIN(f *testing.F) {
	for _, s := range []string{"05898597468", "13116900216", "12345678901", "530185975xx", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if _, code := ParseNIN(s, []int{65, 80}); code == "" && len(s) != 11 {
			t.Fatalf("accepted %q", s)
		}
		if code := CheckOrgnr(s); code == "" && len(s) != 9 {
			t.Fatalf("orgnr accepted %q", s)
		}
	})
}

// BenchmarkTransform reports validation throughput on the official examples of the three
// types (MB/s via SetBytes; events/s = 1e9 / ns/op × events per op).
func BenchmarkTransform(b *testing.B) {
	tr := newT(b, "prod")
	var inputs []Input
	total := 0
	for name, v := range fixtures(b) {
		if name[:9] == "official/" {
			inputs = append(inputs, event("915933149", v))
			total += len(v)
		}
	}
	b.SetBytes(int64(total))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		for _, in := range inputs {
			if _, err := tr.Transform(in); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(len(inputs))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
