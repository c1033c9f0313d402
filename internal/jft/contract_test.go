package jft

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"sort"
	"strconv"
	"testing"
)

// codesInSource collects the values of every Code constant declared in this package.
func codesInSource(t *testing.T) map[string]bool {
	t.Helper()
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", func(fi os.FileInfo) bool { return !isTest(fi.Name()) }, 0)
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]bool{}
	for _, pkg := range pkgs {
		ast.Inspect(pkg, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok || vs.Type == nil {
				return true
			}
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Code" {
				return true
			}
			for _, v := range vs.Values {
				if lit, ok := v.(*ast.BasicLit); ok {
					s, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					codes[s] = true
				}
			}
			return true
		})
	}
	return codes
}

func isTest(name string) bool { return len(name) > 8 && name[len(name)-8:] == "_test.go" }

// TestEveryCodeIsDocumented keeps docs/contract.md's error code table and the constants in
// step: consumers of results rely on the documented list.
func TestEveryCodeIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/contract.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([A-Z][A-Z0-9_]*)` \\|").FindAllSubmatch(doc, -1) {
		documented[string(m[1])] = true
	}
	source := codesInSource(t)
	if len(source) < 10 {
		t.Fatalf("found only %d codes in source; the parser is not reading errors.go", len(source))
	}
	var missing, stale []string
	for c := range source {
		if !documented[c] {
			missing = append(missing, c)
		}
	}
	for c := range documented {
		if !source[c] {
			stale = append(stale, c)
		}
	}
	sort.Strings(missing)
	sort.Strings(stale)
	if len(missing) > 0 {
		t.Errorf("codes without a row in docs/contract.md: %v", missing)
	}
	if len(stale) > 0 {
		t.Errorf("docs/contract.md documents codes that do not exist: %v", stale)
	}
}

func TestCodeOfAndPermanence(t *testing.T) {
	perm := Permanentf(CodeSizeLimit, "value is %d bytes over the limit", 3)
	tests := []struct {
		name      string
		err       error
		code      Code
		permanent bool
	}{
		{"nil has no code", nil, "", false},
		{"a foreign error is INTERNAL and transient", os.ErrClosed, CodeInternal, false},
		{"a permanent error keeps its code", perm, CodeSizeLimit, true},
		{"wrapping keeps code and class", &wrapped{perm}, CodeSizeLimit, true},
		{"a transient error is not permanent", Transientf(CodeAPIUnavailable, "503"), CodeAPIUnavailable, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CodeOf(tt.err); got != tt.code {
				t.Errorf("CodeOf = %q, want %q", got, tt.code)
			}
			if got := IsPermanent(tt.err); got != tt.permanent {
				t.Errorf("IsPermanent = %v, want %v", got, tt.permanent)
			}
		})
	}
	if e := AsError(os.ErrClosed); e.Message != "internal error" {
		t.Errorf("AsError of a foreign error leaks its text into Message: %q", e.Message)
	}
}

type wrapped struct{ err error }

func (w *wrapped) Error() string { return "op: " + w.err.Error() }
func (w *wrapped) Unwrap() error { return w.err }

func TestCommandPath(t *testing.T) {
	if got := (Command{Kind: KindEvent, ResourceType: "Bundle"}).Path(); got != "/v1/Bundle" {
		t.Errorf("event path = %q", got)
	}
	ack := Command{Kind: KindAcknowledgement, ResourceType: "MedicationDispense", ResourceID: "0f6c2d3e-1b2a-4c5d-8e9f-0a1b2c3d4e5f"}
	if got := ack.Path(); got != "/v1/MedicationDispense/0f6c2d3e-1b2a-4c5d-8e9f-0a1b2c3d4e5f/$journaling-acknowledged" {
		t.Errorf("ack path = %q", got)
	}
}
