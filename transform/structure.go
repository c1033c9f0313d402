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
	kind     valueKind    // how a value of typ is checked
	info     *typeInfo    // kindStruct: the element table of typ
	array    bool
	required bool
	choice   string // the choice group's base name (medication for medication[x]), if any
	// choiceIdx is the choice group's index in its typeInfo.choiceBases (-1: none).
	choiceIdx int
	// defName is the element's name in definition paths: name, or medication[x].
	defName string
	// accepted holds the values of a code element (kindCode) that samply's enum took,
	// as they are met: bounded by the value set, so only refusals call UnmarshalJSON again.
	accepted *sync.Map
}

// valueKind is how a JSON value of an element's Go type is checked.
type valueKind uint8

const (
	kindOther    valueKind = iota // not checked further
	kindResource                  // json.RawMessage: a resource (Bundle.entry.resource, contained)
	kindCode                      // one of samply's code enums
	kindDecimal                   // json.Number
	kindString
	kindBool
	kindInt
	kindStruct
)

func kindOf(t reflect.Type) valueKind {
	switch {
	case t == rawMessage:
		return kindResource
	case isCode(t):
		return kindCode
	case t == jsonNumber:
		return kindDecimal
	case t.Kind() == reflect.String:
		return kindString
	case t.Kind() == reflect.Bool:
		return kindBool
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return kindInt
	case t.Kind() == reflect.Struct:
		return kindStruct
	}
	return kindOther
}

// typeInfo is the element table of one Go type.
type typeInfo struct {
	typ      reflect.Type
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

// typeInfos are the element tables of every type reachable from resourceTypes, built at
// init and read-only after it.
var typeInfos = map[reflect.Type]*typeInfo{}

// resourceInfos are the element tables of resourceTypes, by resource name.
var resourceInfos = map[string]*typeInfo{}

// codeValues are the accepted-value caches of samply's code enums, one per enum type.
var codeValues = map[reflect.Type]*sync.Map{}

// maxChoiceGroups bounds a type's choice groups: the walker counts them in bit sets.
const maxChoiceGroups = 64

func init() {
	for name, t := range resourceTypes {
		resourceInfos[name] = infoOf(t)
	}
	names["resourceType"] = "resourceType"
	for _, ti := range typeInfos {
		for name := range ti.elements {
			names[name], names["_"+name] = name, "_"+name
		}
	}
}

// infoOf returns the element table of t, built once (at init, with the tables of every
// type its elements reach).
func infoOf(t reflect.Type) *typeInfo {
	if ti, ok := typeInfos[t]; ok {
		return ti
	}
	ti := &typeInfo{typ: t, elements: map[string]*element{}, choices: map[string]choiceGroup{}}
	typeInfos[t] = ti // before the elements' own tables: FHIR types nest themselves (Extension)
	bases := map[string][]*element{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" || name == "-" {
			continue
		}
		e := &element{name: name, defName: name, choiceIdx: -1, required: !strings.Contains(opts, "omitempty")}
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
		e.kind = kindOf(ft)
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
			e.defName = base + "[x]"
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
	if len(ti.choiceBases) > maxChoiceGroups {
		panic("transform: " + t.String() + " has more choice groups than the walker counts")
	}
	for i, base := range ti.choiceBases {
		for _, m := range ti.choices[base].members {
			ti.elements[m].choiceIdx = i
		}
	}
	for _, e := range ti.elements {
		switch e.kind {
		case kindStruct:
			e.info = infoOf(e.typ)
		case kindCode:
			if codeValues[e.typ] == nil {
				codeValues[e.typ] = &sync.Map{}
			}
			e.accepted = codeValues[e.typ]
		}
	}
	return ti
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
