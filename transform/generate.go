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
