package jftsim

import (
	"bytes"
	"encoding/json"
	"sort"
	"strconv"
)

// The WriteAPI's format check (writeapi-overview.txt "Validation"): the body must
// deserialise as FHIR R4, with no missing mandatory elements; identity and organisation
// numbers must suit the environment. JFT's two most common rejections are a single object
// where R4 wants an array and empty values (jft-facts.md §1.4). The element knowledge
// below is written from the R4 specification pages of the three resource types and the
// data types they use; it is deliberately not shared with the gateway's validator.

// ooIssue is an OperationOutcome issue.
type ooIssue struct {
	Severity    string   `json:"severity"`
	Code        string   `json:"code"`
	Diagnostics string   `json:"diagnostics"`
	Expression  []string `json:"expression,omitempty"`
}

// arraysEverywhere are elements that repeat wherever R4 defines them.
var arraysEverywhere = set("coding", "given", "prefix", "suffix", "line", "extension", "modifierExtension",
	"contained", "telecom", "dosageInstruction", "note")

// arraysIn are the repeating elements of each resource type (R4).
var arraysIn = map[string]map[string]bool{
	"Bundle":             set("entry", "link"),
	"Composition":        set("author", "section", "attester", "relatesTo", "event", "category", "entry"),
	"MedicationDispense": set("identifier", "partOf", "supportingInformation", "performer", "authorizingPrescription", "receiver", "detectedIssue", "eventHistory"),
	"Patient":            set("identifier", "name", "address", "contact", "communication", "generalPractitioner", "link", "photo"),
	"Organization":       set("identifier", "type", "alias", "address", "contact", "endpoint"),
	"Practitioner":       set("identifier", "name", "address", "qualification", "communication", "photo"),
}

// singles are elements of each type that must not be arrays.
var singles = map[string]map[string]bool{
	"Bundle":             set("type", "timestamp", "total", "identifier", "signature"),
	"Composition":        set("status", "type", "subject", "encounter", "date", "title", "confidentiality", "custodian"),
	"MedicationDispense": set("status", "medicationCodeableConcept", "medicationReference", "subject", "context", "quantity", "daysSupply", "whenPrepared", "whenHandedOver", "destination", "substitution", "category", "location", "type"),
	"Patient":            set("active", "gender", "birthDate", "maritalStatus", "managingOrganization"),
}

// required are the mandatory elements (min cardinality 1) of the three types.
var required = map[string][]string{
	"Bundle":             {"type"},
	"Composition":        {"status", "type", "date", "author", "title"},
	"MedicationDispense": {"status"},
}

// codes are the required-binding value sets of the three types' status elements.
var codes = map[string]map[string]map[string]bool{
	"Bundle":             {"type": set("document", "message", "transaction", "transaction-response", "batch", "batch-response", "history", "searchset", "collection")},
	"Composition":        {"status": set("preliminary", "final", "amended", "entered-in-error")},
	"MedicationDispense": {"status": set("preparation", "in-progress", "cancelled", "on-hold", "completed", "entered-in-error", "stopped", "declined", "unknown")},
}

const (
	systemFNR   = "urn:oid:2.16.578.1.12.4.1.4.1"
	systemDNR   = "urn:oid:2.16.578.1.12.4.1.4.2"
	systemOrgnr = "urn:oid:2.16.578.1.12.4.1.4.101"
)

func set(xs ...string) map[string]bool {
	m := map[string]bool{}
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// check returns the problems the WriteAPI would report for body posted to /v1/<endpoint>.
func (s *Sim) check(endpoint string, body []byte) []ooIssue {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	// RFC 8259: one value, with white space around it and nothing else.
	if err := dec.Decode(&v); err != nil || len(bytes.TrimLeft(body[dec.InputOffset():], " \t\r\n")) > 0 {
		return []ooIssue{{Severity: "error", Code: "structure", Diagnostics: "The request body is not valid JSON."}}
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return []ooIssue{{Severity: "error", Code: "structure", Diagnostics: "The request body must be a FHIR resource (a JSON object)."}}
	}
	if rt, _ := obj["resourceType"].(string); rt != endpoint {
		return []ooIssue{{Severity: "error", Code: "invalid", Diagnostics: "resourceType does not match the endpoint /v1/" + endpoint + ".", Expression: []string{"resourceType"}}}
	}
	c := &checker{sim: s}
	c.resource(endpoint, endpoint, obj)
	return c.issues
}

type checker struct {
	sim    *Sim
	issues []ooIssue
}

func (c *checker) add(code, path, msg string) {
	if len(c.issues) < 100 {
		c.issues = append(c.issues, ooIssue{Severity: "error", Code: code, Diagnostics: msg, Expression: []string{path}})
	}
}

// resource checks one resource at path.
func (c *checker) resource(path, rt string, obj map[string]any) {
	for _, name := range required[rt] {
		if _, ok := obj[name]; !ok {
			c.add("required", path+"."+name, "Missing mandatory element "+rt+"."+name+".")
		}
	}
	if rt == "MedicationDispense" {
		_, cc := obj["medicationCodeableConcept"]
		_, ref := obj["medicationReference"]
		if cc == ref {
			c.add("required", path+".medication[x]", "Exactly one of medicationCodeableConcept and medicationReference is required.")
		}
	}
	for name, vs := range codes[rt] {
		if v, ok := obj[name].(string); ok && v != "" && !vs[v] {
			c.add("code-invalid", path+"."+name, "The code is not in the required value set of "+rt+"."+name+".")
		}
	}
	if rt == "Bundle" {
		c.bundle(path, obj)
	}
	c.object(path, rt, obj, true)
}

// bundle checks what is particular to Bundles: transaction/batch entries need a request.
func (c *checker) bundle(path string, obj map[string]any) {
	typ, _ := obj["type"].(string)
	entries, _ := obj["entry"].([]any)
	for i, e := range entries {
		em, _ := e.(map[string]any)
		p := path + ".entry[" + strconv.Itoa(i) + "]"
		if typ == "transaction" || typ == "batch" {
			req, _ := em["request"].(map[string]any)
			if req == nil || req["method"] == nil || req["url"] == nil {
				c.add("required", p+".request", "Entries of a transaction or batch need request.method and request.url (bdl-3).")
			}
		}
	}
}

// object walks an object of the nearest resource type rt; top is true for the resource's
// own object, where the per-type element tables apply.
func (c *checker) object(path, rt string, obj map[string]any, top bool) {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if sys, ok := obj["system"].(string); ok {
		if val, ok := obj["value"].(string); ok {
			c.identifier(path+".value", sys, val)
		}
	}
	for _, k := range keys {
		v := obj[k]
		p := path + "." + k
		if len(k) > 1 && k[0] == '_' {
			continue // a primitive's id/extensions
		}
		_, isArr := v.([]any)
		wantArray := arraysEverywhere[k] || (top && arraysIn[rt][k])
		switch {
		case wantArray && !isArr && v != nil:
			c.add("structure", p, "The element "+k+" repeats in FHIR R4 and must be a JSON array.")
		case isArr && top && singles[rt][k]:
			c.add("structure", p, "The element "+k+" does not repeat in FHIR R4 and must not be a JSON array.")
		}
		c.value(p, rt, k, v)
	}
}

// value checks one JSON value: no nulls, empty strings, empty objects or empty arrays.
func (c *checker) value(path, rt, name string, v any) {
	switch x := v.(type) {
	case nil:
		c.add("structure", path, "null is not allowed in FHIR JSON.")
	case string:
		if x == "" {
			c.add("value", path, "Empty strings are not allowed in FHIR JSON.")
		}
	case []any:
		if len(x) == 0 {
			c.add("structure", path, "Empty arrays are not allowed in FHIR JSON.")
		}
		for i, item := range x {
			c.value(path+"["+strconv.Itoa(i)+"]", rt, name, item)
		}
	case map[string]any:
		if len(x) == 0 {
			c.add("structure", path, "Empty objects are not allowed in FHIR JSON.")
			return
		}
		if inner, ok := x["resourceType"].(string); ok && (name == "resource" || name == "contained") {
			c.resource(path, inner, x)
			return
		}
		c.object(path, rt, x, false)
	}
}

// identifier applies the environment's policy to identity and organisation numbers.
func (c *checker) identifier(path, system, value string) {
	s := c.sim
	switch system {
	case systemFNR, systemDNR:
		switch judgeNIN(value, s.cfg.SyntheticNINMonthOffsets) {
		case ninInvalid:
			c.add("value", path, "The national identity number is not valid.")
		case ninReal:
			if s.cfg.Environment == "test" {
				c.add("business-rule", path, "Only synthetic national identity numbers are accepted in the test environment.")
			}
		case ninSynthetic:
			if s.cfg.Environment == "prod" {
				c.add("business-rule", path, "Synthetic national identity numbers are not accepted in production.")
			}
		}
	case systemOrgnr:
		switch {
		case !orgnrValid(value):
			c.add("value", path, "The organization number is not valid.")
		case s.cfg.Environment == "test" && !s.orgnrSynthetic(value):
			c.add("business-rule", path, "Only synthetic organization numbers are accepted in the test environment.")
		case s.cfg.Environment == "prod" && s.orgnrSynthetic(value):
			c.add("business-rule", path, "Synthetic organization numbers are not accepted in production.")
		}
	}
}
