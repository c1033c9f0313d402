package helseid

import (
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// asymmetric are the signature algorithms HelseID accepts for assertions and proofs.
var asymmetric = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512, jose.ES256, jose.ES384, jose.ES512}

// proofClaims are a DPoP proof's claims (RFC 9449 §4.2).
type proofClaims struct {
	JTI   string `json:"jti"`
	HTM   string `json:"htm"`
	HTU   string `json:"htu"`
	IAT   int64  `json:"iat"`
	ATH   string `json:"ath"`
	Nonce string `json:"nonce"`
}

// proof is a verified DPoP proof.
type proof struct {
	claims proofClaims
	jkt    string
}

// verifyProof checks a DPoP proof's form, signature by its own embedded key, method, URL,
// age and single use. It returns a reason on failure.
func (i *Issuer) verifyProof(raw, method, url string, cache *replayCache) (*proof, string) {
	tok, err := jwt.ParseSigned(raw, asymmetric)
	if err != nil {
		return nil, "dpop proof is not a signed JWT with an asymmetric algorithm"
	}
	if len(tok.Headers) != 1 {
		return nil, "dpop proof must have one signature"
	}
	h := tok.Headers[0]
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != "dpop+jwt" {
		return nil, "dpop proof typ must be dpop+jwt"
	}
	if h.JSONWebKey == nil || !h.JSONWebKey.IsPublic() || !h.JSONWebKey.Valid() {
		return nil, "dpop proof must carry a public jwk header"
	}
	var c proofClaims
	if err := tok.Claims(h.JSONWebKey.Key, &c); err != nil {
		return nil, "dpop proof signature does not verify with its jwk"
	}
	if c.HTM != method {
		return nil, "dpop proof htm mismatch"
	}
	if c.HTU != url {
		return nil, "dpop proof htu mismatch"
	}
	now := i.cfg.Now()
	iat := time.Unix(c.IAT, 0)
	if c.IAT == 0 || iat.Before(now.Add(-i.cfg.ProofPast)) || iat.After(now.Add(i.cfg.ProofFuture)) {
		return nil, "dpop proof iat outside the accepted window"
	}
	if c.JTI == "" {
		return nil, "dpop proof jti missing"
	}
	if !cache.use(c.JTI, now, iat.Add(i.cfg.ProofPast+i.cfg.ProofFuture)) {
		return nil, "dpop proof jti replayed"
	}
	tp, err := h.JSONWebKey.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, "dpop proof jwk has no thumbprint"
	}
	return &proof{claims: c, jkt: base64.RawURLEncoding.EncodeToString(tp)}, ""
}

// ath is the access token hash a proof must carry toward an API.
func ath(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
