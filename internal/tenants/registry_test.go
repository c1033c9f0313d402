package tenants

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRegistryLoadsAndReloads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tenants.yaml")
	if err := WriteDemoFile(path); err != nil {
		t.Fatal(err)
	}
	r, err := Load(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	if tn, ok := r.Lookup("312229544"); !ok || tn.Name != "JFT Test kommune" {
		t.Fatalf("lookup %+v %v", tn, ok)
	}
	if _, ok := r.Lookup("915933149"); ok {
		t.Fatal("unlisted tenant found")
	}
	os.WriteFile(path, []byte("tenants:\n  - orgnr: \"915933149\"\n    name: Added\n"), 0o600)
	if tn, ok := r.Lookup("915933149"); !ok || tn.Name != "Added" {
		t.Fatalf("hot reload: %+v %v", tn, ok)
	}
	if _, ok := r.Lookup("312229544"); ok {
		t.Fatal("removed tenant still found")
	}
	os.WriteFile(path, []byte("tenants: [ {orgnr: 12} ]\n"), 0o600)
	if _, ok := r.Lookup("915933149"); !ok || r.Err() == nil || !strings.Contains(r.Err().Error(), "JFT_TENANTS_FILE") {
		t.Fatalf("a broken edit must keep the last good list and report: %v", r.Err())
	}
}

func TestRegistryRejectsBadFiles(t *testing.T) {
	for name, content := range map[string]string{
		"bad orgnr":       "tenants:\n  - orgnr: abc\n",
		"duplicate":       "tenants:\n  - orgnr: \"312229544\"\n  - orgnr: \"312229544\"\n",
		"half a client":   "tenants:\n  - orgnr: \"312229544\"\n    client_id: x\n",
		"not yaml at all": "{{{",
	} {
		path := filepath.Join(t.TempDir(), "t.yaml")
		os.WriteFile(path, []byte(content), 0o600)
		if _, err := Load(path, time.Second); err == nil || !strings.Contains(err.Error(), "JFT_TENANTS_FILE") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
