package transform

import (
	"encoding/json"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/jft-gateway/jft-gateway/internal/jft"
)

// mutation is one single change to a valid example and the issue it must produce.
type mutation struct {
	name     string
	doc      map[string]any
	wantCode jft.Code
	wantPath string
}

// looksLikeDate matches the values of date, dateTime and instant elements.
var looksLikeDate = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}(-[0-9]{2})?(T|$)`)

// mutate enumerates single mutations of every element of doc: every string emptied, every
// date rewritten in another format, every array replaced by its first item, every object
// given an unknown property.
func mutate(doc map[string]any) []mutation {
	var out []mutation
	var walk func(path string, v any, set func(any), inExtension bool)
	walk = func(path string, v any, set func(any), inExtension bool) {
		switch x := v.(type) {
		case string:
			if !inExtension {
				set("")
				out = append(out, mutation{name: "empty " + path, doc: deepCopy(doc), wantCode: jft.CodeFHIREmpty, wantPath: path})
				if looksLikeDate.MatchString(x) {
					// A date, dateTime or instant, at any depth (Period.start, Meta.lastUpdated…):
					// written the Norwegian way, it breaks the element's R4 format.
					set("31.12." + x[:4])
					out = append(out, mutation{name: "date format " + path, doc: deepCopy(doc), wantCode: jft.CodeFHIRFormat, wantPath: path})
				}
				set(x)
			}
		case []any:
			if len(x) > 0 && !inExtension {
				set(x[0])
				out = append(out, mutation{name: "single " + path, doc: deepCopy(doc), wantCode: jft.CodeFHIRCardinality, wantPath: path})
				set(x)
			}
			for i, item := range x {
				walk(path+"["+strconv.Itoa(i)+"]", item, func(nv any) { x[i] = nv }, inExtension)
			}
		case map[string]any:
			if !inExtension {
				x["unknownElementX"] = true
				out = append(out, mutation{name: "unknown in " + path, doc: deepCopy(doc), wantCode: jft.CodeFHIRUnknown, wantPath: path + ".unknownElementX"})
				delete(x, "unknownElementX")
			}
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if k == "resourceType" {
					continue
				}
				ext := inExtension || strings.HasPrefix(k, "_") || k == "extension" || k == "div"
				walk(path+"."+k, x[k], func(nv any) { x[k] = nv }, ext)
			}
		}
	}
	walk(doc["resourceType"].(string), doc, func(any) {}, false)
	return out
}

func deepCopy(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

// TestMutationCorpus: every single mutation of four valid examples (a Composition, two
// MedicationDispenses, one with a contained Medication, and a Bundle) is rejected with the
// expected code at the mutated element.
func TestMutationCorpus(t *testing.T) {
	tr := newT(t, "prod")
	total := 0
	for _, name := range []string{"official/Composition-example.json", "official/MedicationDispense-meddisp0301.json",
		"official/MedicationDispense-meddisp0307.json", "official/Bundle-bundle-response.json"} {
		for _, m := range mutate(load(t, name)) {
			total++
			_, err := tr.Transform(event("915933149", enc(t, m.doc)))
			found := false
			for _, is := range jft.AsError(err).Issues {
				if is.Code == m.wantCode && is.Path == m.wantPath {
					found = true
				}
			}
			if !found {
				t.Errorf("%s: %s: got %v %+v, want %s at %s", name, m.name, jft.CodeOf(err), jft.AsError(err).Issues, m.wantCode, m.wantPath)
			}
		}
	}
	if total < 150 {
		t.Fatalf("only %d mutations; the corpus must cover at least 150", total)
	}
	t.Logf("%d single mutations, each rejected with the expected code", total)
}
