package transform

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGeneratedTablesAreCurrent regenerates zz_elements.go from ../shared and compares:
// the committed tables must be what the definitions say.
func TestGeneratedTablesAreCurrent(t *testing.T) {
	out := filepath.Join(t.TempDir(), "zz_elements.go")
	defs := filepath.Join(sharedDir(t), "fixtures", "fhir-r4", "definitions")
	// The data types' and other resources' definitions come from Maven Central (cached).
	extra, err := exec.Command("bash", "internal/gen/fetch.sh").Output()
	if err != nil {
		if _, look := exec.LookPath("mvn"); look != nil {
			t.Skip("the R4 definition bundles come from Maven Central with mvn, which is not installed (.ci/run installs it)")
		}
		t.Fatalf("internal/gen/fetch.sh: %v", err)
	}
	cmd := exec.Command("go", "run", "./internal/gen", "-definitions", defs, "-extra", strings.TrimSpace(string(extra)), "-out", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gen: %v\n%s", err, b)
	}
	want, _ := os.ReadFile(out)
	got, err := os.ReadFile("zz_elements.go")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatal("zz_elements.go is out of date: go generate ./transform/")
	}
	for _, p := range []string{"Period.start", "HumanName.family", "Patient.birthDate", "Observation.effective[x]", "Identifier.system"} {
		if _, ok := defElements[p]; !ok {
			t.Errorf("no table entry for %s", p)
		}
	}
	if len(defElements) < 100 || len(requiredCodes["http://hl7.org/fhir/ValueSet/medicationdispense-status"]) != 9 {
		t.Fatalf("tables look empty: %d elements", len(defElements))
	}
}
