// Package transform turns one input record into a WriteAPI command, or into a coded,
// permanent error listing every problem found: the size limit, JSON, the resource type,
// the tenant, FHIR R4 structure, and the Norwegian identity and organisation numbers with
// the environment's policy. It is pure — no I/O, clock or environment — so each rule is a
// table test, and the same input always gets the same answer.
//
// The event's original bytes are what is sent on: the FHIR models are for checking only
// (re-serialising drops contained resources and primitive extensions).
package transform

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"unicode/utf8"

	"github.com/jft-gateway/jft-gateway/internal/jft"
)

// Header is one record header.
type Header struct {
	Key   string
	Value []byte
}

// Input is one record as transform sees it.
type Input struct {
	// Kind is the input topic's kind: event or acknowledgement.
	Kind jft.Kind
	// Key is the record key: the tenant's organisation number.
	Key     []byte
	Headers []Header
	Value   []byte
}

// ResourceTypes the WriteAPI accepts.
var ResourceTypes = []string{"Bundle", "Composition", "MedicationDispense"}

// Transformer validates inputs. It is safe for concurrent use.
type Transformer struct {
	cfg Config
}

// New returns a Transformer.
func New(cfg Config) (*Transformer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("transform config: %w", err)
	}
	return &Transformer{cfg: cfg}, nil
}

// maxSourceSystem bounds the nhn-source-system header.
const maxSourceSystem = 200

// Transform validates in and returns the command to send. On error (a permanent
// *jft.Error with issues) the command still carries what was determined — kind, tenant,
// resource type and id — for the result record.
func (t *Transformer) Transform(in Input) (jft.Command, error) {
	cmd := jft.Command{Kind: in.Kind}
	tenant, tenantHeader := in.Key, false
	for _, h := range in.Headers {
		switch h.Key {
		case jft.HeaderTenant:
			tenant, tenantHeader = h.Value, true
		case jft.HeaderSourceSystem:
			if len(h.Value) > maxSourceSystem || !printable(h.Value) {
				return cmd, jft.Permanentf(jft.CodeHeaderInvalid, "header nhn-source-system must be 1–%d printable characters", maxSourceSystem)
			}
			cmd.SourceSystem = string(h.Value)
		}
	}
	if err := t.tenant(&cmd, tenant, tenantHeader); err != nil {
		return cmd, err
	}
	if in.Kind == jft.KindAcknowledgement {
		return cmd, t.ack(&cmd, in.Value)
	}
	if len(in.Value) > t.cfg.MaxBodyBytes {
		return cmd, jft.Permanentf(jft.CodeSizeLimit, "event is %d bytes, over the limit of %d (JFT_MAX_BODY_BYTES)", len(in.Value), t.cfg.MaxBodyBytes)
	}
	doc, err := decode(in.Value)
	if err != nil {
		return cmd, err
	}
	rt, _ := doc.get("resourceType").(string)
	cmd.ResourceType = rt
	if !supported(rt) {
		return cmd, jft.Permanentf(jft.CodeUnsupportedResource, "resourceType must be Bundle, Composition or MedicationDispense")
	}
	if issues := t.validate(rt, doc); len(issues.errors) > 0 {
		first := issues.errors[0]
		return cmd, &jft.Error{Code: first.Code, Permanent: true, Issues: issues.errors,
			Message: fmt.Sprintf("%d problem(s); first: %s at %s", len(issues.errors), first.Code, first.Path)}
	} else {
		cmd.Warnings = issues.warnings
	}
	cmd.Body = in.Value
	return cmd, nil
}

// tenant reads and checks the municipality's organisation number.
func (t *Transformer) tenant(cmd *jft.Command, raw []byte, fromHeader bool) error {
	where := "record key"
	if fromHeader {
		where = "header jft-tenant"
	}
	if len(raw) == 0 {
		return jft.Permanentf(jft.CodeTenantMissing, "no tenant: set the record key or the jft-tenant header to the municipality's organisation number")
	}
	s := string(raw)
	if code := CheckOrgnr(s); code != "" {
		if len(raw) <= 32 && printable(raw) {
			cmd.Tenant = s
		}
		return jft.Permanentf(jft.CodeTenantInvalid, "%s is not a 9-digit organisation number with a valid check digit", where)
	}
	cmd.Tenant = s
	if code := t.orgnrPolicy(s); code != "" {
		return jft.Permanentf(code, "the tenant (%s) is not allowed in the %s environment", where, t.cfg.Environment)
	}
	return nil
}

var guid = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// ack checks an acknowledgement value: {"resourceType": <type>, "resourceId": <guid>}.
func (t *Transformer) ack(cmd *jft.Command, value []byte) error {
	var v struct {
		ResourceType string `json:"resourceType"`
		ResourceID   string `json:"resourceId"`
	}
	dec := json.NewDecoder(bytes.NewReader(value))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil || dec.More() {
		return jft.Permanentf(jft.CodeAckInvalid, `an acknowledgement must be {"resourceType": "...", "resourceId": "<guid>"} and nothing else`)
	}
	cmd.ResourceType = v.ResourceType
	if !supported(v.ResourceType) {
		return jft.Permanentf(jft.CodeAckInvalid, "acknowledgement resourceType must be Bundle, Composition or MedicationDispense")
	}
	if !guid.MatchString(v.ResourceID) {
		return jft.Permanentf(jft.CodeAckInvalid, "acknowledgement resourceId must be a GUID")
	}
	cmd.ResourceID = v.ResourceID
	return nil
}

func supported(rt string) bool {
	for _, s := range ResourceTypes {
		if rt == s {
			return true
		}
	}
	return false
}

func printable(b []byte) bool {
	if len(b) == 0 || !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}
