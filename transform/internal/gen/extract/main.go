// Command extract takes the FHIR R4 (4.0.1) StructureDefinitions the gateway needs beyond
// the three in ../shared (the complex data types, and the resource types most often found
// in a Bundle's entries) from the official definition bundles, and writes their snapshot
// elements as a JSON array of StructureDefinitions (only the fields the generator reads).
//
// The bundles are profiles-types.xml and profiles-resources.xml of the FHIR R4 build, as
// published on Maven Central in ca.uhn.hapi.fhir:hapi-fhir-validation-resources-r4
// (org/hl7/fhir/r4/model/profile/). fetch.sh gets that jar with mvn and runs this command;
// the output, r4-definitions.json, is committed, so generating the tables needs no network.
package main

import (
	"archive/zip"
	"encoding/json"
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// resources are the non-WriteAPI resource types given their own definitions (issue 4).
var resources = []string{"Patient", "Practitioner", "PractitionerRole", "Organization", "Encounter", "Medication", "Observation"}

type xval struct {
	Value string `xml:"value,attr"`
}

type xElement struct {
	Path             xval `xml:"path"`
	Min              xval `xml:"min"`
	Max              xval `xml:"max"`
	ContentReference xval `xml:"contentReference"`
	Type             []struct {
		Code xval `xml:"code"`
	} `xml:"type"`
	Binding *struct {
		Strength xval `xml:"strength"`
		ValueSet xval `xml:"valueSet"`
	} `xml:"binding"`
}

type xStructureDefinition struct {
	Type        xval `xml:"type"`
	Kind        xval `xml:"kind"`
	Abstract    xval `xml:"abstract"`
	Derivation  xval `xml:"derivation"`
	FHIRVersion xval `xml:"fhirVersion"`
	Snapshot    struct {
		Element []xElement `xml:"element"`
	} `xml:"snapshot"`
}

type xBundle struct {
	Entry []struct {
		Resource struct {
			SD *xStructureDefinition `xml:"StructureDefinition"`
		} `xml:"resource"`
	} `xml:"entry"`
}

// Output mirrors the FHIR JSON of the fields the generator reads.
type element struct {
	Path             string `json:"path"`
	Min              int    `json:"min"`
	Max              string `json:"max"`
	ContentReference string `json:"contentReference,omitempty"`
	Type             []struct {
		Code string `json:"code"`
	} `json:"type,omitempty"`
	Binding *struct {
		Strength string `json:"strength"`
		ValueSet string `json:"valueSet,omitempty"`
	} `json:"binding,omitempty"`
}

type structureDefinition struct {
	ResourceType string `json:"resourceType"`
	Type         string `json:"type"`
	Kind         string `json:"kind"`
	FHIRVersion  string `json:"fhirVersion"`
	Snapshot     struct {
		Element []element `json:"element"`
	} `json:"snapshot"`
}

func main() {
	jar := flag.String("jar", "", "hapi-fhir-validation-resources-r4 jar")
	out := flag.String("out", "r4-definitions.json", "output file")
	flag.Parse()
	if err := run(*jar, *out); err != nil {
		fmt.Fprintln(os.Stderr, "extract:", err)
		os.Exit(1)
	}
}

func run(jar, out string) error {
	zr, err := zip.OpenReader(jar)
	if err != nil {
		return err
	}
	defer zr.Close()
	var sds []structureDefinition
	want := map[string]bool{}
	for _, r := range resources {
		want[r] = true
	}
	for _, name := range []string{"profiles-types.xml", "profiles-resources.xml"} {
		f, err := zr.Open("org/hl7/fhir/r4/model/profile/" + name)
		if err != nil {
			return err
		}
		b, err := io.ReadAll(f)
		f.Close()
		if err != nil {
			return err
		}
		var bundle xBundle
		if err := xml.Unmarshal(b, &bundle); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		for _, e := range bundle.Entry {
			sd := e.Resource.SD
			if sd == nil || sd.Derivation.Value != "specialization" || sd.FHIRVersion.Value != "4.0.1" {
				continue
			}
			complexType := sd.Kind.Value == "complex-type" && sd.Abstract.Value != "true"
			if !complexType && !(sd.Kind.Value == "resource" && want[sd.Type.Value]) {
				continue
			}
			sds = append(sds, convert(sd))
		}
	}
	sort.Slice(sds, func(i, j int) bool { return sds[i].Type < sds[j].Type })
	found := map[string]bool{}
	for _, sd := range sds {
		found[sd.Type] = true
	}
	for _, r := range resources {
		if !found[r] {
			return fmt.Errorf("no StructureDefinition for %s", r)
		}
	}
	b, err := json.MarshalIndent(sds, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(out, append(b, '\n'), 0o644)
}

func convert(x *xStructureDefinition) structureDefinition {
	sd := structureDefinition{ResourceType: "StructureDefinition", Type: x.Type.Value, Kind: x.Kind.Value, FHIRVersion: x.FHIRVersion.Value}
	for _, xe := range x.Snapshot.Element {
		e := element{Path: xe.Path.Value, Max: xe.Max.Value, ContentReference: xe.ContentReference.Value}
		fmt.Sscan(xe.Min.Value, &e.Min)
		for _, t := range xe.Type {
			e.Type = append(e.Type, struct {
				Code string `json:"code"`
			}{strings.TrimSpace(t.Code.Value)})
		}
		if xe.Binding != nil {
			e.Binding = &struct {
				Strength string `json:"strength"`
				ValueSet string `json:"valueSet,omitempty"`
			}{xe.Binding.Strength.Value, xe.Binding.ValueSet.Value}
		}
		sd.Snapshot.Element = append(sd.Snapshot.Element, e)
	}
	return sd
}
