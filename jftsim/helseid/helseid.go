// Package helseid simulates the parts of HelseID that a JFT client meets: the discovery
// document, the JWKS, the token endpoint for client_credentials with private_key_jwt and
// DPoP (nonce dance included), and the API-side verification of DPoP-bound access tokens
// that the JFT WriteAPI performs. It is written from ../shared/spec/jft-facts.md §2,
// independently of the gateway's own client, so that it catches the client's bugs.
package helseid

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Tenancy of a registered client.
type Tenancy string

const (
	MultiTenant  Tenancy = "multi"
	SingleTenant Tenancy = "single"
)

// Claim names HelseID puts into access tokens (jft-facts.md §2.5).
const (
	ClaimOrgnrParent   = "helseid://claims/client/claims/orgnr_parent"
	ClaimOrgnrChild    = "helseid://claims/client/claims/orgnr_child"
	ClaimOrgnrSupplier = "helseid://claims/client/claims/orgnr_supplier"
	ClaimClientTenancy = "helseid://claims/client/client_tenancy"
)

// DefaultScope is JFT's scope.
const DefaultScope = "nhn:jft/api"

// Client is a registered HelseID client.
type Client struct {
	ID string `json:"id" yaml:"id"`
	// Keys are the client's public keys (several during a key rotation).
	Keys    []jose.JSONWebKey `json:"-" yaml:"-"`
	Tenancy Tenancy           `json:"tenancy" yaml:"tenancy"`
	// Parents are the orgnr_parent values a multi-tenant client may ask for (its Altinn
	// delegations); for a single-tenant client, exactly one: its own parent.
	Parents []string `json:"parents" yaml:"parents"`
	// Supplier is the vendor's organisation number, issued as orgnr_supplier.
	Supplier string `json:"supplier" yaml:"supplier"`
	// Scopes the client may request (default: nhn:jft/api).
	Scopes []string `json:"scopes" yaml:"scopes"`
}

// Config of the simulated issuer.
type Config struct {
	// Issuer is the issuer URL (as in the discovery document and the assertion's aud).
	Issuer string
	// Audience of issued access tokens (default "nhn:jft").
	Audience string
	// TokenLifetime of issued access tokens (default 5 minutes).
	TokenLifetime time.Duration
	// AcceptTokenEndpointAudience also accepts the token endpoint URL as an assertion's aud
	// (older samples used it; current libraries use the issuer).
	AcceptTokenEndpointAudience bool
	// ProofPast and ProofFuture bound a DPoP proof's iat (default 60 s and 5 s).
	ProofPast, ProofFuture time.Duration
	// NonceLifetime of DPoP nonces (default 5 minutes).
	NonceLifetime time.Duration
	// PublicURL, when set, is the scheme and host that API proofs' htu must use (behind a
	// proxy); by default the request's own.
	PublicURL string
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
type Issuer struct {
	cfg Config

	mu       sync.Mutex
	key      *ecdsa.PrivateKey
	kid      string
	oldKeys  []jose.JSONWebKey
	clients  map[string]Client
	jtis     *replayCache // assertion and token-endpoint proof jtis
	apiJTIs  *replayCache // API proof jtis
	nonces   map[string]time.Time
	issued   map[string]int // "client|parent" → tokens issued
	failures map[string]int // reason → count
}

// NewIssuer returns an issuer with a fresh ES256 signing key.
func NewIssuer(cfg Config) (*Issuer, error) {
	if cfg.Issuer == "" {
		return nil, fmt.Errorf("helseid: issuer URL missing")
	}
	if cfg.Audience == "" {
		cfg.Audience = "nhn:jft"
	}
	if cfg.TokenLifetime <= 0 {
		cfg.TokenLifetime = 5 * time.Minute
	}
	if cfg.ProofPast <= 0 {
		cfg.ProofPast = 60 * time.Second
	}
	if cfg.ProofFuture <= 0 {
		cfg.ProofFuture = 5 * time.Second
	}
	if cfg.NonceLifetime <= 0 {
		cfg.NonceLifetime = 5 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	i := &Issuer{cfg: cfg, clients: map[string]Client{}, jtis: newReplayCache(), apiJTIs: newReplayCache(),
		nonces: map[string]time.Time{}, issued: map[string]int{}, failures: map[string]int{}}
	if err := i.RotateKey(); err != nil {
		return nil, err
	}
	return i, nil
}

// RotateKey replaces the signing key; tokens signed with the old one stop verifying, as
// after a real key rollover with a short overlap.
func (i *Issuer) RotateKey() error {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("helseid: key: %w", err)
	}
	jwk := jose.JSONWebKey{Key: &k.PublicKey, Algorithm: string(jose.ES256), Use: "sig"}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return fmt.Errorf("helseid: thumbprint: %w", err)
	}
	i.mu.Lock()
	i.key, i.kid = k, base64.RawURLEncoding.EncodeToString(tp)
	i.mu.Unlock()
	return nil
}

// RegisterClient adds or replaces a client.
func (i *Issuer) RegisterClient(c Client) {
	if c.Tenancy == "" {
		c.Tenancy = MultiTenant
	}
	if len(c.Scopes) == 0 {
		c.Scopes = []string{DefaultScope}
	}
	i.mu.Lock()
	i.clients[c.ID] = c
	i.mu.Unlock()
}

// Handler serves /.well-known/openid-configuration, /jwks and /connect/token.
func (i *Issuer) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", i.discovery)
	mux.HandleFunc("GET /jwks", i.jwks)
	mux.HandleFunc("GET /.well-known/openid-configuration/jwks", i.jwks)
	mux.HandleFunc("POST /connect/token", i.token)
	return mux
}

// TokensIssued returns how many access tokens were issued per client and parent
// ("client|parent").
func (i *Issuer) TokensIssued() map[string]int {
	i.mu.Lock()
	defer i.mu.Unlock()
	out := make(map[string]int, len(i.issued))
	for k, v := range i.issued {
		out[k] = v
	}
	return out
}

// Failures returns token endpoint and API verification failures by reason.
func (i *Issuer) Failures() map[string]int {
	i.mu.Lock()
	defer i.mu.Unlock()
	out := make(map[string]int, len(i.failures))
	for k, v := range i.failures {
		out[k] = v
	}
	return out
}

func (i *Issuer) fail(reason string) {
	i.mu.Lock()
	i.failures[reason]++
	i.mu.Unlock()
}

func (i *Issuer) tokenEndpoint() string { return i.cfg.Issuer + "/connect/token" }

// replayCache remembers jtis until they could no longer be accepted anyway.
type replayCache struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

func newReplayCache() *replayCache { return &replayCache{seen: map[string]time.Time{}} }

// use records jti until expiry and reports false when it was seen already.
func (c *replayCache) use(jti string, now, expiry time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.seen) > 10000 {
		for k, exp := range c.seen {
			if now.After(exp) {
				delete(c.seen, k)
			}
		}
	}
	if exp, ok := c.seen[jti]; ok && now.Before(exp) {
		return false
	}
	c.seen[jti] = expiry
	return true
}
