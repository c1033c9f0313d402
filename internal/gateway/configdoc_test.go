package gateway_test

import (
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/jft-gateway/jft-gateway/internal/gateway"
)

var update = flag.Bool("update", false, "rewrite docs/configuration.md")

const module = "github.com/jft-gateway/jft-gateway"

// fieldDocs returns the doc comment of every struct field in the package at dir, keyed
// "Type.Field".
func fieldDocs(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	fset := token.NewFileSet()
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(af, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				return true
			}
			for _, fl := range st.Fields.List {
				for _, name := range fl.Names {
					if fl.Doc != nil {
						out[ts.Name.Name+"."+name.Name] = strings.Join(strings.Fields(fl.Doc.Text()), " ")
					}
				}
			}
			return true
		})
	}
	return out
}

// rows walks a config struct and returns one table row per variable.
func rows(t *testing.T, typ reflect.Type, docs map[string]map[string]string) []string {
	var out []string
	for i := range typ.NumField() {
		f := typ.Field(i)
		tag, ok := f.Tag.Lookup("env")
		if !ok {
			if f.Type.Kind() == reflect.Struct {
				out = append(out, rows(t, f.Type, docs)...)
			}
			continue
		}
		v := gateway.Variables(reflect.New(typ).Elem().Interface())
		var vr gateway.Variable
		for _, x := range v {
			if x.Section == f.Name {
				vr = x
			}
		}
		_ = tag
		pkg := typ.PkgPath()
		if docs[pkg] == nil {
			docs[pkg] = fieldDocs(t, filepath.Join("..", "..", strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")))
		}
		doc := docs[pkg][typ.Name()+"."+f.Name]
		def := "`" + vr.Default + "`"
		if vr.Default == "" {
			def = "—"
		}
		out = append(out, fmt.Sprintf("| `%s` | %s | %s |", vr.Name, def, strings.ReplaceAll(doc, "|", "\\|")))
	}
	return out
}

// TestConfigurationDocIsCurrent keeps docs/configuration.md equal to what the config
// structs say (names, defaults, doc comments). Run with -update after changing them.
func TestConfigurationDocIsCurrent(t *testing.T) {
	docs := map[string]map[string]string{}
	var b strings.Builder
	b.WriteString("# Configuration\n\nGenerated from the configuration structs by `go test ./internal/gateway -run TestConfigurationDocIsCurrent -update`; a test fails when it is out of date. `jft-gateway help` prints the same list.\n\n")
	b.WriteString("Every setting is an environment variable. Durations are Go durations (`250ms`, `30s`, `2m`); lists are comma-separated.\n\n")
	sections := []struct {
		title string
		typ   reflect.Type
		intro string
	}{
		{"jft-gateway", reflect.TypeOf(gateway.Config{}), "`serve` reads these. `JFT_ENVIRONMENT` is required: it picks the WriteAPI and HelseID hosts and which identity numbers are accepted."},
	}
	for _, s := range sections {
		fmt.Fprintf(&b, "## %s\n\n%s\n\n| variable | default | meaning |\n|---|---|---|\n", s.title, s.intro)
		seen := map[string]bool{}
		for _, r := range rows(t, s.typ, docs) {
			name := strings.SplitN(r, "`", 3)[1]
			if seen[name] {
				continue // one variable read by several packages
			}
			seen[name] = true
			b.WriteString(r + "\n")
		}
		b.WriteString("\n")
	}
	b.WriteString("## OpenTelemetry\n\nThe standard variables: `OTEL_TRACES_EXPORTER` (`none` or `otlp`; default `otlp` when an OTLP endpoint is set, else `none`), `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `OTEL_SERVICE_NAME`.\n\n")
	b.WriteString("## dev and demo\n\n`JFT_DEV_KAFKA_ADDR` (default `127.0.0.1:9092`), `JFT_DEV_DATA_DIR` (`.jft-dev`), `JFT_DEV_PARTITIONS` (`6`), `JFT_DEV_SIM_ADDR` (`127.0.0.1:8088`). The simulator's own variables (`JFT_SIM_*`) are in [jftsim/README.md](../jftsim/README.md).\n")
	path := filepath.Join("..", "..", "docs", "configuration.md")
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	cur, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(cur) != b.String() {
		t.Fatal("docs/configuration.md is out of date: go test ./internal/gateway -run TestConfigurationDocIsCurrent -update")
	}
}
