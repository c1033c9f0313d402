package transform

import (
	"os"
	"path/filepath"
	"testing"
)

// sharedDir finds ../shared beside the repository root (the directory holding go.mod).
func sharedDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			s := filepath.Join(dir, "..", "shared")
			if _, err := os.Stat(s); err != nil {
				t.Skipf("../shared not found beside the repository: %v", err)
			}
			return s
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

// fixtures returns the official examples of the three WriteAPI types.
func fixtures(t testing.TB) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, pattern := range []string{"fixtures/fhir-r4/official/*.json", "fixtures/fhir-r4/no-basis/Bundle-*.json"} {
		files, err := filepath.Glob(filepath.Join(sharedDir(t), pattern))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			out[filepath.Base(filepath.Dir(f))+"/"+filepath.Base(f)] = b
		}
	}
	if len(out) < 30 {
		t.Fatalf("only %d fixtures found", len(out))
	}
	return out
}
