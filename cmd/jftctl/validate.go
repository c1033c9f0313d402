package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/sethvargo/go-envconfig"

	"github.com/jft-gateway/jft-gateway/internal/gateway"
	"github.com/jft-gateway/jft-gateway/internal/jft"
	"github.com/jft-gateway/jft-gateway/transform"
)

// validate runs the gateway's own validation on files, offline, and prints every problem
// with its code and element path, never a value. It fails when any file would be rejected.
func (c *cli) validate(args []string) error {
	fs, _ := c.flags("validate")
	environment := fs.String("environment", c.getenv("JFT_ENVIRONMENT"), "test or prod (JFT_ENVIRONMENT): which identity and organisation numbers are acceptable")
	tenant := fs.String("tenant", "", "municipality organisation number, as the record key would carry it (default: the environment's JFT Test municipality in test)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("validate: give one or more files or directories")
	}
	var cfg transform.Config
	if err := envconfig.ProcessWith(c.ctx, &envconfig.Config{Target: &cfg, Lookuper: gateway.Lookuper(c.getenv)}); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	cfg.Environment = *environment
	if *tenant == "" && cfg.Environment == "test" {
		*tenant = "312229544" // JFT Test kommune
	}
	if *tenant == "" {
		return fmt.Errorf("-tenant: the municipality's organisation number is needed in %s", cfg.Environment)
	}
	tr, err := transform.New(cfg)
	if err != nil {
		return err
	}
	files, err := jsonFiles(fs.Args())
	if err != nil {
		return err
	}
	rejected := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("read %s: %w", f, err)
		}
		cmd, err := tr.Transform(transform.Input{Kind: jft.KindEvent, Key: []byte(*tenant), Value: b})
		if err == nil {
			fmt.Fprintf(c.stdout, "ok        %s  %s", f, cmd.ResourceType)
			if len(cmd.Warnings) > 0 {
				fmt.Fprintf(c.stdout, "  (%d warnings)", len(cmd.Warnings))
			}
			fmt.Fprintln(c.stdout)
			for _, w := range cmd.Warnings {
				fmt.Fprintf(c.stdout, "  warning  %-28s %s: %s\n", w.Code, w.Path, w.Message)
			}
			continue
		}
		rejected++
		var e *jft.Error
		if !errors.As(err, &e) {
			return fmt.Errorf("%s: %w", f, err)
		}
		fmt.Fprintf(c.stdout, "rejected  %s  %s: %s\n", f, e.Code, e.Message)
		for _, i := range e.Issues {
			fmt.Fprintf(c.stdout, "  %-7s  %-28s %s: %s\n", strings.ToLower(string(i.Severity)), i.Code, i.Path, i.Message)
		}
	}
	fmt.Fprintf(c.stdout, "%d of %d files would be rejected\n", rejected, len(files))
	if rejected > 0 {
		return errReported
	}
	return nil
}
