package jftsim

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Config of the simulator; every field has a JFT_SIM_* variable (`jft-sim help`).
type Config struct {
	// Addr to listen on; port 0 picks a free port.
	Addr string `env:"JFT_SIM_ADDR, default=127.0.0.1:8088"`
	// Environment is test (synthetic identity and organisation numbers only) or prod (real
	// ones only), as the WriteAPI's validation.
	Environment string `env:"JFT_SIM_ENVIRONMENT, default=test"`
	// Auth is on (HelseID DPoP tokens required, as JFT) or off (benchmarks, local tries).
	Auth string `env:"JFT_SIM_AUTH, default=on"`
	// MaxBodyBytes: larger bodies get 413 (the WriteAPI documents "approximately 1 MB").
	MaxBodyBytes int64 `env:"JFT_SIM_MAX_BODY_BYTES, default=1000000"`
	// ReadBodyBytes bounds the accepted bodies kept for the ReadAPI's GET /v1/<Type>/{id}:
	// past it the oldest are let go (that GET then answers 410; $status and the event's
	// accounting stay). 0 keeps none.
	ReadBodyBytes int64 `env:"JFT_SIM_READ_BODY_BYTES, default=67108864"`
	// ReadBaseURL is the base of the status URLs in Location headers; empty: this server.
	ReadBaseURL string `env:"JFT_SIM_READ_BASE_URL"`
	// SyntheticOrgnrPrefixes mark synthetic organisation numbers by their first digits.
	SyntheticOrgnrPrefixes []string `env:"JFT_SIM_SYNTHETIC_ORGNR_PREFIXES, default=2,3"`
	// SyntheticNINMonthOffsets mark synthetic identity numbers by month offset.
	SyntheticNINMonthOffsets []int `env:"JFT_SIM_SYNTHETIC_NIN_MONTH_OFFSETS, default=65,80"`
	// ClientsFile lists HelseID clients (JSON or YAML) for the token endpoint.
	ClientsFile string `env:"JFT_SIM_CLIENTS_FILE"`
	// TokenLifetime of issued access tokens.
	TokenLifetime time.Duration `env:"JFT_SIM_TOKEN_LIFETIME, default=5m"`
	// Fault injection at start (also changeable at run time: PUT /_sim/faults).
	Latency       time.Duration `env:"JFT_SIM_LATENCY, default=0s"`
	LatencyJitter time.Duration `env:"JFT_SIM_LATENCY_JITTER, default=0s"`
	// ErrorRates is status=fraction pairs, e.g. "503=0.3,429=0.05".
	ErrorRates string `env:"JFT_SIM_ERROR_RATES"`
	// RetryAfter is sent with injected 429 and 503 answers (seconds; 0 = no header).
	RetryAfter int `env:"JFT_SIM_RETRY_AFTER, default=1"`
	// ResetRate is the fraction of requests whose connection is cut without an answer.
	ResetRate float64 `env:"JFT_SIM_RESET_RATE, default=0"`
	// HangRate is the fraction of requests held until the client gives up (or HangMax).
	HangRate float64       `env:"JFT_SIM_HANG_RATE, default=0"`
	HangMax  time.Duration `env:"JFT_SIM_HANG_MAX, default=60s"`
	// TenantRPS limits accepted requests per tenant per second (0 = no limit) → 429.
	TenantRPS float64 `env:"JFT_SIM_TENANT_RPS, default=0"`
	// Seed makes injected faults reproducible.
	Seed uint64 `env:"JFT_SIM_SEED, default=1"`
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if c.Addr == "" {
		return fmt.Errorf("JFT_SIM_ADDR: must be host:port")
	}
	if c.Environment != "test" && c.Environment != "prod" {
		return fmt.Errorf("JFT_SIM_ENVIRONMENT: %q is not test or prod", c.Environment)
	}
	if c.Auth != "on" && c.Auth != "off" {
		return fmt.Errorf("JFT_SIM_AUTH: %q is not on or off", c.Auth)
	}
	if c.MaxBodyBytes < 1 {
		return fmt.Errorf("JFT_SIM_MAX_BODY_BYTES: must be positive")
	}
	if c.ReadBodyBytes < 0 {
		return fmt.Errorf("JFT_SIM_READ_BODY_BYTES: %d is negative", c.ReadBodyBytes)
	}
	if c.ReadBaseURL != "" {
		if u, err := url.Parse(c.ReadBaseURL); err != nil || u.Host == "" {
			return fmt.Errorf("JFT_SIM_READ_BASE_URL: %q is not an absolute URL", c.ReadBaseURL)
		}
	}
	if _, err := parseRates(c.ErrorRates); err != nil {
		return fmt.Errorf("JFT_SIM_ERROR_RATES: %w", err)
	}
	for name, f := range map[string]float64{"JFT_SIM_RESET_RATE": c.ResetRate, "JFT_SIM_HANG_RATE": c.HangRate} {
		if f < 0 || f > 1 {
			return fmt.Errorf("%s: %v is not a fraction between 0 and 1", name, f)
		}
	}
	return nil
}

// parseRates reads "503=0.3,429=0.05".
func parseRates(s string) (map[int]float64, error) {
	out := map[int]float64{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	total := 0.0
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		code, err1 := strconv.Atoi(k)
		f, err2 := strconv.ParseFloat(v, 64)
		if !ok || err1 != nil || err2 != nil || code < 400 || code > 599 || f < 0 || f > 1 {
			return nil, fmt.Errorf("%q is not status=fraction with a 4xx/5xx status", part)
		}
		out[code] = f
		total += f
	}
	if total > 1 {
		return nil, fmt.Errorf("fractions add up to %v, more than 1", total)
	}
	return out, nil
}
