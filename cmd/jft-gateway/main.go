// Command jft-gateway forwards FHIR events and journaling acknowledgements from Kafka to
// NHN's JFT WriteAPI and publishes one result per input record.
//
//	jft-gateway serve   production: configuration from JFT_* variables
//	jft-gateway dev     embedded Kafka (kfake) + WriteAPI simulator + gateway, until stopped
//	jft-gateway demo    dev, plus sample events in and a table of their results out
//	jft-gateway help    every variable with its default
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "jft-gateway:", err)
		os.Exit(1)
	}
}

const usage = `usage: jft-gateway <command>

commands:
  serve   run the gateway against the Kafka and WriteAPI in the JFT_* variables
  dev     run an embedded Kafka, the WriteAPI simulator and the gateway until stopped
  demo    like dev, then produce sample events, print their results and exit
  help    list every configuration variable with its default
  version print the version
`

// run is the whole program, testable in process: args without the program name, getenv
// for configuration, stdout for results and tables, stderr for logs.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("no command given")
	}
	switch args[0] {
	case "serve":
		return serve(ctx, getenv, stderr)
	case "dev":
		return dev(ctx, getenv, stdout, stderr)
	case "demo":
		return demo(ctx, getenv, stdout, stderr)
	case "help", "-h", "--help":
		return help(stdout)
	case "version":
		_, err := fmt.Fprintln(stdout, version)
		return err
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}
