package helseid

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// accessClaims are the access token claims the API reads.
type accessClaims struct {
	jwt.Claims
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
	Cnf      struct {
		JKT string `json:"jkt"`
	} `json:"cnf"`
	OrgnrParent   string `json:"helseid://claims/client/claims/orgnr_parent"`
	OrgnrChild    string `json:"helseid://claims/client/claims/orgnr_child"`
	OrgnrSupplier string `json:"helseid://claims/client/claims/orgnr_supplier"`
}

// VerifyRequest verifies an API request as the JFT WriteAPI does: Authorization: DPoP
// <token> (Bearer refused), the DPoP proof per RFC 9449 (typ, signature by the embedded
// jwk, htm, htu exact without query, iat window, jti replay, ath, cnf.jkt), the token's
// signature, issuer, audience, expiry, scope (wantScope) and orgnr_parent.
func (i *Issuer) VerifyRequest(r *http.Request, wantScope string) (*Principal, *AuthError) {
	p, err := i.verifyRequest(r, wantScope)
	if err != nil {
		i.fail(err.Reason)
	}
	return p, err
}

func (i *Issuer) verifyRequest(r *http.Request, wantScope string) (*Principal, *AuthError) {
	unauthorized := func(reason string) *AuthError { return &AuthError{Status: http.StatusUnauthorized, Reason: reason} }
	authz := r.Header.Get("Authorization")
	scheme, token, _ := strings.Cut(authz, " ")
	switch {
	case authz == "":
		return nil, unauthorized("missing Authorization header")
	case strings.EqualFold(scheme, "Bearer"):
		return nil, unauthorized("a DPoP-bound token is required: use the DPoP authorization scheme, not Bearer")
	case scheme != "DPoP" || token == "":
		return nil, unauthorized("Authorization must be DPoP <access token>")
	}
	proofs := r.Header.Values("DPoP")
	if len(proofs) != 1 {
		return nil, unauthorized("exactly one DPoP proof header is required")
	}
	pr, reason := i.verifyProof(proofs[0], r.Method, i.htu(r), i.apiJTIs)
	if reason != "" {
		return nil, unauthorized(reason)
	}
	if pr.claims.ATH != ath(token) {
		return nil, unauthorized("dpop proof ath does not match the access token")
	}
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil || len(tok.Headers) != 1 {
		return nil, unauthorized("access token is not a signed JWT from this issuer")
	}
	if typ, _ := tok.Headers[0].ExtraHeaders[jose.HeaderType].(string); typ != "at+jwt" && typ != "JWT" {
		return nil, unauthorized("access token typ must be at+jwt")
	}
	i.mu.Lock()
	pub := &i.key.PublicKey
	i.mu.Unlock()
	var c accessClaims
	if err := tok.Claims(pub, &c); err != nil {
		return nil, unauthorized("access token signature does not verify (expired key or forged)")
	}
	if err := c.Claims.ValidateWithLeeway(jwt.Expected{Issuer: i.cfg.Issuer, AnyAudience: jwt.Audience{i.cfg.Audience}, Time: i.cfg.Now()}, 5*time.Second); err != nil {
		return nil, unauthorized("access token " + strings.TrimPrefix(err.Error(), "go-jose/go-jose/jwt: "))
	}
	if c.Cnf.JKT == "" || c.Cnf.JKT != pr.jkt {
		return nil, unauthorized("access token cnf.jkt does not match the DPoP proof key")
	}
	scopes := strings.Fields(c.Scope)
	if !slices.Contains(scopes, wantScope) {
		return nil, &AuthError{Status: http.StatusForbidden, Reason: "access token lacks the scope " + wantScope}
	}
	if c.OrgnrParent == "" {
		return nil, &AuthError{Status: http.StatusForbidden, Reason: "access token lacks the orgnr_parent claim"}
	}
	return &Principal{ClientID: c.ClientID, OrgnrParent: c.OrgnrParent, OrgnrChild: c.OrgnrChild,
		OrgnrSupplier: c.OrgnrSupplier, Scopes: scopes, JKT: pr.jkt}, nil
}

// htu is the URL the proof must name: scheme and host as the client addressed us, the
// path as sent, no query or fragment.
func (i *Issuer) htu(r *http.Request) string {
	base := i.cfg.PublicURL
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	return strings.TrimSuffix(base, "/") + r.URL.EscapedPath()
}
