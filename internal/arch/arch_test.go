// Package arch holds the test that enforces the one-way data flow between packages:
// Kafka → consumer → transform → writeapi → producer → Kafka, with no stage importing
// another and the simulator independent of the code it checks.
package arch

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/jft-gateway/jft-gateway"

// deps returns every package pkg depends on, transitively, as `go list -deps` sees them.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-json=ImportPath", mod+"/"+pkg).Output()
	if err != nil {
		t.Fatalf("go list %s: %v", pkg, err)
	}
	var all []string
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p struct{ ImportPath string }
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		all = append(all, p.ImportPath)
	}
	return all
}

func TestImportRules(t *testing.T) {
	rules := []struct {
		pkg        string
		forbidden  []string
		stdlibOnly bool
	}{
		{pkg: "internal/jft", stdlibOnly: true},
		{pkg: "consumer", forbidden: []string{mod + "/transform", mod + "/writeapi", mod + "/producer", mod + "/internal/pipeline", "net/http", "github.com/samply/"}},
		{pkg: "transform", forbidden: []string{"net", "net/http", "os/exec", "github.com/twmb/franz-go/", "go.opentelemetry.io/otel/sdk/", mod + "/writeapi", mod + "/producer", mod + "/consumer"}},
		{pkg: "writeapi", forbidden: []string{"github.com/twmb/franz-go/", mod + "/transform", mod + "/producer", mod + "/consumer"}},
		{pkg: "producer", forbidden: []string{mod + "/transform", mod + "/writeapi", mod + "/consumer"}},
		{pkg: "internal/pipeline", forbidden: []string{mod + "/consumer"}},
		{pkg: "jftsim", forbidden: []string{mod + "/transform", mod + "/writeapi", mod + "/consumer", mod + "/producer", mod + "/internal/pipeline", mod + "/internal/gateway"}},
	}
	for _, r := range rules {
		t.Run(r.pkg, func(t *testing.T) {
			for _, d := range deps(t, r.pkg) {
				if d == mod+"/"+r.pkg {
					continue
				}
				if r.stdlibOnly && strings.Contains(strings.SplitN(d, "/", 2)[0], ".") {
					t.Errorf("%s must import only the standard library, imports %s", r.pkg, d)
				}
				for _, f := range r.forbidden {
					if matches(d, f) {
						t.Errorf("%s must not depend on %s (found %s)", r.pkg, f, d)
					}
				}
			}
		})
	}
}

// matches reports whether dependency d is the forbidden f: a path ending in "/" forbids
// everything below it, a package of this module forbids its subpackages too, and any other
// path (a standard library package) only itself.
func matches(d, f string) bool {
	switch {
	case strings.HasSuffix(f, "/"):
		return strings.HasPrefix(d, f)
	case strings.HasPrefix(f, mod+"/"):
		return d == f || strings.HasPrefix(d, f+"/")
	default:
		return d == f
	}
}
