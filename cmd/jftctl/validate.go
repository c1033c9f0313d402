package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/sethvargo/go-envconfig"

	"github.com/jft-gateway/jft-gateway/internal/gateway"
	"github.com/jft-gateway/jft-gateway/internal/jft"
	"github.com/jft-gateway/jft-gateway/transform"
)

// jftTestOrgnr is the JFT Test municipality: the default tenant in the test environment.
const jftTestOrgnr = "312229544"

// validate runs the gateway's own validation (transform, with the same JFT_* rule
// settings) on files, offline, and prints every problem with its code, element path and
// message, never a value. It fails when any file would be rejected.
func (c *cli) validate(args []string) error {
	fs := c.flags("validate")
	environment := fs.String("environment", c.getenv("JFT_ENVIRONMENT"), "test or prod (default JFT_ENVIRONMENT): which identity and organisation numbers are acceptable")
	tenant := fs.String("tenant", "", "municipality organisation number, as the record key would carry it (default in test: the JFT Test municipality "+jftTestOrgnr+")")
	typ := fs.String("type", "", "resource type the file is meant as (Bundle, Composition or MedicationDispense: the WriteAPI endpoint); empty: the file's resourceType")
	kind := fs.String("kind", string(jft.KindEvent), "event, or acknowledgement for the acks topic's {resourceType, resourceId}")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("validate: give one or more files or directories")
	}
	if *environment != "test" && *environment != "prod" {
		return fmt.Errorf("-environment: %q is not test or prod (set it or JFT_ENVIRONMENT)", *environment)
	}
	if *typ != "" && !slices.Contains(transform.ResourceTypes, *typ) {
		return fmt.Errorf("-type: %q is not one of %s", *typ, strings.Join(transform.ResourceTypes, ", "))
	}
	if *kind != string(jft.KindEvent) && *kind != string(jft.KindAcknowledgement) {
		return fmt.Errorf("-kind: %q is not %s or %s", *kind, jft.KindEvent, jft.KindAcknowledgement)
	}
	var cfg transform.Config
	if err := envconfig.ProcessWith(c.ctx, &envconfig.Config{Target: &cfg, Lookuper: gateway.Lookuper(c.getenv)}); err != nil {
		return fmt.Errorf("configuration: %s: %w", variableOf(cfg, err), err)
	}
	cfg.Environment = *environment
	if *tenant == "" && cfg.Environment == "test" {
		*tenant = jftTestOrgnr
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
		cmd, err := tr.Transform(transform.Input{Kind: jft.Kind(*kind), Key: []byte(*tenant), Value: b})
		var e *jft.Error
		if err != nil && !errors.As(err, &e) {
			return fmt.Errorf("%s: %w", f, err)
		}
		if *typ != "" && cmd.ResourceType != *typ && slices.Contains(transform.ResourceTypes, cmd.ResourceType) {
			// What the WriteAPI answers when a resource is posted to another type's endpoint.
			mismatch := jft.Issue{Severity: jft.SeverityError, Code: jft.CodeResourceTypeMismatch, Path: cmd.ResourceType,
				Message: fmt.Sprintf("a %s where -type wants a %s", cmd.ResourceType, *typ)}
			msg, issues := mismatch.Message, []jft.Issue{mismatch}
			if e != nil {
				msg += fmt.Sprintf(", and %d problem(s) of its own", len(e.Issues))
				issues = append(issues, e.Issues...)
			}
			e = &jft.Error{Code: jft.CodeResourceTypeMismatch, Message: msg, Issues: issues}
		}
		if e == nil {
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
