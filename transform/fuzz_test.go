package transform

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jft-gateway/jft-gateway/internal/jft"
	"github.com/jft-gateway/jft-gateway/internal/samples"
	"github.com/jft-gateway/jft-gateway/internal/tenants"
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

// FuzzDecodeAgreesWithEncodingJSON: decode (jsontext, one pass) reads every document as
// encoding/json's Decoder with UseNumber does, with nothing but white space after it: the
// same tree, or a refusal of the same inputs.
func FuzzDecodeAgreesWithEncodingJSON(f *testing.F) {
	for _, b := range fixtures(f) {
		if len(b) < 20000 {
			f.Add(b)
		}
	}
	for _, s := range []string{
		`{"a":1,"a":2}`, `{"a":{"b":1},"a":[true,false,null]}`, `{"s":"\ud800x\udc00\ud83d\ude00"}`,
		`{"n":[1e400,-0,1.0,0.1e-7,12345678901234567890123]}`, `{"e":"\u0041\n\"\\\/"}`,
		`{} }`, `{} {}`, `{}  `, ` {"a":[]} `, `[1]`, `"x"`, `{"a":01}`, `{"a":1,}`, `{"a" 1}`, ``, `{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decode(b)
		if !utf8.Valid(b) {
			if err == nil {
				t.Fatal("invalid UTF-8 accepted")
			}
			return
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var want any
		wantErr := dec.Decode(&want)
		if wantErr == nil && len(bytes.TrimLeft(b[dec.InputOffset():], " \t\r\n")) > 0 {
			wantErr = errors.New("data after the value")
		}
		wantObj, isObj := want.(map[string]any)
		switch {
		case wantErr != nil:
			if jft.CodeOf(err) != jft.CodeInvalidJSON {
				t.Fatalf("encoding/json refuses (%v), decode gives %v", wantErr, err)
			}
		case !isObj:
			if jft.CodeOf(err) != jft.CodeFHIRStructure {
				t.Fatalf("not an object, decode gives %v", err)
			}
		case err != nil:
			t.Fatalf("encoding/json reads it, decode refuses: %v", err)
		default:
			if g := generic(t, got); !reflect.DeepEqual(g, wantObj) {
				t.Fatalf("trees differ:\n got %#v\nwant %#v", g, wantObj)
			}
		}
	})
}

// generic turns decode's tree into encoding/json's (maps and slices), checking on the way
// that every object's names are in byte order and unique.
func generic(t *testing.T, v any) any {
	switch x := v.(type) {
	case *object:
		m := make(map[string]any, len(*x))
		for i, mb := range *x {
			if i > 0 && (*x)[i-1].name >= mb.name {
				t.Fatalf("names %q, %q out of order or repeated", (*x)[i-1].name, mb.name)
			}
			if got, ok := x.lookup(mb.name); !ok || got != mb.value { // identity: values are comparable
				t.Fatalf("lookup(%q) misses its member", mb.name)
			}
			m[mb.name] = generic(t, mb.value)
		}
		return m
	case *array:
		a := make([]any, len(*x))
		for i, item := range *x {
			a[i] = generic(t, item)
		}
		return a
	}
	return v
}

// FuzzFormatScansMatchTheSpec: each primitive format checked by a scan of the bytes
// (formatChecks) accepts exactly what its R4 regular expression does.
func FuzzFormatScansMatchTheSpec(f *testing.F) {
	for _, b := range fixtures(f) {
		var doc any
		if len(b) < 200000 && json.Unmarshal(b, &doc) == nil {
			for _, s := range stringsIn(doc) {
				f.Add(s)
			}
		}
	}
	for _, s := range []string{"", " ", "a b", "a  b", " a", "a ", "a\tb", "a\u00a0b", "æøå", "a\x0bb", "a\fb",
		strings.Repeat("a", 64), strings.Repeat("a", 65), "A-z.09", "a_b", "a/b", "a\nb", "ab\r"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, typ := range []string{"uri", "url", "canonical", "code", "id"} {
			if got, want := formatChecks[typ](s), primitiveFormats[typ].MatchString(s); got != want {
				t.Fatalf("%s %q: scan says %v, the R4 expression %v", typ, s, got, want)
			}
		}
	})
}

// stringsIn returns the string values in a decoded JSON document.
func stringsIn(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, i := range x {
			out = append(out, stringsIn(i)...)
		}
		return out
	case map[string]any:
		var out []string
		for _, i := range x {
			out = append(out, stringsIn(i)...)
		}
		return out
	}
	return nil
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

// BenchmarkTransformBenchEvents reports validation cost on jft-bench's event mix (the
// samples generator: Bundles, Compositions and MedicationDispenses in turn), the events
// behind docs/performance.md's CPU per record.
func BenchmarkTransformBenchEvents(b *testing.B) {
	tr := newT(b, "test")
	gen, err := samples.NewGenerator(7, tenants.SyntheticOrgnrs(50), time.Now())
	if err != nil {
		b.Fatal(err)
	}
	inputs := make([]Input, 300)
	total := 0
	for i := range inputs {
		ev := gen.Next(i)
		inputs[i] = event(ev.Tenant, ev.Value)
		total += len(ev.Value)
	}
	b.SetBytes(int64(total / len(inputs)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := tr.Transform(inputs[i%len(inputs)]); err != nil {
			b.Fatal(err)
		}
	}
}
