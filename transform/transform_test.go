package transform

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/jft-gateway/jft-gateway/internal/jft"
)

func newT(t testing.TB, env string) *Transformer {
	t.Helper()
	tr, err := New(Config{Environment: env, MaxBodyBytes: 1000000, SyntheticOrgnrPrefixes: []string{"2", "3"},
		SyntheticNINMonthOffsets: []int{65, 80}, UnknownElements: ModeReject, BundleResources: ModeReject, UnknownResourceTypes: ModeWarn})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func event(key string, value []byte) Input {
	return Input{Kind: jft.KindEvent, Key: []byte(key), Value: value}
}

// knownInvalid lists fixtures that are not valid R4 (or not valid for the environment),
// with the code they must get. See transform/README.md.
var knownInvalid = map[string]jft.Code{
	// Encounter.status "active" is not in R4's encounter-status value set (it was in
	// STU3's); the Bundle also carries a 10-digit organisation number.
	"no-basis/Bundle-LegemiddelregisterBundle-1.json": jft.CodeFHIRCode,
	// A synthetic patient with the real organisation numbers of real pharmacies: fine for
	// an implementation guide, but valid in neither JFT environment.
	"no-basis/Bundle-Bundle-Scenario-Sykehjem-Oksykodon.json": jft.CodeOrgnrRealInTest,
}

func TestOfficialExamplesPass(t *testing.T) {
	prod, test := newT(t, "prod"), newT(t, "test")
	for name, b := range fixtures(t) {
		t.Run(name, func(t *testing.T) {
			tr, tenant := prod, "915933149"
			if strings.HasPrefix(name, "no-basis/") {
				// Norwegian examples carry synthetic identity numbers: the test environment.
				tr, tenant = test, "312229544"
			}
			cmd, err := tr.Transform(event(tenant, b))
			if want, bad := knownInvalid[name]; bad {
				for _, is := range jft.AsError(err).Issues {
					if is.Code == want {
						return
					}
				}
				t.Fatalf("issues %+v, want one with %s", jft.AsError(err).Issues, want)
			}
			if err != nil {
				t.Fatalf("valid R4 example rejected: %v %+v", err, jft.AsError(err).Issues)
			}
			if &cmd.Body[0] != &b[0] || len(cmd.Body) != len(b) {
				t.Error("the command does not carry the original bytes")
			}
		})
	}
}

func composition(t testing.TB) map[string]any {
	t.Helper()
	return load(t, "official/Composition-example.json")
}

func dispense(t testing.TB) map[string]any {
	t.Helper()
	return load(t, "official/MedicationDispense-meddisp0307.json")
}

func load(t testing.TB, name string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(fixtures(t)[name], &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func enc(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestStructuralRules mutates valid official examples once each.
func TestStructuralRules(t *testing.T) {
	tests := []struct {
		name     string
		base     func(testing.TB) map[string]any
		mutate   func(m map[string]any)
		wantCode jft.Code
		wantPath string
	}{
		{"missing required status", composition, func(m map[string]any) { delete(m, "status") }, jft.CodeFHIRRequired, "Composition.status"},
		{"single author object where R4 wants an array", composition, func(m map[string]any) { m["author"] = m["author"].([]any)[0] }, jft.CodeFHIRCardinality, "Composition.author"},
		{"array where R4 wants one value", composition, func(m map[string]any) { m["title"] = []any{"a", "b"} }, jft.CodeFHIRCardinality, "Composition.title"},
		{"empty string", composition, func(m map[string]any) { m["title"] = "" }, jft.CodeFHIREmpty, "Composition.title"},
		{"empty object", composition, func(m map[string]any) { m["type"] = map[string]any{} }, jft.CodeFHIREmpty, "Composition.type"},
		{"empty array", composition, func(m map[string]any) { m["section"] = []any{} }, jft.CodeFHIREmpty, "Composition.section"},
		{"misspelt element", composition, func(m map[string]any) { m["stauts"] = "final" }, jft.CodeFHIRUnknown, "Composition.stauts"},
		{"code outside the required value set", composition, func(m map[string]any) { m["status"] = "bogus" }, jft.CodeFHIRCode, "Composition.status"},
		{"wrong case code", composition, func(m map[string]any) { m["status"] = "Final" }, jft.CodeFHIRCode, "Composition.status"},
		{"number where a string belongs", composition, func(m map[string]any) { m["title"] = 12 }, jft.CodeFHIRStructure, "Composition.title"},
		{"unknown modifier extension", composition, func(m map[string]any) {
			m["modifierExtension"] = []any{map[string]any{"url": "http://example.org/x", "valueBoolean": true}}
		}, jft.CodeFHIRModifierExt, "Composition.modifierExtension"},
		{"nested attester mode bogus", composition, func(m map[string]any) {
			m["attester"].([]any)[0].(map[string]any)["mode"] = "bogus"
		}, jft.CodeFHIRCode, "Composition.attester[0].mode"},
		{"no medication[x]", dispense, func(m map[string]any) { delete(m, "medicationCodeableConcept") }, jft.CodeFHIRChoice, "MedicationDispense.medication[x]"},
		{"two medication[x]", dispense, func(m map[string]any) {
			m["medicationReference"] = map[string]any{"reference": "Medication/1"}
		}, jft.CodeFHIRChoice, "MedicationDispense.medication[x]"},
		{"decimal sent as a string", dispense, func(m map[string]any) {
			m["quantity"].(map[string]any)["value"] = "12"
		}, jft.CodeFHIRStructure, "MedicationDispense.quantity.value"},
		{"null value", dispense, func(m map[string]any) { m["whenHandedOver"] = nil }, jft.CodeFHIREmpty, "MedicationDispense.whenHandedOver"},
		{"status outside its required value set (from the generated tables)", dispense, func(m map[string]any) { m["status"] = "bogus" }, jft.CodeFHIRCode, "MedicationDispense.status"},
		{"confidentiality outside v3 Confidentiality", composition, func(m map[string]any) { m["confidentiality"] = "XYZ" }, jft.CodeFHIRCode, "Composition.confidentiality"},
		{"impossible date", composition, func(m map[string]any) { m["date"] = "2012-13-45" }, jft.CodeFHIRFormat, "Composition.date"},
		{"dateTime in words", dispense, func(m map[string]any) { m["whenHandedOver"] = "yesterday" }, jft.CodeFHIRFormat, "MedicationDispense.whenHandedOver"},
		{"unresolved contained reference", dispense, func(m map[string]any) {
			delete(m, "medicationCodeableConcept")
			m["medicationReference"] = map[string]any{"reference": "#nowhere"}
		}, jft.CodeFHIRReference, "MedicationDispense.medicationReference.reference"},
	}
	tr := newT(t, "prod")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.base(t)
			tt.mutate(m)
			_, err := tr.Transform(event("915933149", enc(t, m)))
			e := jft.AsError(err)
			if err == nil || !e.Permanent {
				t.Fatalf("accepted (err %v)", err)
			}
			for _, is := range e.Issues {
				if is.Code == tt.wantCode && is.Path == tt.wantPath {
					return
				}
			}
			t.Fatalf("issues %+v, want %s at %s", e.Issues, tt.wantCode, tt.wantPath)
		})
	}
}

func TestBundleReferencesResolve(t *testing.T) {
	tr := newT(t, "test")
	b := []byte(`{"resourceType":"Bundle","type":"transaction","entry":[
	 {"fullUrl":"urn:uuid:0f6c2d3e-1b2a-4c5d-8e9f-0a1b2c3d4e5f","resource":{"resourceType":"Patient","gender":"female"},"request":{"method":"POST","url":"Patient"}},
	 {"fullUrl":"urn:uuid:1f6c2d3e-1b2a-4c5d-8e9f-0a1b2c3d4e5f","resource":{"resourceType":"MedicationDispense","status":"completed",
	   "medicationCodeableConcept":{"text":"x"},"subject":{"reference":"urn:uuid:9f6c2d3e-1b2a-4c5d-8e9f-0a1b2c3d4e5f"}},"request":{"method":"POST","url":"MedicationDispense"}}]}`)
	_, err := tr.Transform(event("312229544", b))
	e := jft.AsError(err)
	if e.Code != jft.CodeFHIRReference || e.Issues[0].Path != "Bundle.entry[1].resource.subject.reference" {
		t.Fatalf("err %v issues %+v", err, e.Issues)
	}
	fixed := bytes.Replace(b, []byte("urn:uuid:9f6c"), []byte("urn:uuid:0f6c"), 1)
	if _, err := tr.Transform(event("312229544", fixed)); err != nil {
		t.Fatalf("resolving reference rejected: %v %+v", err, jft.AsError(err).Issues)
	}
}

func TestEveryProblemIsListed(t *testing.T) {
	m := composition(t)
	delete(m, "status")
	m["title"] = ""
	m["author"] = m["author"].([]any)[0]
	_, err := newT(t, "prod").Transform(event("915933149", enc(t, m)))
	if n := len(jft.AsError(err).Issues); n != 3 {
		t.Fatalf("%d issues, want 3: %+v", n, jft.AsError(err).Issues)
	}
}

func TestIdentityNumberPolicy(t *testing.T) {
	withNIN := func(system, value string) []byte {
		return []byte(`{"resourceType":"Composition","status":"final","type":{"text":"note"},"date":"2026-01-01",
		 "author":[{"display":"x"}],"title":"t","subject":{"identifier":{"system":"` + system + `","value":"` + value + `"}}}`)
	}
	tests := []struct {
		name, env, tenant, system, value string
		want                             jft.Code
	}{
		{"synthetic +80 in test", "test", "312229544", SystemFNR, "05898597468", ""},
		{"synthetic +80 in prod", "prod", "915933149", SystemFNR, "05898597468", jft.CodeNINSyntheticInProd},
		{"real in test", "test", "312229544", SystemFNR, "13116900216", jft.CodeNINRealInTest},
		{"real in prod", "prod", "915933149", SystemFNR, "13116900216", ""},
		{"bad checksum", "test", "312229544", SystemFNR, "12345678901", jft.CodeNINChecksum},
		{"too short", "test", "312229544", SystemFNR, "1234567890", jft.CodeNINFormat},
		{"other systems are not checked", "test", "312229544", "urn:oid:2.16.578.1.12.4.1.4.4", "12345678901", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newT(t, tt.env).Transform(event(tt.tenant, withNIN(tt.system, tt.value)))
			if got := jft.CodeOf(err); got != tt.want {
				t.Fatalf("code %q, want %q (%+v)", got, tt.want, jft.AsError(err).Issues)
			}
			if err != nil && strings.Contains(err.Error()+jft.AsError(err).Issues[0].Message, tt.value) {
				t.Error("the error names the identity number")
			}
		})
	}
}

func TestParseNIN(t *testing.T) {
	tests := []struct {
		nin       string
		code      jft.Code
		kind      NINKind
		synthetic bool
	}{
		{"05898597468", "", KindFNR, true},  // +80
		{"02837999890", "", KindFNR, true},  // +80
		{"20925297314", "", KindFNR, true},  // +80, December
		{"13116900216", "", KindFNR, false}, // real-looking
		{"12345678901", jft.CodeNINChecksum, 0, false},
		{"1311690021", jft.CodeNINFormat, 0, false},
		{"1311690021x", jft.CodeNINFormat, 0, false},
	}
	for _, tt := range tests {
		n, code := ParseNIN(tt.nin, []int{65, 80})
		if code != tt.code || (code == "" && (n.Kind != tt.kind || n.Synthetic != tt.synthetic)) {
			t.Errorf("%s: %+v %q, want kind %v synthetic %v code %q", tt.nin, n, code, tt.kind, tt.synthetic, tt.code)
		}
	}
	// Made numbers: D-number, H-number, +65, D + synthetic, an invalid date.
	made := []struct {
		nine      string
		code      jft.Code
		kind      NINKind
		synthetic bool
	}{
		{"530185975", "", KindDNR, false},               // day 13+40
		{"134185975", "", KindHNR, false},               // month 1+40
		{"136685975", "", KindFNR, true},                // month 1+65
		{"538185975", "", KindDNR, true},                // D and +80
		{"310285975", jft.CodeNINInvalidDate, 0, false}, // 31 February
		{"290200475", jft.CodeNINInvalidDate, 0, false}, // 1900 is not a leap year
		{"290204475", "", KindFNR, false},               // 2004 is (individual 475 → 1900s: 1904)
	}
	for _, m := range made {
		nin, ok := withChecks(m.nine)
		if !ok {
			continue // no valid check digit for these nine; the table keeps the rest
		}
		n, code := ParseNIN(nin, []int{65, 80})
		if code != m.code || (code == "" && (n.Kind != m.kind || n.Synthetic != m.synthetic)) {
			t.Errorf("%s: %+v %q, want kind %v synthetic %v code %q", nin, n, code, m.kind, m.synthetic, m.code)
		}
	}
}

// withChecks appends classic (remainder 0) check digits, as a test-side reference.
func withChecks(nine string) (string, bool) {
	d := []int{}
	for _, c := range nine {
		d = append(d, int(c-'0'))
	}
	k := func(w []int) int {
		s := 0
		for i, x := range w {
			s += d[i] * x
		}
		r := 11 - s%11
		if r == 11 {
			r = 0
		}
		return r
	}
	k1 := k([]int{3, 7, 6, 1, 8, 9, 4, 5, 2})
	if k1 == 10 {
		return "", false
	}
	d = append(d, k1)
	k2 := k([]int{5, 4, 3, 2, 7, 6, 5, 4, 3, 2})
	if k2 == 10 {
		return "", false
	}
	return nine + string(rune('0'+k1)) + string(rune('0'+k2)), true
}

func TestCheckOrgnr(t *testing.T) {
	for s, want := range map[string]jft.Code{
		"312229544": "", "310163449": "", "212201782": "", "915933149": "", "889640782": "", "974760673": "",
		"314159265": jft.CodeOrgnrChecksum, "31222954": jft.CodeOrgnrFormat, "3122295440": jft.CodeOrgnrFormat, "31222954a": jft.CodeOrgnrFormat,
	} {
		if got := CheckOrgnr(s); got != want {
			t.Errorf("%s: %q, want %q", s, got, want)
		}
	}
}

func TestRecordLevelRules(t *testing.T) {
	valid := fixtures(t)["official/Composition-example.json"]
	big := make([]byte, 1000001)
	tests := []struct {
		name   string
		in     Input
		want   jft.Code
		tenant string
	}{
		{"no key", Input{Kind: jft.KindEvent, Value: valid}, jft.CodeTenantMissing, ""},
		{"bad tenant checksum", event("314159265", valid), jft.CodeTenantInvalid, "314159265"},
		{"header overrides key", Input{Kind: jft.KindEvent, Key: []byte("junk"), Value: valid, Headers: []Header{{Key: "jft-tenant", Value: []byte("915933149")}}}, "", "915933149"},
		{"synthetic tenant in prod", event("312229544", valid), jft.CodeOrgnrSynthInProd, "312229544"},
		{"over the size limit, not parsed", event("915933149", big), jft.CodeSizeLimit, "915933149"},
		{"not JSON", event("915933149", []byte(`{"resourceType":`)), jft.CodeInvalidJSON, "915933149"},
		{"trailing data", event("915933149", append(append([]byte{}, valid...), []byte(" {}")...)), jft.CodeInvalidJSON, "915933149"},
		{"trailing stray brace", event("915933149", append(append([]byte{}, valid...), []byte("\n}")...)), jft.CodeInvalidJSON, "915933149"},
		{"trailing white space", event("915933149", append(append([]byte{}, valid...), []byte(" \r\n\t")...)), "", "915933149"},
		{"not an object", event("915933149", []byte(`["Composition"]`)), jft.CodeFHIRStructure, "915933149"},
		{"unsupported type", event("915933149", []byte(`{"resourceType":"Patient"}`)), jft.CodeUnsupportedResource, "915933149"},
		{"bad source system header", Input{Kind: jft.KindEvent, Key: []byte("915933149"), Value: valid, Headers: []Header{{Key: "nhn-source-system", Value: []byte("a\nb")}}}, jft.CodeHeaderInvalid, ""},
	}
	tr := newT(t, "prod")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd, err := tr.Transform(tt.in)
			if got := jft.CodeOf(err); got != tt.want {
				t.Fatalf("code %q, want %q (%v)", got, tt.want, err)
			}
			if cmd.Tenant != tt.tenant {
				t.Errorf("tenant %q, want %q", cmd.Tenant, tt.tenant)
			}
		})
	}
}

func TestAcknowledgements(t *testing.T) {
	tr := newT(t, "test")
	ack := func(v string) Input {
		return Input{Kind: jft.KindAcknowledgement, Key: []byte("312229544"), Value: []byte(v)}
	}
	cmd, err := tr.Transform(ack(`{"resourceType":"MedicationDispense","resourceId":"0f6c2d3e-1b2a-4c5d-8e9f-0a1b2c3d4e5f"}`))
	if err != nil || cmd.ResourceID != "0f6c2d3e-1b2a-4c5d-8e9f-0a1b2c3d4e5f" || cmd.Body != nil || cmd.Kind != jft.KindAcknowledgement {
		t.Fatalf("%+v %v", cmd, err)
	}
	for _, bad := range []string{
		`{"resourceType":"Patient","resourceId":"0f6c2d3e-1b2a-4c5d-8e9f-0a1b2c3d4e5f"}`,
		`{"resourceType":"Bundle","resourceId":"123"}`,
		`{"resourceType":"Bundle","resourceId":"0f6c2d3e-1b2a-4c5d-8e9f-0a1b2c3d4e5f","extra":1}`,
		`not json`,
	} {
		if _, err := tr.Transform(ack(bad)); jft.CodeOf(err) != jft.CodeAckInvalid {
			t.Errorf("%s: %v, want ACK_INVALID", bad, err)
		}
	}
}

func TestRuleClassesCanWarn(t *testing.T) {
	bundle := []byte(`{"resourceType":"Bundle","type":"collection","entry":[
	 {"resource":{"resourceType":"Patient","gender":"","identifier":[{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":"05898597468"}]}},
	 {"resource":{"resourceType":"ImagingStudy","status":"available"}}]}`)
	mk := func(bundleResources, unknownTypes string) *Transformer {
		tr, err := New(Config{Environment: "prod", MaxBodyBytes: 1000000, SyntheticOrgnrPrefixes: []string{"2", "3"},
			SyntheticNINMonthOffsets: []int{65, 80}, UnknownElements: ModeReject, BundleResources: bundleResources, UnknownResourceTypes: unknownTypes})
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	// Strict: the empty gender inside the Patient rejects, the synthetic NIN too.
	_, err := mk(ModeReject, ModeWarn).Transform(event("915933149", bundle))
	codes := map[jft.Code]bool{}
	for _, is := range jft.AsError(err).Issues {
		codes[is.Code] = true
	}
	if !codes[jft.CodeFHIREmpty] || !codes[jft.CodeNINSyntheticInProd] {
		t.Fatalf("strict: %+v", jft.AsError(err).Issues)
	}
	// Lenient on Bundle resources: the empty gender becomes a warning; the identity-number
	// policy still rejects.
	_, err = mk(ModeWarn, ModeWarn).Transform(event("915933149", bundle))
	for _, is := range jft.AsError(err).Issues {
		if is.Code == jft.CodeFHIREmpty {
			t.Fatalf("lenient mode still rejects a structural finding inside a Patient: %+v", is)
		}
	}
	if jft.CodeOf(err) != jft.CodeNINSyntheticInProd {
		t.Fatalf("lenient mode dropped the identity-number policy: %v", err)
	}
	// Unknown resource types: a warning by default, an error when configured.
	fixed := bytes.Replace(bytes.Replace(bundle, []byte(`"gender":"",`), nil, 1), []byte("05898597468"), []byte("13116900216"), 1)
	cmd, err := mk(ModeReject, ModeWarn).Transform(event("915933149", fixed))
	if err != nil || len(cmd.Warnings) != 1 || cmd.Warnings[0].Path != "Bundle.entry[1].resource" {
		t.Fatalf("unknown type as warning: %v %+v", err, cmd.Warnings)
	}
	if _, err := mk(ModeReject, ModeReject).Transform(event("915933149", fixed)); jft.CodeOf(err) != jft.CodeFHIRStructure {
		t.Fatalf("unknown type as error: %v", err)
	}
}

func TestUnknownElementsCanWarn(t *testing.T) {
	tr, err := New(Config{Environment: "prod", MaxBodyBytes: 1000000, SyntheticOrgnrPrefixes: []string{"2", "3"}, UnknownElements: ModeWarn, BundleResources: ModeReject, UnknownResourceTypes: ModeWarn})
	if err != nil {
		t.Fatal(err)
	}
	m := composition(t)
	m["stauts"] = "final"
	cmd, err := tr.Transform(event("915933149", enc(t, m)))
	if err != nil || len(cmd.Warnings) != 1 || cmd.Warnings[0].Code != jft.CodeFHIRUnknown {
		t.Fatalf("err %v warnings %+v", err, cmd.Warnings)
	}
}

func TestConfigValidate(t *testing.T) {
	good := Config{Environment: "test", MaxBodyBytes: 1000000, SyntheticOrgnrPrefixes: []string{"2", "3"}, SyntheticNINMonthOffsets: []int{65, 80}, UnknownElements: ModeReject, BundleResources: ModeReject, UnknownResourceTypes: ModeWarn}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, tt := range map[string]struct {
		mut  func(*Config)
		want string
	}{
		"environment required":           {func(c *Config) { c.Environment = "" }, "JFT_ENVIRONMENT"},
		"tiny limit":                     {func(c *Config) { c.MaxBodyBytes = 10 }, "JFT_MAX_BODY_BYTES"},
		"prefix not digits":              {func(c *Config) { c.SyntheticOrgnrPrefixes = []string{"x"} }, "JFT_SYNTHETIC_ORGNR_PREFIXES"},
		"offset collides with H-numbers": {func(c *Config) { c.SyntheticNINMonthOffsets = []int{40} }, "JFT_SYNTHETIC_NIN_MONTH_OFFSETS"},
		"bad mode":                       {func(c *Config) { c.UnknownElements = "ignore" }, "JFT_RULE_UNKNOWN_ELEMENTS"},
	} {
		c := good
		tt.mut(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error naming %s", name, err, tt.want)
		}
	}
}

// TestFormatsInsideDataTypes: primitive formats are checked below the resource's own
// elements, through the tables of the complex data types (Period, Meta, Identifier,
// HumanName, Timing) and of the resource types found in Bundles (Patient, Observation).
func TestFormatsInsideDataTypes(t *testing.T) {
	bundle := func(resource string) []byte {
		return []byte(`{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"urn:uuid:0b7c9d1e-3f2a-4b5c-8d6e-7f8091a2b3c4","resource":` + resource + `}]}`)
	}
	tests := []struct {
		name     string
		value    func(t *testing.T) []byte
		wantPath string
	}{
		{"Period.start in a Composition's event", func(t *testing.T) []byte {
			m := composition(t)
			m["event"] = []any{map[string]any{"period": map[string]any{"start": "2012-13-45"}}}
			return enc(t, m)
		}, "Composition.event[0].period.start"},
		{"Meta.lastUpdated must be an instant", func(t *testing.T) []byte {
			m := composition(t)
			m["meta"] = map[string]any{"lastUpdated": "2020-01-01"}
			return enc(t, m)
		}, "Composition.meta.lastUpdated"},
		{"Identifier.system must be a uri", func(t *testing.T) []byte {
			m := dispense(t)
			m["identifier"] = []any{map[string]any{"system": "not a uri", "value": "1"}}
			return enc(t, m)
		}, "MedicationDispense.identifier[0].system"},
		{"Timing.event in a dosage", func(t *testing.T) []byte {
			m := dispense(t)
			m["dosageInstruction"] = []any{map[string]any{"timing": map[string]any{"event": []any{"at noon"}}}}
			return enc(t, m)
		}, "MedicationDispense.dosageInstruction[0].timing.event[0]"},
		{"Patient.birthDate in a Bundle", func(*testing.T) []byte {
			return bundle(`{"resourceType":"Patient","birthDate":"1990-02-3x"}`)
		}, "Bundle.entry[0].resource.birthDate"},
		{"HumanName.period.end in a Bundle's Patient", func(*testing.T) []byte {
			return bundle(`{"resourceType":"Patient","name":[{"family":"Nordmann","period":{"end":"yesterday"}}]}`)
		}, "Bundle.entry[0].resource.name[0].period.end"},
		{"Observation.effectiveDateTime in a Bundle", func(*testing.T) []byte {
			return bundle(`{"resourceType":"Observation","status":"final","code":{"text":"puls"},"effectiveDateTime":"24.11.2026"}`)
		}, "Bundle.entry[0].resource.effectiveDateTime"},
	}
	tr := newT(t, "test")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tr.Transform(event("312229544", tt.value(t)))
			e := jft.AsError(err)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, is := range e.Issues {
				if is.Code == jft.CodeFHIRFormat && is.Path == tt.wantPath {
					return
				}
			}
			t.Fatalf("issues %+v, want %s at %s", e.Issues, jft.CodeFHIRFormat, tt.wantPath)
		})
	}
}

// TestIssuesComeInTheSameOrder: the same input gives the same issues in the same order, so
// results are stable across redeliveries and instances.
func TestIssuesComeInTheSameOrder(t *testing.T) {
	tr := newT(t, "test")
	in := event("312229544", []byte(`{"resourceType":"Composition","section":[{"entry":[{}]}],"attester":[{}],"relatesTo":[{}]}`))
	_, err := tr.Transform(in)
	first := fmt.Sprint(jft.AsError(err).Issues)
	if len(jft.AsError(err).Issues) < 5 {
		t.Fatalf("want several issues, got %v", first)
	}
	for range 30 {
		_, err := tr.Transform(in)
		if got := fmt.Sprint(jft.AsError(err).Issues); got != first {
			t.Fatalf("issues changed order:\n%s\n%s", first, got)
		}
	}
}
