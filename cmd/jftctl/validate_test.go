package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// broken writes the official Composition example with one change made by edit.
func broken(t *testing.T, name string, edit func(string) string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(official, "Composition-example.json"))
	if err != nil {
		t.Fatal(err)
	}
	changed := edit(string(b))
	if changed == string(b) {
		t.Fatalf("%s: the edit changed nothing", name)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(changed), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestValidateOffline(t *testing.T) {
	k := newKafka(t, false) // validate needs no broker; the same harness runs it
	good := filepath.Join(official, "Composition-example.json")
	singleAuthor := broken(t, "single-author.json", func(s string) string { // R4 wants an array
		return strings.Replace(s, "\"author\": [\n    {\n      \"reference\": \"Practitioner/xcda-author\",\n      \"display\": \"Harold Hippocrates, MD\"\n    }\n  ],",
			"\"author\": {\"reference\": \"Practitioner/xcda-author\", \"display\": \"Harold Hippocrates, MD\"},", 1)
	})
	badDate := broken(t, "bad-date.json", func(s string) string {
		return strings.Replace(s, `"date": "2012-01-04T09:10:14Z"`, `"date": "SECRET-not-a-date"`, 1)
	})

	tests := []struct {
		name     string
		args     []string
		rejected bool
		want     []string // in the output
	}{
		{"official example", []string{good}, false, []string{"ok        " + good + "  Composition", "0 of 1 files would be rejected"}},
		{"official directory", []string{official}, false, []string{"0 of 31 files would be rejected"}},
		{"single author", []string{good, singleAuthor}, true, []string{"rejected  " + singleAuthor + "  FHIR_CARDINALITY", "FHIR_CARDINALITY", "Composition.author", "1 of 2 files would be rejected"}},
		{"bad date", []string{badDate}, true, []string{"FHIR_PRIMITIVE_FORMAT", "Composition.date"}},
		{"-type other than the file's", []string{"-type", "MedicationDispense", good}, true, []string{"rejected  " + good + "  RESOURCE_TYPE_MISMATCH"}},
		{"-type the file's", []string{"-type", "Composition", good}, false, []string{"ok "}},
		{"prod with a synthetic municipality", []string{"-environment", "prod", "-tenant", "312229544", good}, true, []string{"ORGNR_SYNTHETIC_IN_PROD"}},
		{"test with an invalid municipality", []string{"-tenant", "312229545", good}, true, []string{"TENANT_INVALID"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"validate", "-environment", "test"}, tt.args...)
			out, _, err := k.jftctl(args...)
			if tt.rejected && !errors.Is(err, errReported) || !tt.rejected && err != nil {
				t.Errorf("err %v, rejected want %v", err, tt.rejected)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			// Problems name codes and paths, never values.
			for _, value := range []string{"SECRET", "Harold Hippocrates", "Consultation Note", "xcda-author"} {
				if strings.Contains(out, value) {
					t.Errorf("output shows the value %q:\n%s", value, out)
				}
			}
		})
	}
}

func TestValidateAcknowledgements(t *testing.T) {
	k := newKafka(t, false)
	dir := t.TempDir()
	ack := filepath.Join(dir, "ack.json")
	bad := filepath.Join(dir, "bad-ack.json")
	for path, v := range map[string]string{
		ack: `{"resourceType":"MedicationDispense","resourceId":"4a1d5f4e-3d0b-4b4e-9a43-5f7e1c2b9d10"}`,
		bad: `{"resourceType":"MedicationDispense","resourceId":"4a1d5f4e-3d0b-4b4e-9a43-5f7e1c2b9d10","note":"x"}`,
	} {
		if err := os.WriteFile(path, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if out, _, err := k.jftctl("validate", "-environment", "test", "-kind", "acknowledgement", ack); err != nil || !strings.Contains(out, "ok ") {
		t.Errorf("a valid acknowledgement: %v\n%s", err, out)
	}
	if out, _, err := k.jftctl("validate", "-environment", "test", "-kind", "acknowledgement", bad); !errors.Is(err, errReported) || !strings.Contains(out, "ACK_INVALID") {
		t.Errorf("an acknowledgement with an extra member: %v\n%s", err, out)
	}
	if out, _, err := k.jftctl("validate", "-environment", "test", "-kind", "acknowledgement", "-type", "Bundle", ack); !errors.Is(err, errReported) || !strings.Contains(out, "RESOURCE_TYPE_MISMATCH") {
		t.Errorf("an acknowledgement of another type: %v\n%s", err, out)
	}
}

func TestValidateRefusesBadFlags(t *testing.T) {
	k := newKafka(t, false)
	good := filepath.Join(official, "Composition-example.json")
	for _, args := range [][]string{
		{"-environment", "staging", good},
		{good},                         // no environment: JFT_ENVIRONMENT is unset here
		{"-environment", "prod", good}, // prod needs -tenant
		{"-environment", "test", "-type", "Patient", good},
		{"-environment", "test", "-kind", "ack", good},
		{"-environment", "test"},
		{"-environment", "test", filepath.Join(t.TempDir(), "missing.json")},
	} {
		if _, _, err := k.jftctl(append([]string{"validate"}, args...)...); err == nil || errors.Is(err, errReported) {
			t.Errorf("validate %v: err %v, want a usage error", args, err)
		}
	}
	k.env["JFT_ENVIRONMENT"] = "test"
	if out, _, err := k.jftctl("validate", good); err != nil {
		t.Errorf("JFT_ENVIRONMENT=test: %v\n%s", err, out)
	}
	k.env["JFT_MAX_BODY_BYTES"] = "a lot"
	if _, _, err := k.jftctl("validate", good); err == nil || !strings.Contains(err.Error(), "JFT_MAX_BODY_BYTES") {
		t.Errorf("a bad rule variable: %v", err)
	}
}
