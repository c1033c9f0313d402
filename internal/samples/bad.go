package samples

import (
	"bytes"
	"strings"
)

// Bad is a deliberately bad input and the error code the gateway must give it.
type Bad struct {
	Name     string
	Key      string
	Value    []byte
	WantCode string
}

// BadEvents returns one bad event per common mistake, for tenant, in the test environment.
// maxBytes is the configured size limit, so the oversized event is just over it.
func (g *Generator) BadEvents(tenant string, maxBytes int) []Bad {
	valid := string(g.Make("Composition", tenant, g.SyntheticNIN()).Value)
	// Just over the limit: a valid Composition padded in its title.
	oversized := g.Make("Composition", tenant, g.SyntheticNIN()).Value
	pad := bytes.Repeat([]byte("x"), maxBytes+1-len(oversized)+len("Trygghetsalarm utløst"))
	oversized = bytes.Replace(oversized, []byte("Trygghetsalarm utløst"), pad, 1)
	return []Bad{
		{Name: "not JSON", Key: tenant, Value: []byte(`{"resourceType":"Composition",`), WantCode: "INVALID_JSON"},
		{Name: "over the size limit", Key: tenant, Value: oversized, WantCode: "SIZE_LIMIT"},
		{Name: "unsupported resource type", Key: tenant, Value: []byte(`{"resourceType":"Patient","gender":"female"}`), WantCode: "UNSUPPORTED_RESOURCE_TYPE"},
		{Name: "no tenant", Key: "", Value: []byte(valid), WantCode: "TENANT_MISSING"},
		{Name: "tenant with a bad check digit", Key: "314159265", Value: []byte(valid), WantCode: "TENANT_INVALID"},
		{Name: "real identity number in test", Key: tenant, Value: g.Make("MedicationDispense", tenant, g.RealNIN()).Value, WantCode: "NIN_REAL_IN_TEST"},
		{Name: "single author object where R4 wants an array", Key: tenant,
			Value: []byte(singleAuthor(valid)), WantCode: "FHIR_CARDINALITY"},
		{Name: "empty title", Key: tenant, Value: []byte(strings.Replace(valid, `"title": "Trygghetsalarm utløst"`, `"title": ""`, 1)), WantCode: "FHIR_EMPTY_VALUE"},
	}
}

// singleAuthor turns Composition.author's one-element array into a bare object: JFT's
// most common rejection.
func singleAuthor(valid string) string {
	start := strings.Index(valid, `"author": [`)
	end := strings.Index(valid[start:], `],`) + start
	inner := strings.TrimSpace(valid[start+len(`"author": [`) : end])
	return valid[:start] + `"author": ` + inner + valid[end+1:]
}
