package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/jft-gateway/jft-gateway/internal/gateway"
)

// help prints every configuration variable with its default.
func help(stdout io.Writer) error {
	fmt.Fprint(stdout, usage)
	fmt.Fprintln(stdout, "\nconfiguration (environment variables; docs/configuration.md explains each):")
	w := tabwriter.NewWriter(stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(w, "  VARIABLE\tDEFAULT\tSECTION")
	seen := map[string]bool{}
	for _, v := range append(gateway.Variables(gateway.Config{}), gateway.Variables(devConfig{})...) {
		if seen[v.Name] {
			continue // read by several packages
		}
		seen[v.Name] = true
		def := v.Default
		if v.Required {
			def = "(required)"
		} else if def == "" {
			def = `""`
		}
		fmt.Fprintf(w, "  %s\t%s\t%s\n", v.Name, def, v.Section)
	}
	fmt.Fprintln(w, "  OTEL_TRACES_EXPORTER\tnone (otlp when an OTLP endpoint is set)\tOpenTelemetry")
	fmt.Fprintln(w, "  OTEL_EXPORTER_OTLP_ENDPOINT\t\"\"\tOpenTelemetry")
	return w.Flush()
}
