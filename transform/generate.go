package transform

import (
	"regexp"
	"strings"
)

//go:generate bash -c "go run ./internal/gen -definitions ../../shared/fixtures/fhir-r4/definitions -extra $(internal/gen/fetch.sh) -out zz_elements.go"

// defElement is one element of a StructureDefinition's snapshot (see zz_elements.go).
type defElement struct {
	min, max         int // max -1 = *
	types            []string
	valueSet         string // required binding, if any
	contentReference string // e.g. Bundle.link for Bundle.entry.link
}

// primitiveFormats are the R4 regular expressions of string-valued primitive types
// (https://hl7.org/fhir/R4/datatypes.html), anchored.
var primitiveFormats = map[string]*regexp.Regexp{
	"date":      regexp.MustCompile(`^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1]))?)?$`),
	"dateTime":  regexp.MustCompile(`^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?$`),
	"instant":   regexp.MustCompile(`^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))$`),
	"time":      regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?$`),
	"code":      regexp.MustCompile(`^[^\s]+(\s[^\s]+)*$`),
	"id":        regexp.MustCompile(`^[A-Za-z0-9\-\.]{1,64}$`),
	"uri":       regexp.MustCompile(`^\S*$`),
	"url":       regexp.MustCompile(`^\S*$`),
	"canonical": regexp.MustCompile(`^\S*$`),
	"oid":       regexp.MustCompile(`^urn:oid:[0-2](\.(0|[1-9][0-9]*))+$`),
	"uuid":      regexp.MustCompile(`^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`),
}

// formatChecks check a value against primitiveFormats: by the regular expression, or, for
// the types met most often, by an equivalent scan of the bytes (FuzzFormatScansMatchTheSpec
// holds each scan to its expression).
var formatChecks = func() map[string]func(string) bool {
	m := map[string]func(string) bool{}
	for t, re := range primitiveFormats {
		m[t] = re.MatchString
	}
	m["uri"], m["url"], m["canonical"] = noSpace, noSpace, noSpace
	m["code"], m["id"] = codeFormat, idFormat
	return m
}()

// isSpace is regexp's \s: [\t\n\f\r ].
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' }

// noSpace is ^\S*$. UTF-8 never has an ASCII byte inside a multi-byte rune.
func noSpace(s string) bool {
	for i := range len(s) {
		if isSpace(s[i]) {
			return false
		}
	}
	return true
}

// codeFormat is ^[^\s]+(\s[^\s]+)*$: not empty, no space at either end, no two in a row.
func codeFormat(s string) bool {
	if s == "" || isSpace(s[0]) || isSpace(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if isSpace(s[i]) && isSpace(s[i-1]) {
			return false
		}
	}
	return true
}

// idFormat is ^[A-Za-z0-9\-\.]{1,64}$.
func idFormat(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// defKey names a definition by its parent's path and the element's name in it
// (MedicationDispense.performer + actor), so that looking one up builds no string.
type defKey struct{ parent, name string }

// defEntry is one definition with the path its children are found under (the content
// reference's, for Bundle.entry.link).
type defEntry struct {
	path string
	de   defElement
}

// defIndex is defElements by parent and name; ownTable holds the complex types whose own
// definitions are in defElements (Period, HumanName, …).
var defIndex, ownTable = func() (map[defKey]defEntry, map[string]bool) {
	idx, own := make(map[defKey]defEntry, len(defElements)), map[string]bool{}
	for p, de := range defElements {
		i := strings.LastIndexByte(p, '.')
		if i < 0 {
			continue
		}
		path := p
		if de.contentReference != "" {
			path = de.contentReference
		}
		idx[defKey{p[:i], p[i+1:]}] = defEntry{path: path, de: de}
		if p[i+1:] == "id" {
			own[p[:i]] = true
		}
	}
	return idx, own
}()

// fhirTypeOf returns the FHIR type of a property named name (a choice's member name such
// as effectiveDateTime, or a plain element) of the definition de.
func fhirTypeOf(de defElement, name, choiceBase string) string {
	if choiceBase == "" {
		if len(de.types) == 1 {
			return de.types[0]
		}
		return ""
	}
	suffix := strings.TrimPrefix(name, choiceBase)
	for _, t := range de.types {
		if strings.EqualFold(t, suffix) {
			return t
		}
	}
	return ""
}
