// Command jft-sim serves the JFT WriteAPI + HelseID simulator (package jftsim) for local
// tests, docker-compose and vendors who want to try their integration offline.
//
//	jft-sim          serve with the JFT_SIM_* configuration
//	jft-sim help     list the variables with their defaults
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"

	"github.com/sethvargo/go-envconfig"

	"github.com/jft-gateway/jft-gateway/internal/gateway"
	"github.com/jft-gateway/jft-gateway/jftsim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "jft-sim:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends; ready, when not nil, receives the server once it listens.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	return serve(ctx, args, getenv, stdout, nil)
}

func serve(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, ready chan<- *jftsim.Server) error {
	if len(args) > 0 {
		switch args[0] {
		case "help", "-h", "--help":
			return help(stdout)
		default:
			return fmt.Errorf("unknown argument %q (try: jft-sim help)", args[0])
		}
	}
	var cfg jftsim.Config
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: &cfg, Lookuper: gateway.Lookuper(getenv)}); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	srv, err := jftsim.NewServer(cfg)
	if err != nil {
		return err
	}
	defer srv.Close()
	fmt.Fprintf(stdout, "jft-sim listening on %s (environment %s, auth %s)\n", srv.URL, cfg.Environment, cfg.Auth)
	fmt.Fprintf(stdout, "  WriteAPI  POST %s/v1/{Bundle|Composition|MedicationDispense}\n", srv.URL)
	if cfg.Auth == "on" {
		fmt.Fprintf(stdout, "  HelseID   %s/.well-known/openid-configuration\n", srv.URL)
	}
	fmt.Fprintf(stdout, "  admin     %s/_sim/events, /_sim/stats, /_sim/faults\n", srv.URL)
	if ready != nil {
		ready <- srv
	}
	<-ctx.Done()
	return nil
}

func help(stdout io.Writer) error {
	fmt.Fprintln(stdout, "usage: jft-sim [help]\n\nconfiguration (environment variables; jftsim/README.md explains each):")
	w := tabwriter.NewWriter(stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(w, "  VARIABLE\tDEFAULT")
	for _, v := range gateway.Variables(jftsim.Config{}) {
		def := v.Default
		if def == "" {
			def = `""`
		}
		fmt.Fprintf(w, "  %s\t%s\n", v.Name, def)
	}
	return w.Flush()
}
