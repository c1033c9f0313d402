package helseid

import (
	"fmt"
	"net/url"
	"time"
)

// HelseID issuers per environment (public NHN endpoints; override with JFT_HELSEID_ISSUER).
const (
	TestIssuer = "https://helseid-sts.test.nhn.no"
	ProdIssuer = "https://helseid-sts.nhn.no"
)

// Config of the HelseID client.
type Config struct {
	// Environment picks the default issuer: test or prod.
	Environment string `env:"JFT_ENVIRONMENT"`
	// Issuer is HelseID's issuer URL; its discovery document names the token endpoint.
	Issuer string `env:"JFT_HELSEID_ISSUER"`
	// ClientID of the gateway's (multi-tenant) HelseID client.
	ClientID string `env:"JFT_HELSEID_CLIENT_ID"`
	// KeyFile is the client's private key, PEM (PKCS#8, EC or PKCS#1) or JWK, e.g. a
	// mounted Kubernetes secret. It is re-read when it changes (key rotation).
	KeyFile string `env:"JFT_HELSEID_KEY_FILE"`
	// Algorithm for RSA keys: PS256 (default) or RS256. EC P-256 keys always use ES256.
	Algorithm string `env:"JFT_HELSEID_RSA_ALGORITHM, default=PS256"`
	// Scope requested.
	Scope string `env:"JFT_HELSEID_SCOPE, default=nhn:jft/api"`
	// Tenancy of the client: multi (one client for many municipalities, organisation in
	// the assertion) or single.
	Tenancy string `env:"JFT_HELSEID_TENANCY, default=multi"`
	// DetailsClaim carries the organisation in the assertion: assertion_details (current
	// guidance) or authorization_details (older).
	DetailsClaim string `env:"JFT_HELSEID_DETAILS_CLAIM, default=assertion_details"`
	// TrailingColon writes NO:ORGNR:<parent>: when there is no child (the .NET library's
	// form); default is the Java library's NO:ORGNR:<parent>.
	TrailingColon bool `env:"JFT_HELSEID_TRAILING_COLON, default=false"`
	// AssertionAudience is the client assertion's aud; empty means the issuer.
	AssertionAudience string `env:"JFT_HELSEID_ASSERTION_AUDIENCE"`
	// RefreshBefore renews a token this long before it expires.
	RefreshBefore time.Duration `env:"JFT_HELSEID_REFRESH_BEFORE, default=60s"`
	// Timeout of one call to HelseID.
	Timeout time.Duration `env:"JFT_HELSEID_TIMEOUT, default=10s"`
	// TenantsFile lists the municipalities (required with JFT_AUTH_MODE=helseid).
	TenantsFile string `env:"JFT_TENANTS_FILE"`
	// TenantsReload is how often the tenants file is checked for changes.
	TenantsReload time.Duration `env:"JFT_TENANTS_RELOAD_INTERVAL, default=10s"`
}

// IssuerURL returns the configured issuer or the environment's.
func (c Config) IssuerURL() string {
	if c.Issuer != "" {
		return c.Issuer
	}
	if c.Environment == "prod" {
		return ProdIssuer
	}
	return TestIssuer
}

// Validate checks the configuration for use (call it only with JFT_AUTH_MODE=helseid).
func (c Config) Validate() error {
	if u, err := url.Parse(c.IssuerURL()); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("JFT_HELSEID_ISSUER: %q is not an http(s) URL", c.IssuerURL())
	}
	switch {
	case c.ClientID == "":
		return fmt.Errorf("JFT_HELSEID_CLIENT_ID: required with JFT_AUTH_MODE=helseid")
	case c.KeyFile == "":
		return fmt.Errorf("JFT_HELSEID_KEY_FILE: required with JFT_AUTH_MODE=helseid (PEM or JWK private key)")
	case c.TenantsFile == "":
		return fmt.Errorf("JFT_TENANTS_FILE: required with JFT_AUTH_MODE=helseid: the municipalities the gateway may send for")
	case c.Algorithm != "PS256" && c.Algorithm != "RS256":
		return fmt.Errorf("JFT_HELSEID_RSA_ALGORITHM: %q is not PS256 or RS256", c.Algorithm)
	case c.Tenancy != "multi" && c.Tenancy != "single":
		return fmt.Errorf("JFT_HELSEID_TENANCY: %q is not multi or single", c.Tenancy)
	case c.DetailsClaim != "assertion_details" && c.DetailsClaim != "authorization_details":
		return fmt.Errorf("JFT_HELSEID_DETAILS_CLAIM: %q is not assertion_details or authorization_details", c.DetailsClaim)
	case c.RefreshBefore < 0:
		return fmt.Errorf("JFT_HELSEID_REFRESH_BEFORE: must not be negative")
	case c.Timeout <= 0:
		return fmt.Errorf("JFT_HELSEID_TIMEOUT: must be positive")
	}
	return nil
}
