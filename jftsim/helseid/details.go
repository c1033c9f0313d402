package helseid

import (
	"encoding/json"
	"slices"
	"strings"
)

// Organisation number systems in helseid_authorization details (jft-facts.md §2.4).
const (
	systemMultiTenant  = "urn:oid:1.0.6523"
	systemSingleTenant = "urn:oid:2.16.578.1.12.4.1.4.101"
)

type authorizationDetail struct {
	Type             string `json:"type"`
	PractitionerRole struct {
		Organization struct {
			Identifier struct {
				System string `json:"system"`
				Type   string `json:"type"`
				Value  string `json:"value"`
			} `json:"identifier"`
		} `json:"organization"`
	} `json:"practitioner_role"`
}

// orgsFor decides orgnr_parent and orgnr_child from the client's registration and the
// assertion's details (a single object or an array).
func orgsFor(c Client, raw json.RawMessage) (parent, child, reason string) {
	var details []authorizationDetail
	if len(raw) > 0 {
		var one authorizationDetail
		if err := json.Unmarshal(raw, &details); err != nil {
			if err := json.Unmarshal(raw, &one); err != nil {
				return "", "", "assertion details are neither an object nor an array"
			}
			details = []authorizationDetail{one}
		}
	}
	var d *authorizationDetail
	for k := range details {
		if details[k].Type == "helseid_authorization" {
			d = &details[k]
		}
	}
	id := func() (string, string) {
		if d == nil {
			return "", ""
		}
		return d.PractitionerRole.Organization.Identifier.System, d.PractitionerRole.Organization.Identifier.Value
	}
	system, value := id()
	switch c.Tenancy {
	case SingleTenant:
		if len(c.Parents) != 1 {
			return "", "", "single-tenant client is registered without its parent organisation"
		}
		if system == systemMultiTenant {
			return "", "", "client is set up for single tenancy, but is passing a multi-tenant organization structure"
		}
		if d != nil && system == systemSingleTenant {
			child = value
		}
		return c.Parents[0], child, ""
	default:
		if d == nil {
			return "", "", "multi-tenant client must pass a helseid_authorization detail with NO:ORGNR:<parent>[:<child>]"
		}
		if system != systemMultiTenant {
			return "", "", "client is set up for multi-tenancy, but is passing a single tenant organization structure"
		}
		rest, ok := strings.CutPrefix(value, "NO:ORGNR:")
		if !ok {
			return "", "", "organization identifier value must start with NO:ORGNR:"
		}
		parent, child, _ = strings.Cut(rest, ":") // "parent", "parent:" and "parent:child"
		if len(parent) != 9 || (child != "" && len(child) != 9) {
			return "", "", "organization numbers in NO:ORGNR:<parent>[:<child>] must have 9 digits"
		}
		if !slices.Contains(c.Parents, parent) {
			return "", "", "the client has no delegation from this parent organization"
		}
		return parent, child, ""
	}
}
