package transform

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGeneratedTablesAreCurrent regenerates zz_elements.go from ../shared and compares:
// the committed tables must be what the definitions say.
func TestGeneratedTablesAreCurrent(t *testing.T) {
	out := filepath.Join(t.TempDir(), "zz_elements.go")
	defs := filepath.Join(sharedDir(t), "fixtures", "fhir-r4", "definitions")
	cmd := exec.Command("go", "run", "./internal/gen", "-definitions", defs, "-out", out)
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
	if len(defElements) < 100 || len(requiredCodes["http://hl7.org/fhir/ValueSet/medicationdispense-status"]) != 9 {
		t.Fatalf("tables look empty: %d elements", len(defElements))
	}
}
