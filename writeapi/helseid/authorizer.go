// Package helseid is the gateway's HelseID client: a DPoP-bound access token per
// municipality (orgnr_parent), fetched with client credentials and a private_key_jwt
// assertion, cached on golang.org/x/oauth2's Token type and renewed early, one refresh per
// tenant at a time; and a fresh DPoP proof on every WriteAPI request. It implements
// writeapi.Authorizer. Facts and sources: ../shared/spec/jft-facts.md §2.
package helseid

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"
	"golang.org/x/sync/singleflight"

	"github.com/jft-gateway/jft-gateway/internal/jft"
	"github.com/jft-gateway/jft-gateway/internal/tenants"
)

// Authorizer adds HelseID DPoP credentials to WriteAPI requests, per tenant.
type Authorizer struct {
	cfg     Config
	tenants *tenants.Registry
	http    *http.Client
	now     func() time.Time

	keysMu sync.Mutex
	keys   map[string]*keyFile // by key file path

	flight singleflight.Group

	mu       sync.Mutex
	tokens   map[string]*oauth2.Token // by tenant
	nonce    string                   // HelseID's current DPoP nonce
	endpoint string                   // token endpoint from discovery
	backoff  map[string]time.Time     // tenant → no HelseID call before
	fails    map[string]int
	lastErr  error // of the newest token request; nil after a success

	observe func(tenant string, err error)
}

// Option configures an Authorizer.
type Option func(*Authorizer)

// WithHTTPClient sets the client for HelseID calls.
func WithHTTPClient(c *http.Client) Option { return func(a *Authorizer) { a.http = c } }

// WithTokenObserver has f told the outcome of every token request (metrics). tenant is
// the organisation number; f must not block.
func WithTokenObserver(f func(tenant string, err error)) Option {
	return func(a *Authorizer) { a.observe = f }
}

// WithClock replaces time.Now.
func WithClock(now func() time.Time) Option { return func(a *Authorizer) { a.now = now } }

// New returns an Authorizer for the tenants in reg.
func New(cfg Config, reg *tenants.Registry, opts ...Option) (*Authorizer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &Authorizer{cfg: cfg, tenants: reg, http: &http.Client{Timeout: cfg.Timeout}, now: time.Now,
		keys: map[string]*keyFile{}, tokens: map[string]*oauth2.Token{}, backoff: map[string]time.Time{}, fails: map[string]int{}}
	for _, o := range opts {
		o(a)
	}
	if _, _, err := a.keyFor(cfg.KeyFile).get(); err != nil {
		return nil, fmt.Errorf("JFT_HELSEID_KEY_FILE: %w", err)
	}
	return a, nil
}

// Authorize sets Authorization: DPoP <token> and a fresh DPoP proof for tenant. An
// unknown tenant is a permanent TENANT_UNKNOWN: nothing is sent for it.
func (a *Authorizer) Authorize(ctx context.Context, tenant string, req *http.Request) error {
	t, ok := a.tenants.Lookup(tenant)
	if !ok {
		return jft.Permanentf(jft.CodeTenantUnknown, "the tenant is not in the tenants file (JFT_TENANTS_FILE)")
	}
	kf := a.keyFor(a.keyPath(t))
	k, changed, err := kf.get()
	if err != nil {
		return jft.Transientf(jft.CodeAuthFailed, "the HelseID key cannot be read")
	}
	if changed {
		a.dropAll()
	}
	tok, err := a.token(ctx, t, k)
	if err != nil {
		return err
	}
	proof, err := k.makeProof(req.Method, req.URL, tok.AccessToken, "", a.now())
	if err != nil {
		return &jft.Error{Code: jft.CodeAuthFailed, Message: "DPoP proof could not be made", Err: err}
	}
	req.Header.Set("Authorization", "DPoP "+tok.AccessToken)
	req.Header.Set("DPoP", proof)
	return nil
}

// Invalidate drops tenant's token after a 401, so the next request fetches a new one.
func (a *Authorizer) Invalidate(tenant string) {
	a.mu.Lock()
	delete(a.tokens, tenant)
	a.mu.Unlock()
}

func (a *Authorizer) dropAll() {
	a.mu.Lock()
	a.tokens = map[string]*oauth2.Token{}
	a.mu.Unlock()
}

func (a *Authorizer) keyPath(t tenants.Tenant) string {
	if t.KeyFile != "" {
		return t.KeyFile
	}
	return a.cfg.KeyFile
}

func (a *Authorizer) keyFor(path string) *keyFile {
	a.keysMu.Lock()
	defer a.keysMu.Unlock()
	kf := a.keys[path]
	if kf == nil {
		kf = &keyFile{path: path, rsaAlg: jose.SignatureAlgorithm(a.cfg.Algorithm)}
		a.keys[path] = kf
	}
	return kf
}

// token returns a valid cached token or fetches one; concurrent callers for one tenant
// share a single fetch.
func (a *Authorizer) token(ctx context.Context, t tenants.Tenant, k *key) (*oauth2.Token, error) {
	a.mu.Lock()
	tok := a.tokens[t.Orgnr]
	wait := a.backoff[t.Orgnr]
	a.mu.Unlock()
	if tok != nil && tok.Expiry.Add(-a.cfg.RefreshBefore).After(a.now()) {
		return tok, nil
	}
	if a.now().Before(wait) {
		if tok != nil && tok.Expiry.After(a.now()) {
			return tok, nil // renewal is backing off; the old token is still good
		}
		return nil, jft.Transientf(jft.CodeAuthFailed, "HelseID is failing for this tenant; backing off")
	}
	v, err, _ := a.flight.Do(t.Orgnr, func() (any, error) {
		tok, err := a.fetch(context.WithoutCancel(ctx), t, k)
		if a.observe != nil {
			a.observe(t.Orgnr, err)
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		a.lastErr = err
		if err != nil {
			a.fails[t.Orgnr]++
			d := min(time.Duration(1<<min(a.fails[t.Orgnr]-1, 6))*time.Second, time.Minute)
			a.backoff[t.Orgnr] = a.now().Add(d)
			return nil, err
		}
		a.fails[t.Orgnr] = 0
		delete(a.backoff, t.Orgnr)
		a.tokens[t.Orgnr] = tok
		return tok, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*oauth2.Token), nil
}

// Ready reports whether tokens can be had: an error when the newest token request failed
// and no tenant holds a valid token. Before any request it is ready (tokens are fetched on
// first use).
func (a *Authorizer) Ready() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.lastErr == nil {
		return nil
	}
	now := a.now()
	for _, tok := range a.tokens {
		if tok.Expiry.After(now) {
			return nil
		}
	}
	return fmt.Errorf("helseid: no valid token and the newest token request failed: %w", a.lastErr)
}

// fetch performs the client credentials grant, with the DPoP nonce dance.
func (a *Authorizer) fetch(ctx context.Context, t tenants.Tenant, k *key) (*oauth2.Token, error) {
	endpoint, err := a.tokenEndpoint(ctx)
	if err != nil {
		return nil, err
	}
	for attempt := 0; attempt < 2; attempt++ {
		tok, nonce, err := a.request(ctx, endpoint, t, k)
		if err == nil {
			return tok, nil
		}
		if nonce == "" {
			return nil, err
		}
		a.mu.Lock()
		a.nonce = nonce
		a.mu.Unlock()
	}
	return nil, jft.Transientf(jft.CodeAuthFailed, "HelseID kept asking for a new DPoP nonce")
}

// tokenResponse is RFC 6749 §5.1 (and §5.2 for errors).
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Error       string `json:"error"`
}

// request makes one token request; on use_dpop_nonce it returns the nonce to retry with.
func (a *Authorizer) request(ctx context.Context, endpoint string, t tenants.Tenant, k *key) (*oauth2.Token, string, error) {
	fail := func(msg string, err error) error {
		return &jft.Error{Code: jft.CodeAuthFailed, Message: msg, Err: err}
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, "", fail("HelseID token endpoint is not a URL", err)
	}
	assertion, err := a.assertion(t, k)
	if err != nil {
		return nil, "", fail("client assertion could not be made", err)
	}
	a.mu.Lock()
	nonce := a.nonce
	a.mu.Unlock()
	proof, err := k.makeProof(http.MethodPost, u, "", nonce, a.now())
	if err != nil {
		return nil, "", fail("DPoP proof could not be made", err)
	}
	form := url.Values{
		"grant_type":            {"client_credentials"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {assertion},
		"scope":                 {a.cfg.Scope},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, "", fail("token request", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("DPoP", proof)
	resp, err := a.http.Do(req)
	if err != nil {
		return nil, "", fail("HelseID is unreachable", err)
	}
	defer resp.Body.Close()
	var tr tokenResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&tr); err != nil {
		return nil, "", fail("HelseID answered "+resp.Status+" without a JSON body", err)
	}
	if resp.StatusCode != http.StatusOK {
		if tr.Error == "use_dpop_nonce" && resp.Header.Get("DPoP-Nonce") != "" {
			return nil, resp.Header.Get("DPoP-Nonce"), fail("HelseID asked for a DPoP nonce", nil)
		}
		// The error code is HelseID's (e.g. invalid_client); the description is not kept.
		return nil, "", fail("HelseID refused the token request: "+sanitizeCode(tr.Error), nil)
	}
	if !strings.EqualFold(tr.TokenType, "DPoP") || tr.AccessToken == "" {
		return nil, "", fail("HelseID issued no DPoP token", nil)
	}
	if err := checkBinding(tr.AccessToken, k.jkt); err != nil {
		return nil, "", fail("HelseID's token is bound to another key", err)
	}
	return &oauth2.Token{AccessToken: tr.AccessToken, TokenType: "DPoP", Expiry: a.now().Add(time.Duration(tr.ExpiresIn) * time.Second)}, "", nil
}

// checkBinding compares a JWT access token's cnf.jkt with our key; an opaque token is
// accepted as it is (the API checks the binding).
func checkBinding(token, jkt string) error {
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512, jose.ES256, jose.ES384, jose.ES512})
	if err != nil {
		return nil
	}
	var c struct {
		Cnf struct {
			JKT string `json:"jkt"`
		} `json:"cnf"`
	}
	if err := tok.UnsafeClaimsWithoutVerification(&c); err != nil {
		return nil
	}
	if c.Cnf.JKT != "" && c.Cnf.JKT != jkt {
		return errors.New("cnf.jkt differs from the key's thumbprint")
	}
	return nil
}

// assertion is the private_key_jwt client assertion for tenant (jft-facts.md §2.3–2.4).
func (a *Authorizer) assertion(t tenants.Tenant, k *key) (string, error) {
	now := a.now()
	clientID, tenancy := a.cfg.ClientID, a.cfg.Tenancy
	if t.ClientID != "" {
		clientID, tenancy = t.ClientID, "single"
	}
	aud := a.cfg.AssertionAudience
	if aud == "" {
		aud = a.cfg.IssuerURL()
	}
	claims := map[string]any{
		"iss": clientID, "sub": clientID, "aud": aud, "jti": randomID(),
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(10 * time.Second).Unix(),
	}
	var identifier map[string]string
	switch {
	case tenancy == "multi":
		v := "NO:ORGNR:" + t.Orgnr
		if t.Child != "" {
			v += ":" + t.Child
		} else if a.cfg.TrailingColon {
			v += ":"
		}
		identifier = map[string]string{"system": "urn:oid:1.0.6523", "type": "ENH", "value": v}
	case t.Child != "":
		identifier = map[string]string{"system": "urn:oid:2.16.578.1.12.4.1.4.101", "value": t.Child}
	}
	if identifier != nil {
		claims[a.cfg.DetailsClaim] = map[string]any{"type": "helseid_authorization",
			"practitioner_role": map[string]any{"organization": map[string]any{"identifier": identifier}}}
	}
	return jwt.Signed(k.assertion).Claims(claims).Serialize()
}

// tokenEndpoint reads the discovery document once.
func (a *Authorizer) tokenEndpoint(ctx context.Context) (string, error) {
	a.mu.Lock()
	ep := a.endpoint
	a.mu.Unlock()
	if ep != "" {
		return ep, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(a.cfg.IssuerURL(), "/")+"/.well-known/openid-configuration", nil)
	if err != nil {
		return "", &jft.Error{Code: jft.CodeAuthFailed, Message: "HelseID discovery", Err: err}
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return "", &jft.Error{Code: jft.CodeAuthFailed, Message: "HelseID discovery is unreachable", Err: err}
	}
	defer resp.Body.Close()
	var d struct {
		TokenEndpoint string `json:"token_endpoint"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&d) != nil || d.TokenEndpoint == "" {
		return "", jft.Transientf(jft.CodeAuthFailed, "HelseID discovery document has no token_endpoint")
	}
	a.mu.Lock()
	a.endpoint = d.TokenEndpoint
	a.mu.Unlock()
	return d.TokenEndpoint, nil
}

// sanitizeCode keeps an OAuth error code (RFC 6749: %x20-21 / %x23-5B / %x5D-7E), short.
func sanitizeCode(s string) string {
	if len(s) > 40 {
		s = s[:40]
	}
	return strings.Map(func(r rune) rune {
		if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return -1
	}, s)
}
