package transform

import (
	"fmt"
	"strings"
)

// Rule modes for classes of findings whose WriteAPI behaviour is not documented.
const (
	ModeReject = "reject"
	ModeWarn   = "warn"
)

// Config of validation. Environment is required: it decides which identity and
// organisation numbers are acceptable, so a wrong default would mix test and production data.
type Config struct {
	// Environment is test (synthetic identity and organisation numbers only) or prod
	// (real ones only).
	Environment string `env:"JFT_ENVIRONMENT"`
	// MaxBodyBytes is the largest event sent; the WriteAPI documents "approximately 1 MB".
	MaxBodyBytes int `env:"JFT_MAX_BODY_BYTES, default=1000000"`
	// SyntheticOrgnrPrefixes are the first digits taken to mark a synthetic organisation
	// number. No official rule exists (jft-facts.md §3.5): every synthetic number seen
	// starts with 2 or 3, every real one with 8 or 9.
	SyntheticOrgnrPrefixes []string `env:"JFT_SYNTHETIC_ORGNR_PREFIXES, default=2,3"`
	// SyntheticNINMonthOffsets are the month offsets of synthetic identity numbers: +65
	// (NHN SyntPop reserved persons) and +80 (Skatteetaten Tenor), jft-facts.md §3.2.
	SyntheticNINMonthOffsets []int `env:"JFT_SYNTHETIC_NIN_MONTH_OFFSETS, default=65,80"`
	// UnknownElements is reject or warn for properties R4 does not define. The WriteAPI
	// deserialises strictly, so reject is the default.
	UnknownElements string `env:"JFT_RULE_UNKNOWN_ELEMENTS, default=reject"`
	// BundleResources is reject or warn for structural findings inside resources of other
	// types than the three the WriteAPI takes (a Bundle's Patient, Organization, …). The
	// WriteAPI deserialises the whole Bundle as R4, so reject is the default; identity and
	// organisation number rules are never downgraded.
	BundleResources string `env:"JFT_RULE_BUNDLE_RESOURCES, default=reject"`
	// UnknownResourceTypes is reject or warn for resources of types the gateway has no
	// element tables for (inside Bundles or contained); warn by default, since that is a
	// gap of ours, not necessarily the event's.
	UnknownResourceTypes string `env:"JFT_RULE_UNKNOWN_RESOURCE_TYPES, default=warn"`
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if c.Environment != "test" && c.Environment != "prod" {
		return fmt.Errorf("JFT_ENVIRONMENT: %q is not test or prod (required: it decides which identity numbers are accepted)", c.Environment)
	}
	if c.MaxBodyBytes < 1024 || c.MaxBodyBytes > 16<<20 {
		return fmt.Errorf("JFT_MAX_BODY_BYTES: %d is not between 1024 and %d", c.MaxBodyBytes, 16<<20)
	}
	if len(c.SyntheticOrgnrPrefixes) == 0 {
		return fmt.Errorf("JFT_SYNTHETIC_ORGNR_PREFIXES: at least one prefix is needed")
	}
	for _, p := range c.SyntheticOrgnrPrefixes {
		if p == "" || len(p) > 8 || strings.Trim(p, "0123456789") != "" {
			return fmt.Errorf("JFT_SYNTHETIC_ORGNR_PREFIXES: %q is not a run of 1–8 digits", p)
		}
	}
	for _, m := range c.SyntheticNINMonthOffsets {
		if m < 13 || m > 87 || (m >= 28 && m <= 52) {
			return fmt.Errorf("JFT_SYNTHETIC_NIN_MONTH_OFFSETS: %d would collide with real months or H-numbers (+40)", m)
		}
	}
	for name, v := range map[string]string{"JFT_RULE_UNKNOWN_ELEMENTS": c.UnknownElements,
		"JFT_RULE_BUNDLE_RESOURCES": c.BundleResources, "JFT_RULE_UNKNOWN_RESOURCE_TYPES": c.UnknownResourceTypes} {
		if v != ModeReject && v != ModeWarn {
			return fmt.Errorf("%s: %q is not reject or warn", name, v)
		}
	}
	return nil
}
