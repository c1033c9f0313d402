package transform

import (
	"encoding/json"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/jft-gateway/jft-gateway/internal/jft"
)

// findings collects issues up to jft.MaxIssues.
type findings struct {
	errors, warnings []jft.Issue
}

// walker validates one parsed event.
type walker struct {
	t *Transformer
	findings
	fullURLs     map[string]bool
	references   []ref
	containedIDs map[string]bool
	seenEntries  map[string]bool
	// lenient > 0 while walking a resource whose structural findings are warnings
	// (JFT_RULE_BUNDLE_RESOURCES=warn).
	lenient int
}

type ref struct{ path, target string }

var identifierType = reflect.TypeFor[fhir.Identifier]()
var referenceType = reflect.TypeFor[fhir.Reference]()

func (w *walker) fail(code jft.Code, path, msg string) {
	if w.lenient > 0 && strings.HasPrefix(string(code), "FHIR_") {
		w.warn(code, path, msg)
		return
	}
	if len(w.errors) < jft.MaxIssues {
		w.errors = append(w.errors, jft.Issue{Severity: jft.SeverityError, Code: code, Path: path, Message: msg})
	}
}

func (w *walker) warn(code jft.Code, path, msg string) {
	if len(w.warnings) < jft.MaxIssues {
		w.warnings = append(w.warnings, jft.Issue{Severity: jft.SeverityWarning, Code: code, Path: path, Message: msg})
	}
}

// validate checks the structure of doc against R4 and the identifier rules, and the
// references inside a Bundle.
func (t *Transformer) validate(rt string, doc map[string]any, _ []byte) findings {
	w := &walker{t: t, fullURLs: map[string]bool{}, containedIDs: map[string]bool{}, seenEntries: map[string]bool{}}
	w.resource(rt, rt, doc)
	for _, r := range w.references {
		switch {
		case strings.HasPrefix(r.target, "urn:uuid:") && !w.fullURLs[r.target]:
			w.fail(jft.CodeFHIRReference, r.path, "urn:uuid reference does not resolve to an entry's fullUrl in this Bundle")
		case strings.HasPrefix(r.target, "#") && len(r.target) > 1 && !w.containedIDs[r.target[1:]]:
			w.fail(jft.CodeFHIRReference, r.path, "#reference does not resolve to a contained resource")
		}
	}
	return w.findings
}

// resource checks one resource (top level, Bundle entry or contained).
func (w *walker) resource(path, rt string, obj map[string]any) {
	typ, ok := resourceTypes[rt]
	if !ok {
		msg := "resource type " + strconv.Quote(rt) + " is not checked by the gateway"
		if w.t.cfg.UnknownResourceTypes == ModeReject {
			w.fail(jft.CodeFHIRStructure, path, msg)
		} else {
			w.warn(jft.CodeFHIRStructure, path, msg)
		}
		return
	}
	def := ""
	if _, ok := defElements[rt+".meta"]; ok {
		def = rt // its generated definition applies
	}
	if !slices.Contains(ResourceTypes, rt) && w.t.cfg.BundleResources == ModeWarn {
		w.lenient++
		defer func() { w.lenient-- }()
	}
	w.object(path, def, obj, typ, true)
}

// object checks a JSON object against the Go type of its FHIR element.
// def is the definition path of obj ("MedicationDispense.performer") when the generated
// tables describe it, else "".
func (w *walker) object(path, def string, obj map[string]any, typ reflect.Type, isResource bool) {
	ti := infoOf(typ)
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	chosen := map[string]int{}
	for _, k := range keys {
		v := obj[k]
		p := path + "." + k
		switch {
		case isResource && k == "resourceType":
			continue
		case isResource && k == "contained":
			w.contained(p, v)
			continue
		case k == "modifierExtension":
			w.fail(jft.CodeFHIRModifierExt, p, "modifierExtension changes the meaning of its element and none is understood by the gateway")
			continue
		case strings.HasPrefix(k, "_"):
			if e := ti.elements[k[1:]]; e == nil || e.typ.Kind() == reflect.Struct {
				w.unknown(p, "primitive extension of an element that is not a primitive of this type")
			} else if _, isObj := v.(map[string]any); !isObj {
				if _, isArr := v.([]any); !isArr {
					w.fail(jft.CodeFHIRStructure, p, "primitive extension must be an object (or an array for a repeating element)")
				}
			}
			continue
		}
		e := ti.elements[k]
		if e == nil {
			w.unknown(p, "element not defined for this type in FHIR R4")
			continue
		}
		if e.choice != "" {
			chosen[e.choice]++
		}
		w.value(p, w.definition(def, k, e), v, e)
	}
	for _, name := range ti.required {
		if _, ok := obj[name]; !ok {
			if _, ext := obj["_"+name]; !ext {
				w.fail(jft.CodeFHIRRequired, path+"."+name, "required element is missing")
			}
		}
	}
	for _, base := range ti.choiceBases {
		g := ti.choices[base]
		switch n := chosen[base]; {
		case n > 1:
			w.fail(jft.CodeFHIRChoice, path+"."+base+"[x]", "more than one type given for a choice element")
		case n == 0 && g.required:
			w.fail(jft.CodeFHIRChoice, path+"."+base+"[x]", "required choice element is missing")
		}
	}
	if typ == identifierType {
		w.identifier(path, obj)
	}
	if typ == referenceType {
		if s, ok := obj["reference"].(string); ok {
			w.references = append(w.references, ref{path: path + ".reference", target: s})
		}
	}
	if typ == bundleEntryType {
		if s, ok := obj["fullUrl"].(string); ok && s != "" {
			// bdl-7: entries may share a fullUrl only with different meta.versionId.
			key := s + "|" + versionID(obj["resource"])
			if w.seenEntries[key] {
				w.fail(jft.CodeFHIRInvariant, path+".fullUrl", "fullUrl is not unique in the Bundle (bdl-7)")
			}
			w.seenEntries[key] = true
			w.fullURLs[s] = true
		}
	}
}

var bundleEntryType = reflect.TypeFor[fhir.BundleEntry]()

func (w *walker) unknown(path, msg string) {
	if w.t.cfg.UnknownElements == ModeWarn {
		w.warn(jft.CodeFHIRUnknown, path, msg)
		return
	}
	w.fail(jft.CodeFHIRUnknown, path, msg)
}

func (w *walker) contained(path string, v any) {
	arr, ok := v.([]any)
	if !ok {
		w.fail(jft.CodeFHIRCardinality, path, "contained must be an array")
		return
	}
	for i, item := range arr {
		p := path + "[" + strconv.Itoa(i) + "]"
		obj, ok := item.(map[string]any)
		rt, _ := obj["resourceType"].(string)
		if !ok || rt == "" {
			w.fail(jft.CodeFHIRStructure, p, "contained entry must be a resource with a resourceType")
			continue
		}
		if id, ok := obj["id"].(string); ok {
			w.containedIDs[id] = true
		}
		w.resource(p, rt, obj)
	}
}

// elementDef is what the generated tables say of one property.
type elementDef struct {
	path     string // definition path, "" when not described
	fhirType string // the primitive or complex FHIR type, when known
	valueSet string // the required binding, if any
}

// definition looks a property up in the generated tables.
func (w *walker) definition(parent, name string, e *element) elementDef {
	if parent == "" {
		return elementDef{}
	}
	base := name
	if e.choice != "" {
		base = e.choice + "[x]"
	}
	dp := parent + "." + base
	de, ok := defElements[dp]
	if !ok {
		return elementDef{}
	}
	if de.contentReference != "" {
		dp = de.contentReference
	}
	return elementDef{path: dp, fhirType: fhirTypeOf(de, name, e.choice), valueSet: de.valueSet}
}

// value checks an element's JSON value against its cardinality, then its type.
func (w *walker) value(path string, d elementDef, v any, e *element) {
	arr, isArr := v.([]any)
	if e.array {
		if !isArr {
			w.fail(jft.CodeFHIRCardinality, path, "element repeats in FHIR R4 and must be a JSON array")
			return
		}
		if len(arr) == 0 {
			w.fail(jft.CodeFHIREmpty, path, "empty arrays are not allowed in FHIR JSON")
			return
		}
		for i, item := range arr {
			w.single(path+"["+strconv.Itoa(i)+"]", d, item, e.typ)
		}
		return
	}
	if isArr {
		w.fail(jft.CodeFHIRCardinality, path, "element does not repeat in FHIR R4 and must not be a JSON array")
		return
	}
	w.single(path, d, v, e.typ)
}

// single checks one value of Go type typ (and, when the generated tables describe it, of
// FHIR type d.fhirType with d.valueSet).
func (w *walker) single(path string, d elementDef, v any, typ reflect.Type) {
	if v == nil {
		w.fail(jft.CodeFHIREmpty, path, "null is not allowed in FHIR JSON")
		return
	}
	switch {
	case typ == rawMessage:
		obj, ok := v.(map[string]any)
		rt, _ := obj["resourceType"].(string)
		if !ok || rt == "" {
			w.fail(jft.CodeFHIRStructure, path, "must be a resource with a resourceType")
			return
		}
		w.resource(path, rt, obj)
	case isCode(typ):
		s, ok := v.(string)
		if !ok {
			w.fail(jft.CodeFHIRStructure, path, "a code must be a JSON string")
			return
		}
		if s == "" {
			w.fail(jft.CodeFHIREmpty, path, "empty strings are not allowed in FHIR JSON")
			return
		}
		q := []byte(strconv.Quote(s))
		if err := reflect.New(typ).Interface().(json.Unmarshaler).UnmarshalJSON(q); err != nil {
			w.fail(jft.CodeFHIRCode, path, "code is not in the element's required value set")
			return
		}
		w.primitive(path, d, s)
	case typ == jsonNumber:
		if _, ok := v.(json.Number); !ok {
			w.fail(jft.CodeFHIRStructure, path, "a decimal must be a JSON number")
		}
	case typ.Kind() == reflect.String:
		s, ok := v.(string)
		if !ok {
			w.fail(jft.CodeFHIRStructure, path, "must be a JSON string")
			return
		}
		if strings.TrimSpace(s) == "" {
			w.fail(jft.CodeFHIREmpty, path, "empty or blank strings are not allowed in FHIR JSON")
			return
		}
		w.primitive(path, d, s)
	case typ.Kind() == reflect.Bool:
		if _, ok := v.(bool); !ok {
			w.fail(jft.CodeFHIRStructure, path, "must be true or false")
		}
	case typ.Kind() >= reflect.Int && typ.Kind() <= reflect.Uint64:
		n, ok := v.(json.Number)
		if !ok {
			w.fail(jft.CodeFHIRStructure, path, "must be a JSON number")
			return
		}
		if _, err := strconv.ParseInt(n.String(), 10, 64); err != nil {
			w.fail(jft.CodeFHIRFormat, path, "must be an integer")
		}
	case typ.Kind() == reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			w.fail(jft.CodeFHIRStructure, path, "must be a JSON object")
			return
		}
		if len(obj) == 0 {
			w.fail(jft.CodeFHIREmpty, path, "empty objects are not allowed in FHIR JSON")
			return
		}
		w.object(path, childDef(d), obj, typ, false)
	}
}

// childDef is the definition path under which an object's properties are looked up: its
// complex data type's own table (Period.start, HumanName.family, …), or, for a backbone
// element or a content reference, the element's path in its resource.
func childDef(d elementDef) string {
	switch d.fhirType {
	case "", "BackboneElement", "Element":
		return d.path
	}
	if _, ok := defElements[d.fhirType+".id"]; ok {
		return d.fhirType
	}
	return d.path
}

// primitive checks a string primitive against its R4 format and required value set.
func (w *walker) primitive(path string, d elementDef, s string) {
	if re := primitiveFormats[d.fhirType]; re != nil && !re.MatchString(s) {
		w.fail(jft.CodeFHIRFormat, path, "value is not a valid FHIR "+d.fhirType)
		return
	}
	if d.valueSet != "" && d.fhirType == "code" && !requiredCodes[d.valueSet][s] {
		w.fail(jft.CodeFHIRCode, path, "code is not in the element's required value set")
	}
}

// identifier applies the identity and organisation number rules to an Identifier.
func (w *walker) identifier(path string, obj map[string]any) {
	system, _ := obj["system"].(string)
	value, _ := obj["value"].(string)
	if value == "" {
		return
	}
	p := path + ".value"
	switch system {
	case SystemFNR, SystemDNR:
		n, code := ParseNIN(value, w.t.cfg.SyntheticNINMonthOffsets)
		if code != "" {
			w.fail(code, p, ninMessage(code))
			return
		}
		if n.Kind == KindHNR {
			w.fail(jft.CodeNINFormat, p, "an H-number (month + 40) is not a fødselsnummer or D-number")
			return
		}
		if code := w.t.ninPolicy(n); code != "" {
			w.fail(code, p, "identity number not allowed in the "+w.t.cfg.Environment+" environment")
		}
	case SystemFHN:
		if _, code := ParseNIN(value, w.t.cfg.SyntheticNINMonthOffsets); code == jft.CodeNINFormat || code == jft.CodeNINChecksum {
			w.fail(code, p, ninMessage(code))
		}
	case SystemOrgnr:
		if code := CheckOrgnr(value); code != "" {
			w.fail(code, p, "organisation number must be 9 digits with a valid mod-11 check digit")
			return
		}
		if code := w.t.orgnrPolicy(value); code != "" {
			w.fail(code, p, "organisation number not allowed in the "+w.t.cfg.Environment+" environment")
		}
	}
}

func ninMessage(code jft.Code) string {
	switch code {
	case jft.CodeNINFormat:
		return "identity number must be 11 digits"
	case jft.CodeNINChecksum:
		return "identity number has a wrong check digit"
	default:
		return "identity number does not contain a valid date"
	}
}

func versionID(resource any) string {
	r, _ := resource.(map[string]any)
	m, _ := r["meta"].(map[string]any)
	v, _ := m["versionId"].(string)
	return v
}
