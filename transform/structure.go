package transform

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"sync"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// element describes one property of a FHIR type, as samply's generated Go types (made
// from the R4 StructureDefinitions) encode it: slice = array, no omitempty = min ≥ 1.
type element struct {
	name     string
	typ      reflect.Type // element type (for arrays: of the items)
	array    bool
	required bool
	choice   string // the choice group's base name (medication for medication[x]), if any
}

// typeInfo is the element table of one Go type.
type typeInfo struct {
	elements map[string]*element
	// choices maps a choice base name to its members and whether one is required.
	choices map[string]choiceGroup
	// required and choiceBases are the names of required elements and of choice groups,
	// sorted, so that a record's issues come in the same order every time.
	required, choiceBases []string
}

type choiceGroup struct {
	members  []string
	required bool
}

// resourceTypes maps resource names to samply types: the three the WriteAPI takes and
// those commonly found inside their Bundles.
var resourceTypes = map[string]reflect.Type{
	"Bundle":                   reflect.TypeFor[fhir.Bundle](),
	"Composition":              reflect.TypeFor[fhir.Composition](),
	"MedicationDispense":       reflect.TypeFor[fhir.MedicationDispense](),
	"Patient":                  reflect.TypeFor[fhir.Patient](),
	"Practitioner":             reflect.TypeFor[fhir.Practitioner](),
	"PractitionerRole":         reflect.TypeFor[fhir.PractitionerRole](),
	"Organization":             reflect.TypeFor[fhir.Organization](),
	"Encounter":                reflect.TypeFor[fhir.Encounter](),
	"Medication":               reflect.TypeFor[fhir.Medication](),
	"MedicationRequest":        reflect.TypeFor[fhir.MedicationRequest](),
	"MedicationStatement":      reflect.TypeFor[fhir.MedicationStatement](),
	"Observation":              reflect.TypeFor[fhir.Observation](),
	"Condition":                reflect.TypeFor[fhir.Condition](),
	"Location":                 reflect.TypeFor[fhir.Location](),
	"HealthcareService":        reflect.TypeFor[fhir.HealthcareService](),
	"RelatedPerson":            reflect.TypeFor[fhir.RelatedPerson](),
	"Device":                   reflect.TypeFor[fhir.Device](),
	"AllergyIntolerance":       reflect.TypeFor[fhir.AllergyIntolerance](),
	"Provenance":               reflect.TypeFor[fhir.Provenance](),
	"OperationOutcome":         reflect.TypeFor[fhir.OperationOutcome](),
	"Parameters":               reflect.TypeFor[fhir.Parameters](),
	"DocumentReference":        reflect.TypeFor[fhir.DocumentReference](),
	"DiagnosticReport":         reflect.TypeFor[fhir.DiagnosticReport](),
	"Procedure":                reflect.TypeFor[fhir.Procedure](),
	"Immunization":             reflect.TypeFor[fhir.Immunization](),
	"CarePlan":                 reflect.TypeFor[fhir.CarePlan](),
	"CareTeam":                 reflect.TypeFor[fhir.CareTeam](),
	"Task":                     reflect.TypeFor[fhir.Task](),
	"Communication":            reflect.TypeFor[fhir.Communication](),
	"ServiceRequest":           reflect.TypeFor[fhir.ServiceRequest](),
	"Specimen":                 reflect.TypeFor[fhir.Specimen](),
	"MedicationAdministration": reflect.TypeFor[fhir.MedicationAdministration](),
	"List":                     reflect.TypeFor[fhir.List](),
	"Flag":                     reflect.TypeFor[fhir.Flag](),
	"Goal":                     reflect.TypeFor[fhir.Goal](),
	"QuestionnaireResponse":    reflect.TypeFor[fhir.QuestionnaireResponse](),
	"Appointment":              reflect.TypeFor[fhir.Appointment](),
	"EpisodeOfCare":            reflect.TypeFor[fhir.EpisodeOfCare](),
	"Consent":                  reflect.TypeFor[fhir.Consent](),
	"Group":                    reflect.TypeFor[fhir.Group](),
	"Substance":                reflect.TypeFor[fhir.Substance](),
	"DetectedIssue":            reflect.TypeFor[fhir.DetectedIssue](),
	"ClinicalImpression":       reflect.TypeFor[fhir.ClinicalImpression](),
	"FamilyMemberHistory":      reflect.TypeFor[fhir.FamilyMemberHistory](),
	"Basic":                    reflect.TypeFor[fhir.Basic](),
	"Endpoint":                 reflect.TypeFor[fhir.Endpoint](),
	"Schedule":                 reflect.TypeFor[fhir.Schedule](),
	"Slot":                     reflect.TypeFor[fhir.Slot](),
	"Coverage":                 reflect.TypeFor[fhir.Coverage](),
	"MessageHeader":            reflect.TypeFor[fhir.MessageHeader](),
	"AuditEvent":               reflect.TypeFor[fhir.AuditEvent](),
}

// typeSuffixes are FHIR type names that end choice element names (value[x] → valueString).
var typeSuffixes = []string{
	"Base64Binary", "Boolean", "Canonical", "Code", "Date", "DateTime", "Decimal", "Id", "Instant", "Integer",
	"Markdown", "Oid", "PositiveInt", "String", "Time", "UnsignedInt", "Uri", "Url", "Uuid",
	"Address", "Age", "Annotation", "Attachment", "CodeableConcept", "Coding", "ContactPoint", "Count",
	"Distance", "Duration", "HumanName", "Identifier", "Money", "Period", "Quantity", "Range", "Ratio",
	"Reference", "SampledData", "Signature", "Timing", "ContactDetail", "Contributor", "DataRequirement",
	"Expression", "ParameterDefinition", "RelatedArtifact", "TriggerDefinition", "UsageContext", "Dosage", "Meta",
}

var typeCache sync.Map // reflect.Type → *typeInfo

// infoOf returns the element table of t, built once.
func infoOf(t reflect.Type) *typeInfo {
	if v, ok := typeCache.Load(t); ok {
		return v.(*typeInfo)
	}
	ti := &typeInfo{elements: map[string]*element{}, choices: map[string]choiceGroup{}}
	bases := map[string][]*element{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" || name == "-" {
			continue
		}
		e := &element{name: name, required: !strings.Contains(opts, "omitempty")}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
			e.required = false
		}
		if ft.Kind() == reflect.Slice && ft != rawMessage {
			e.array = true
			ft = ft.Elem()
		}
		e.typ = ft
		ti.elements[name] = e
		for _, s := range typeSuffixes {
			if base, ok := strings.CutSuffix(name, s); ok && base != "" && base[len(base)-1] >= 'a' && base[len(base)-1] <= 'z' {
				bases[base] = append(bases[base], e)
				break
			}
		}
	}
	for base, es := range bases {
		if len(es) < 2 {
			continue
		}
		g := choiceGroup{}
		for _, e := range es {
			e.choice = base
			g.members = append(g.members, e.name)
			if e.required {
				g.required = true
				e.required = false
			}
		}
		ti.choices[base] = g
		ti.choiceBases = append(ti.choiceBases, base)
	}
	for name, e := range ti.elements {
		if e.required {
			ti.required = append(ti.required, name)
		}
	}
	sort.Strings(ti.required)
	sort.Strings(ti.choiceBases)
	v, _ := typeCache.LoadOrStore(t, ti)
	return v.(*typeInfo)
}

var (
	rawMessage  = reflect.TypeFor[json.RawMessage]()
	unmarshaler = reflect.TypeFor[json.Unmarshaler]()
	jsonNumber  = reflect.TypeFor[json.Number]()
)

// isCode reports whether t is one of samply's code enums (an int with UnmarshalJSON).
func isCode(t reflect.Type) bool {
	return t.Kind() != reflect.Struct && reflect.PointerTo(t).Implements(unmarshaler) && t != jsonNumber
}
