package helseid

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

const (
	grantClientCredentials = "client_credentials"
	assertionTypeJWTBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	maxAssertionLifetime   = 60 * time.Second
)

func (i *Issuer) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                i.cfg.Issuer,
		"token_endpoint":                        i.tokenEndpoint(),
		"jwks_uri":                              i.cfg.Issuer + "/jwks",
		"grant_types_supported":                 []string{grantClientCredentials},
		"token_endpoint_auth_methods_supported": []string{"private_key_jwt"},
		"token_endpoint_auth_signing_alg_values_supported": asymmetric,
		"dpop_signing_alg_values_supported":                asymmetric,
		"scopes_supported":                                 []string{DefaultScope},
	})
}

func (i *Issuer) jwks(w http.ResponseWriter, _ *http.Request) {
	i.mu.Lock()
	keys := []jose.JSONWebKey{{Key: &i.key.PublicKey, KeyID: i.kid, Algorithm: string(jose.ES256), Use: "sig"}}
	i.mu.Unlock()
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: keys})
}

// oauthError answers as RFC 6749 §5.2.
func (i *Issuer) oauthError(w http.ResponseWriter, code, description string) {
	i.fail(description)
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": code, "error_description": description})
}

// assertionClaims are a client assertion's claims.
type assertionClaims struct {
	jwt.Claims
	AssertionDetails     json.RawMessage `json:"assertion_details"`
	AuthorizationDetails json.RawMessage `json:"authorization_details"`
}

// token serves POST /connect/token: client_credentials with private_key_jwt and DPoP.
func (i *Issuer) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		i.oauthError(w, "invalid_request", "unreadable form")
		return
	}
	if r.PostForm.Get("grant_type") != grantClientCredentials {
		i.oauthError(w, "unsupported_grant_type", "only client_credentials is supported")
		return
	}
	if r.PostForm.Get("client_assertion_type") != assertionTypeJWTBearer {
		i.oauthError(w, "invalid_client", "client_assertion_type must be jwt-bearer (private_key_jwt)")
		return
	}
	proofs := r.Header.Values("DPoP")
	if len(proofs) != 1 {
		i.oauthError(w, "invalid_dpop_proof", "exactly one DPoP header is required")
		return
	}
	pr, reason := i.verifyProof(proofs[0], http.MethodPost, i.tokenEndpoint(), i.jtis)
	if reason != "" {
		i.oauthError(w, "invalid_dpop_proof", reason)
		return
	}
	if !i.nonceValid(pr.claims.Nonce) {
		w.Header().Set("DPoP-Nonce", i.newNonce())
		i.oauthError(w, "use_dpop_nonce", "a DPoP nonce is required; retry with the DPoP-Nonce value")
		return
	}
	client, details, reason := i.verifyAssertion(r.PostForm.Get("client_assertion"))
	if reason != "" {
		i.oauthError(w, "invalid_client", reason)
		return
	}
	parent, child, reason := orgsFor(client, details)
	if reason != "" {
		i.oauthError(w, "invalid_request", reason)
		return
	}
	scopes := strings.Fields(r.PostForm.Get("scope"))
	if len(scopes) == 0 {
		scopes = client.Scopes
	}
	for _, s := range scopes {
		if !slices.Contains(client.Scopes, s) {
			i.oauthError(w, "invalid_scope", "scope not allowed for this client")
			return
		}
	}
	token, err := i.issue(client, parent, child, scopes, pr.jkt)
	if err != nil {
		http.Error(w, "token signing failed", http.StatusInternalServerError)
		return
	}
	i.mu.Lock()
	i.issued[client.ID+"|"+parent]++
	i.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": token, "token_type": "DPoP",
		"expires_in": int(i.cfg.TokenLifetime.Seconds()), "scope": strings.Join(scopes, " ")})
}

// verifyAssertion checks a private_key_jwt client assertion and returns the client and
// the details claim (assertion_details or authorization_details).
func (i *Issuer) verifyAssertion(raw string) (Client, json.RawMessage, string) {
	tok, err := jwt.ParseSigned(raw, asymmetric)
	if err != nil || len(tok.Headers) != 1 {
		return Client{}, nil, "client_assertion is not a signed JWT with an asymmetric algorithm"
	}
	if typ, _ := tok.Headers[0].ExtraHeaders[jose.HeaderType].(string); typ != "client-authentication+jwt" {
		return Client{}, nil, "client_assertion typ must be client-authentication+jwt"
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return Client{}, nil, "client_assertion claims unreadable"
	}
	i.mu.Lock()
	client, ok := i.clients[unverified.Issuer]
	i.mu.Unlock()
	if !ok {
		return Client{}, nil, "unknown client"
	}
	var c assertionClaims
	verified := false
	for _, k := range client.Keys {
		if tok.Claims(k.Key, &c) == nil {
			verified = true
			break
		}
	}
	if !verified {
		return Client{}, nil, "client_assertion signature does not verify with the client's keys"
	}
	if c.Issuer != client.ID || c.Subject != client.ID {
		return Client{}, nil, "client_assertion iss and sub must both be the client id"
	}
	if !c.Audience.Contains(i.cfg.Issuer) && !(i.cfg.AcceptTokenEndpointAudience && c.Audience.Contains(i.tokenEndpoint())) {
		return Client{}, nil, "client_assertion aud must be the issuer"
	}
	now := i.cfg.Now()
	if c.Expiry == nil {
		return Client{}, nil, "client_assertion exp missing"
	}
	exp := c.Expiry.Time()
	if !now.Before(exp) {
		return Client{}, nil, "client_assertion expired"
	}
	if exp.After(now.Add(maxAssertionLifetime)) {
		return Client{}, nil, "client_assertion exp more than 60 s ahead"
	}
	if c.IssuedAt != nil && c.IssuedAt.Time().After(now.Add(10*time.Second)) {
		return Client{}, nil, "client_assertion iat in the future"
	}
	if c.ID == "" {
		return Client{}, nil, "client_assertion jti missing"
	}
	if !i.jtis.use("assertion:"+c.ID, now, exp) {
		return Client{}, nil, "client_assertion jti replayed"
	}
	if len(c.AssertionDetails) > 0 && len(c.AuthorizationDetails) > 0 {
		return Client{}, nil, "assertion_details and authorization_details must not both be sent"
	}
	details := c.AssertionDetails
	if len(details) == 0 {
		details = c.AuthorizationDetails
	}
	return client, details, ""
}

// issue signs an access token.
func (i *Issuer) issue(c Client, parent, child string, scopes []string, jkt string) (string, error) {
	i.mu.Lock()
	key, kid := i.key, i.kid
	i.mu.Unlock()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key},
		(&jose.SignerOptions{}).WithType("at+jwt").WithHeader("kid", kid))
	if err != nil {
		return "", err
	}
	now := i.cfg.Now()
	claims := map[string]any{
		"iss": i.cfg.Issuer, "aud": i.cfg.Audience, "iat": now.Unix(), "nbf": now.Unix(),
		"exp": now.Add(i.cfg.TokenLifetime).Unix(), "jti": randomID(), "client_id": c.ID,
		"scope": strings.Join(scopes, " "), "cnf": map[string]string{"jkt": jkt},
		ClaimOrgnrParent: parent, ClaimClientTenancy: string(c.Tenancy),
	}
	if child != "" {
		claims[ClaimOrgnrChild] = child
	}
	if c.Supplier != "" {
		claims[ClaimOrgnrSupplier] = c.Supplier
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}

func (i *Issuer) newNonce() string {
	n := randomID()
	i.mu.Lock()
	i.nonces[n] = i.cfg.Now().Add(i.cfg.NonceLifetime)
	i.mu.Unlock()
	return n
}

func (i *Issuer) nonceValid(n string) bool {
	if n == "" {
		return false
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	exp, ok := i.nonces[n]
	return ok && i.cfg.Now().Before(exp)
}

func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
