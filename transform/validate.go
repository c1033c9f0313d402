package transform

import (
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/jft-gateway/jft-gateway/internal/jft"
)

// findings collects issues up to jft.MaxIssues.
type findings struct {
	errors, warnings []jft.Issue
}

// walker validates one parsed event. Walkers are pooled: a walk allocates little beyond
// the issues it finds.
type walker struct {
	t *Transformer
	findings
	// path is the current element's path ("Bundle.entry[0].resource"), grown on the way
	// down and cut back on the way up; it becomes a string only in an issue.
	path         []byte
	fullURLs     map[string]bool
	references   []ref
	containedIDs map[string]bool
	seenEntries  map[string]bool
	// lenient > 0 while walking a resource whose structural findings are warnings
	// (JFT_RULE_BUNDLE_RESOURCES=warn).
	lenient int
}

type ref struct{ path, target string }

var walkers = sync.Pool{New: func() any {
	return &walker{fullURLs: map[string]bool{}, containedIDs: map[string]bool{}, seenEntries: map[string]bool{}}
}}

var identifierType = reflect.TypeFor[fhir.Identifier]()
var referenceType = reflect.TypeFor[fhir.Reference]()
var bundleEntryType = reflect.TypeFor[fhir.BundleEntry]()

// enter appends .name to the path and returns the length that leave restores.
func (w *walker) enter(name string) int {
	n := len(w.path)
	w.path = append(append(w.path, '.'), name...)
	return n
}

// enterIndex appends [i] to the path.
func (w *walker) enterIndex(i int) int {
	n := len(w.path)
	w.path = append(strconv.AppendInt(append(w.path, '['), int64(i), 10), ']')
	return n
}

func (w *walker) leave(n int) { w.path = w.path[:n] }

// fail records an error at the current path.
func (w *walker) fail(code jft.Code, msg string) {
	if w.lenient > 0 && strings.HasPrefix(string(code), "FHIR_") {
		w.warn(code, msg)
		return
	}
	if len(w.errors) < jft.MaxIssues {
		w.errors = append(w.errors, jft.Issue{Severity: jft.SeverityError, Code: code, Path: string(w.path), Message: msg})
	}
}

// failAt records an error at the current path's child name.
func (w *walker) failAt(name string, code jft.Code, msg string) {
	n := w.enter(name)
	w.fail(code, msg)
	w.leave(n)
}

func (w *walker) warn(code jft.Code, msg string) {
	if len(w.warnings) < jft.MaxIssues {
		w.warnings = append(w.warnings, jft.Issue{Severity: jft.SeverityWarning, Code: code, Path: string(w.path), Message: msg})
	}
}

// validate checks the structure of doc against R4 and the identifier rules, and the
// references inside a Bundle.
func (t *Transformer) validate(rt string, doc *object) findings {
	w := walkers.Get().(*walker)
	defer func() {
		w.t, w.findings, w.lenient = nil, findings{}, 0
		w.path, w.references = w.path[:0], w.references[:0]
		clear(w.fullURLs)
		clear(w.containedIDs)
		clear(w.seenEntries)
		walkers.Put(w)
	}()
	w.t = t
	w.path = append(w.path, rt...)
	w.resource(rt, doc)
	for _, r := range w.references {
		w.path = append(w.path[:0], r.path...)
		switch {
		case strings.HasPrefix(r.target, "urn:uuid:") && !w.fullURLs[r.target]:
			w.fail(jft.CodeFHIRReference, "urn:uuid reference does not resolve to an entry's fullUrl in this Bundle")
		case strings.HasPrefix(r.target, "#") && len(r.target) > 1 && !w.containedIDs[r.target[1:]]:
			w.fail(jft.CodeFHIRReference, "#reference does not resolve to a contained resource")
		}
	}
	return w.findings
}

// resource checks one resource (top level, Bundle entry or contained) at the current path.
func (w *walker) resource(rt string, obj *object) {
	ti, ok := resourceInfos[rt]
	if !ok {
		msg := "resource type " + strconv.Quote(rt) + " is not checked by the gateway"
		if w.t.cfg.UnknownResourceTypes == ModeReject {
			w.fail(jft.CodeFHIRStructure, msg)
		} else {
			w.warn(jft.CodeFHIRStructure, msg)
		}
		return
	}
	def := ""
	if _, ok := defIndex[defKey{rt, "meta"}]; ok {
		def = rt // its generated definition applies
	}
	if !slices.Contains(ResourceTypes, rt) && w.t.cfg.BundleResources == ModeWarn {
		w.lenient++
		defer func() { w.lenient-- }()
	}
	w.object(def, obj, ti, true)
}

// object checks a JSON object, at the current path, against the element table of its
// FHIR element. def is the definition path of obj ("MedicationDispense.performer") when
// the generated tables describe it, else "".
func (w *walker) object(def string, obj *object, ti *typeInfo, isResource bool) {
	var chosen, chosenTwice uint64 // choice groups met, and met more than once
	// In the byte order of the names, as decode stored them.
	for _, m := range *obj {
		k, v := m.name, m.value
		n := w.enter(k)
		switch {
		case isResource && k == "resourceType":
		case isResource && k == "contained":
			w.contained(v)
		case k == "modifierExtension":
			w.fail(jft.CodeFHIRModifierExt, "modifierExtension changes the meaning of its element and none is understood by the gateway")
		case strings.HasPrefix(k, "_"):
			if e := ti.elements[k[1:]]; e == nil || e.kind == kindStruct {
				w.unknown("primitive extension of an element that is not a primitive of this type")
			} else if _, isObj := v.(*object); !isObj {
				if _, isArr := v.(*array); !isArr {
					w.fail(jft.CodeFHIRStructure, "primitive extension must be an object (or an array for a repeating element)")
				}
			}
		default:
			e := ti.elements[k]
			if e == nil {
				w.unknown("element not defined for this type in FHIR R4")
				break
			}
			if e.choiceIdx >= 0 {
				bit := uint64(1) << e.choiceIdx
				chosenTwice |= chosen & bit
				chosen |= bit
			}
			w.value(w.definition(def, e), v, e)
		}
		w.leave(n)
	}
	for _, name := range ti.required {
		if _, ok := obj.lookup(name); !ok {
			if _, ext := obj.lookup("_" + name); !ext {
				w.failAt(name, jft.CodeFHIRRequired, "required element is missing")
			}
		}
	}
	for i, base := range ti.choiceBases {
		bit := uint64(1) << i
		switch {
		case chosenTwice&bit != 0:
			w.failAt(base+"[x]", jft.CodeFHIRChoice, "more than one type given for a choice element")
		case chosen&bit == 0 && ti.choices[base].required:
			w.failAt(base+"[x]", jft.CodeFHIRChoice, "required choice element is missing")
		}
	}
	switch ti.typ {
	case identifierType:
		w.identifier(obj)
	case referenceType:
		if s, ok := obj.get("reference").(string); ok {
			n := w.enter("reference")
			w.references = append(w.references, ref{path: string(w.path), target: s})
			w.leave(n)
		}
	case bundleEntryType:
		if s, ok := obj.get("fullUrl").(string); ok && s != "" {
			// bdl-7: entries may share a fullUrl only with different meta.versionId.
			key := s + "|" + versionID(obj.get("resource"))
			if w.seenEntries[key] {
				w.failAt("fullUrl", jft.CodeFHIRInvariant, "fullUrl is not unique in the Bundle (bdl-7)")
			}
			w.seenEntries[key] = true
			w.fullURLs[s] = true
		}
	}
}

func (w *walker) unknown(msg string) {
	if w.t.cfg.UnknownElements == ModeWarn {
		w.warn(jft.CodeFHIRUnknown, msg)
		return
	}
	w.fail(jft.CodeFHIRUnknown, msg)
}

func (w *walker) contained(v any) {
	arr, ok := v.(*array)
	if !ok {
		w.fail(jft.CodeFHIRCardinality, "contained must be an array")
		return
	}
	for i, item := range *arr {
		n := w.enterIndex(i)
		obj, ok := item.(*object)
		rt, _ := obj.get("resourceType").(string)
		switch {
		case !ok || rt == "":
			w.fail(jft.CodeFHIRStructure, "contained entry must be a resource with a resourceType")
		default:
			if id, ok := obj.get("id").(string); ok {
				w.containedIDs[id] = true
			}
			w.resource(rt, obj)
		}
		w.leave(n)
	}
}

// elementDef is what the generated tables say of one property.
type elementDef struct {
	path     string // definition path, "" when not described
	fhirType string // the primitive or complex FHIR type, when known
	valueSet string // the required binding, if any
}

// definition looks a property up in the generated tables.
func (w *walker) definition(parent string, e *element) elementDef {
	if parent == "" {
		return elementDef{}
	}
	d, ok := defIndex[defKey{parent, e.defName}]
	if !ok {
		return elementDef{}
	}
	return elementDef{path: d.path, fhirType: fhirTypeOf(d.de, e.name, e.choice), valueSet: d.de.valueSet}
}

// value checks an element's JSON value against its cardinality, then its type.
func (w *walker) value(d elementDef, v any, e *element) {
	arr, isArr := v.(*array)
	if e.array {
		if !isArr {
			w.fail(jft.CodeFHIRCardinality, "element repeats in FHIR R4 and must be a JSON array")
			return
		}
		if len(*arr) == 0 {
			w.fail(jft.CodeFHIREmpty, "empty arrays are not allowed in FHIR JSON")
			return
		}
		for i, item := range *arr {
			n := w.enterIndex(i)
			w.single(d, item, e)
			w.leave(n)
		}
		return
	}
	if isArr {
		w.fail(jft.CodeFHIRCardinality, "element does not repeat in FHIR R4 and must not be a JSON array")
		return
	}
	w.single(d, v, e)
}

// single checks one value of e's Go type (and, when the generated tables describe it, of
// FHIR type d.fhirType with d.valueSet).
func (w *walker) single(d elementDef, v any, e *element) {
	if v == nil {
		w.fail(jft.CodeFHIREmpty, "null is not allowed in FHIR JSON")
		return
	}
	switch e.kind {
	case kindResource:
		obj, ok := v.(*object)
		rt, _ := obj.get("resourceType").(string)
		if !ok || rt == "" {
			w.fail(jft.CodeFHIRStructure, "must be a resource with a resourceType")
			return
		}
		w.resource(rt, obj)
	case kindCode:
		s, ok := v.(string)
		if !ok {
			w.fail(jft.CodeFHIRStructure, "a code must be a JSON string")
			return
		}
		if s == "" {
			w.fail(jft.CodeFHIREmpty, "empty strings are not allowed in FHIR JSON")
			return
		}
		if _, ok := e.accepted.Load(s); !ok {
			q := []byte(strconv.Quote(s))
			if err := reflect.New(e.typ).Interface().(json.Unmarshaler).UnmarshalJSON(q); err != nil {
				w.fail(jft.CodeFHIRCode, "code is not in the element's required value set")
				return
			}
			e.accepted.Store(s, struct{}{})
		}
		w.primitive(d, s)
	case kindDecimal:
		if _, ok := v.(json.Number); !ok {
			w.fail(jft.CodeFHIRStructure, "a decimal must be a JSON number")
		}
	case kindString:
		s, ok := v.(string)
		if !ok {
			w.fail(jft.CodeFHIRStructure, "must be a JSON string")
			return
		}
		if strings.TrimSpace(s) == "" {
			w.fail(jft.CodeFHIREmpty, "empty or blank strings are not allowed in FHIR JSON")
			return
		}
		w.primitive(d, s)
	case kindBool:
		if _, ok := v.(bool); !ok {
			w.fail(jft.CodeFHIRStructure, "must be true or false")
		}
	case kindInt:
		n, ok := v.(json.Number)
		if !ok {
			w.fail(jft.CodeFHIRStructure, "must be a JSON number")
			return
		}
		if _, err := strconv.ParseInt(n.String(), 10, 64); err != nil {
			w.fail(jft.CodeFHIRFormat, "must be an integer")
		}
	case kindStruct:
		obj, ok := v.(*object)
		if !ok {
			w.fail(jft.CodeFHIRStructure, "must be a JSON object")
			return
		}
		if len(*obj) == 0 {
			w.fail(jft.CodeFHIREmpty, "empty objects are not allowed in FHIR JSON")
			return
		}
		w.object(childDef(d), obj, e.info, false)
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
	if ownTable[d.fhirType] {
		return d.fhirType
	}
	return d.path
}

// primitive checks a string primitive against its R4 format and required value set.
func (w *walker) primitive(d elementDef, s string) {
	if ok := formatChecks[d.fhirType]; ok != nil && !ok(s) {
		w.fail(jft.CodeFHIRFormat, "value is not a valid FHIR "+d.fhirType)
		return
	}
	if d.valueSet != "" && d.fhirType == "code" && !requiredCodes[d.valueSet][s] {
		w.fail(jft.CodeFHIRCode, "code is not in the element's required value set")
	}
}

// identifier applies the identity and organisation number rules to an Identifier at the
// current path.
func (w *walker) identifier(obj *object) {
	system, _ := obj.get("system").(string)
	value, _ := obj.get("value").(string)
	if value == "" {
		return
	}
	n := w.enter("value")
	defer w.leave(n)
	switch system {
	case SystemFNR, SystemDNR:
		nin, code := ParseNIN(value, w.t.cfg.SyntheticNINMonthOffsets)
		if code != "" {
			w.fail(code, ninMessage(code))
			return
		}
		if nin.Kind == KindHNR {
			w.fail(jft.CodeNINFormat, "an H-number (month + 40) is not a fødselsnummer or D-number")
			return
		}
		if code := w.t.ninPolicy(nin); code != "" {
			w.fail(code, "identity number not allowed in the "+w.t.cfg.Environment+" environment")
		}
	case SystemFHN:
		if _, code := ParseNIN(value, w.t.cfg.SyntheticNINMonthOffsets); code == jft.CodeNINFormat || code == jft.CodeNINChecksum {
			w.fail(code, ninMessage(code))
		}
	case SystemOrgnr:
		if code := CheckOrgnr(value); code != "" {
			w.fail(code, "organisation number must be 9 digits with a valid mod-11 check digit")
			return
		}
		if code := w.t.orgnrPolicy(value); code != "" {
			w.fail(code, "organisation number not allowed in the "+w.t.cfg.Environment+" environment")
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
	r, _ := resource.(*object)
	m, _ := r.get("meta").(*object)
	v, _ := m.get("versionId").(string)
	return v
}
