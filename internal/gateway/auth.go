package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/jft-gateway/jft-gateway/internal/tenants"
	"github.com/jft-gateway/jft-gateway/writeapi"
	"github.com/jft-gateway/jft-gateway/writeapi/helseid"
)

// Auth modes.
const (
	AuthHelseID = "helseid"
	AuthNone    = "none"
)

// AuthConfig selects how the gateway authenticates to the WriteAPI.
type AuthConfig struct {
	// Mode is helseid (HelseID client credentials with DPoP, a token per municipality) or
	// none (no credentials: only for the simulator and benchmarks; refused for NHN hosts
	// and in prod).
	Mode string `env:"JFT_AUTH_MODE, default=helseid"`
	// HelseID is the client configuration used with mode helseid.
	HelseID helseid.Config
}

// Validate checks the mode, and the HelseID settings when they are used.
func (c AuthConfig) Validate() error {
	switch c.Mode {
	case AuthHelseID:
		return c.HelseID.Validate()
	case AuthNone:
		return nil
	}
	return fmt.Errorf("JFT_AUTH_MODE: %q is not helseid or none", c.Mode)
}

// checkAuthTarget refuses sending without credentials to NHN or in production: a
// misconfiguration that would otherwise show up as a stream of 401s on health data.
func (c Config) checkAuthTarget() error {
	if c.Auth.Mode != AuthNone {
		return nil
	}
	if c.Transform.Environment == "prod" {
		return errors.New("JFT_AUTH_MODE: none is not allowed with JFT_ENVIRONMENT=prod")
	}
	base, err := c.WriteAPI.Base()
	if err != nil {
		return err
	}
	if h := base.Hostname(); h == "nhn.no" || strings.HasSuffix(h, ".nhn.no") {
		return fmt.Errorf("JFT_AUTH_MODE: none is not allowed toward the NHN host %s (JFT_WRITEAPI_BASE_URL)", h)
	}
	return nil
}

// NewAuthorizer builds the Authorizer for cfg.Auth: HelseID with DPoP per tenant, or none.
func NewAuthorizer(_ context.Context, cfg Config, log *slog.Logger, opts ...helseid.Option) (writeapi.Authorizer, error) {
	if cfg.Auth.Mode == AuthNone {
		log.Warn("JFT_AUTH_MODE=none: requests carry no credentials (simulator and benchmarks only)")
		return writeapi.NoAuth{}, nil
	}
	hc := cfg.Auth.HelseID
	reg, err := tenants.Load(hc.TenantsFile, hc.TenantsReload)
	if err != nil {
		return nil, err
	}
	a, err := helseid.New(hc, reg, opts...)
	if err != nil {
		return nil, fmt.Errorf("helseid: %w", err)
	}
	log.Info("HelseID authentication", slog.String("issuer", hc.IssuerURL()), slog.String("client_id", hc.ClientID),
		slog.Int("tenants", len(reg.All())))
	return a, nil
}
