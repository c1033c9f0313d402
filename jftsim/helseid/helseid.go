// Package helseid simulates the parts of HelseID that a JFT client meets: the discovery
// document, the JWKS, the token endpoint for client_credentials with private_key_jwt and
// DPoP (nonce dance included), and the API-side verification of DPoP-bound access tokens
// that the JFT WriteAPI performs. It is written from ../shared/spec/jft-facts.md §2,
// independently of the gateway's own client, so that it catches the client's bugs.
//
// SKELETON: the signatures below are the contract with package jftsim; the bodies are
// being written.
package helseid

import (
	"errors"
	"net/http"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Tenancy of a registered client.
type Tenancy string

const (
	MultiTenant  Tenancy = "multi"
	SingleTenant Tenancy = "single"
)

// Client is a registered HelseID client.
type Client struct {
	ID string
	// Keys are the client's public keys (several during a key rotation).
	Keys    []jose.JSONWebKey
	Tenancy Tenancy
	// Parents are the orgnr_parent values a multi-tenant client may ask for (its Altinn
	// delegations); for a single-tenant client, exactly one: its own parent.
	Parents []string
	// Supplier is the vendor's organisation number, issued as orgnr_supplier.
	Supplier string
	// Scopes the client may request (default: nhn:jft/api).
	Scopes []string
}

// Config of the simulated issuer.
type Config struct {
	// Issuer is the issuer URL (as in the discovery document and the assertion's aud).
	Issuer string
	// Audience of issued access tokens (default "nhn:jft").
	Audience string
	// TokenLifetime of issued access tokens (default 5 minutes).
	TokenLifetime time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Principal is what the API learns from a verified request.
type Principal struct {
	ClientID      string
	OrgnrParent   string
	OrgnrChild    string
	OrgnrSupplier string
	Scopes        []string
	// JKT is the thumbprint of the key the token is bound to.
	JKT string
}

// AuthError is a verification failure with the HTTP status the API answers (401 or 403)
// and a reason safe to show (no token, no proof).
type AuthError struct {
	Status int
	Reason string
}

func (e *AuthError) Error() string { return e.Reason }

// Issuer is the simulated HelseID.
type Issuer struct{}

// NewIssuer returns an issuer with a fresh signing key.
func NewIssuer(cfg Config) (*Issuer, error) { return nil, errors.New("helseid: not implemented yet") }

// RegisterClient adds or replaces a client.
func (i *Issuer) RegisterClient(c Client) {}

// Handler serves /.well-known/openid-configuration, /.well-known/openid-configuration/jwks
// (also /jwks) and /connect/token.
func (i *Issuer) Handler() http.Handler { return http.NotFoundHandler() }

// VerifyRequest verifies an API request as the JFT WriteAPI does: Authorization: DPoP
// <token> (Bearer refused), the DPoP proof per RFC 9449 (typ, signature by the embedded
// jwk, htm, htu exact without query, iat window, jti replay, ath, cnf.jkt), the token's
// signature, issuer, audience, expiry, scope (wantScope) and orgnr_parent.
func (i *Issuer) VerifyRequest(r *http.Request, wantScope string) (*Principal, *AuthError) {
	return nil, &AuthError{Status: http.StatusUnauthorized, Reason: "not implemented"}
}

// LoadClients reads registered clients from a JSON or YAML file.
func LoadClients(path string) ([]Client, error) {
	return nil, errors.New("helseid: not implemented yet")
}
