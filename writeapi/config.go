package writeapi

import (
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Hosts of the JFT WriteAPI per environment (../shared/spec/writeapi-overview.txt).
const (
	TestBaseURL = "https://api.write.jft.test.nhn.no"
	ProdBaseURL = "https://api.write.jft.nhn.no"
)

// Config of the WriteAPI client. The zero value is not usable; load it with go-envconfig.
type Config struct {
	// Environment picks the default base URL: test or prod.
	Environment string `env:"JFT_ENVIRONMENT"`
	// BaseURL of the WriteAPI; empty means the environment's NHN host. An http(s) URL without
	// a query or user info (a password there would be repeated in every result's location).
	BaseURL string `env:"JFT_WRITEAPI_BASE_URL"`
	// SourceSystem is sent as nhn-source-system when the record has no such header; empty
	// sends none.
	SourceSystem string `env:"JFT_SOURCE_SYSTEM, default=jft-gateway"`
	// ContentType of event bodies. NHN's examples use application/json; whether
	// application/fhir+json is accepted is not documented.
	ContentType string `env:"JFT_WRITEAPI_CONTENT_TYPE, default=application/json"`
	// Timeout of one attempt, response headers included.
	Timeout time.Duration `env:"JFT_WRITEAPI_TIMEOUT, default=10s"`
	// MaxAttempts bounds attempts per record (1 = no retries). Too low turns short
	// outages into failed results; too high holds partitions during long ones.
	MaxAttempts int `env:"JFT_WRITEAPI_MAX_ATTEMPTS, default=8"`
	// RetryBudget bounds the total time spent on one record, waits included.
	RetryBudget time.Duration `env:"JFT_WRITEAPI_RETRY_BUDGET, default=2m"`
	// BackoffBase is the first retry's upper bound; each retry doubles it (full jitter).
	BackoffBase time.Duration `env:"JFT_WRITEAPI_BACKOFF_BASE, default=200ms"`
	// BackoffMax caps the wait between attempts.
	BackoffMax time.Duration `env:"JFT_WRITEAPI_BACKOFF_MAX, default=30s"`
	// RetryAfterMax caps a server's Retry-After, so one header cannot hold a record longer.
	RetryAfterMax time.Duration `env:"JFT_WRITEAPI_RETRY_AFTER_MAX, default=60s"`
	// OutageThreshold: when this many attempts in a row, across all records, found the
	// WriteAPI unavailable (5xx, 408, 429, timeouts, connection failures), it is taken to
	// be down: further failed attempts do not use up a record's MaxAttempts (only its
	// RetryBudget), and a record whose budget runs out is held and retried later instead of
	// failed. A record that fails while others go through is unaffected, so it cannot block
	// its partition. 0 turns this off.
	OutageThreshold int `env:"JFT_WRITEAPI_OUTAGE_THRESHOLD, default=10"`
	// MaxConnsPerHost bounds connections to the WriteAPI; size it to the in-flight limit.
	MaxConnsPerHost int `env:"JFT_WRITEAPI_MAX_CONNS, default=512"`
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if _, err := c.Base(); err != nil {
		return err
	}
	switch {
	case c.Timeout <= 0:
		return fmt.Errorf("JFT_WRITEAPI_TIMEOUT: must be positive, got %s", c.Timeout)
	case c.MaxAttempts < 1 || c.MaxAttempts > 100:
		return fmt.Errorf("JFT_WRITEAPI_MAX_ATTEMPTS: %d is not between 1 and 100", c.MaxAttempts)
	case c.RetryBudget < c.Timeout:
		return fmt.Errorf("JFT_WRITEAPI_RETRY_BUDGET: %s is shorter than one attempt (JFT_WRITEAPI_TIMEOUT %s)", c.RetryBudget, c.Timeout)
	case c.BackoffBase <= 0 || c.BackoffMax < c.BackoffBase:
		return fmt.Errorf("JFT_WRITEAPI_BACKOFF_BASE/JFT_WRITEAPI_BACKOFF_MAX: need 0 < base (%s) ≤ max (%s)", c.BackoffBase, c.BackoffMax)
	case c.OutageThreshold < 0:
		return fmt.Errorf("JFT_WRITEAPI_OUTAGE_THRESHOLD: %d is negative", c.OutageThreshold)
	case c.MaxConnsPerHost < 1:
		return fmt.Errorf("JFT_WRITEAPI_MAX_CONNS: must be at least 1, got %d", c.MaxConnsPerHost)
	case c.ContentType != "application/json" && c.ContentType != "application/fhir+json":
		return fmt.Errorf("JFT_WRITEAPI_CONTENT_TYPE: %q is not application/json or application/fhir+json", c.ContentType)
	}
	return nil
}

// Base returns the WriteAPI base URL: JFT_WRITEAPI_BASE_URL, else the environment's host.
func (c Config) Base() (*url.URL, error) {
	raw := c.BaseURL
	if raw == "" {
		switch c.Environment {
		case "test":
			raw = TestBaseURL
		case "prod":
			raw = ProdBaseURL
		default:
			return nil, fmt.Errorf("JFT_ENVIRONMENT: %q is not test or prod (it picks the WriteAPI host when JFT_WRITEAPI_BASE_URL is empty)", c.Environment)
		}
	}
	u, err := url.Parse(raw)
	if err == nil && u.User != nil {
		// Not quoted back: it holds a password. Credentials in the URL would reach every
		// result's location; the WriteAPI is reached with HelseID tokens instead.
		return nil, errors.New("JFT_WRITEAPI_BASE_URL: must not carry user info (user:password@), which every result's location would repeat")
	}
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
		return nil, fmt.Errorf("JFT_WRITEAPI_BASE_URL: %q is not an http(s) URL without a query", raw)
	}
	return u, nil
}
