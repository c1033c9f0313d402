package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/jft-gateway/jft-gateway/writeapi"
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
}

// Validate checks the mode.
func (c AuthConfig) Validate() error {
	if c.Mode != AuthHelseID && c.Mode != AuthNone {
		return fmt.Errorf("JFT_AUTH_MODE: %q is not helseid or none", c.Mode)
	}
	return nil
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

// NewAuthorizer builds the Authorizer for cfg.Auth.
func NewAuthorizer(_ context.Context, cfg Config, _ *slog.Logger) (writeapi.Authorizer, error) {
	switch cfg.Auth.Mode {
	case AuthNone:
		return writeapi.NoAuth{}, nil
	default:
		return nil, errors.New("JFT_AUTH_MODE: helseid is not available in this build yet; use none with the simulator")
	}
}
