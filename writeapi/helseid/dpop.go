package helseid

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
)

// proofClaims of a DPoP proof (RFC 9449 §4.2).
type proofClaims struct {
	JTI   string `json:"jti"`
	HTM   string `json:"htm"`
	HTU   string `json:"htu"`
	IAT   int64  `json:"iat"`
	ATH   string `json:"ath,omitempty"`
	Nonce string `json:"nonce,omitempty"`
}

// proof makes a fresh DPoP proof for one request: a new jti every time (retries included),
// htu without query or fragment, ath when an access token goes with it.
func (k *key) makeProof(method string, u *url.URL, accessToken, nonce string, now time.Time) (string, error) {
	c := proofClaims{JTI: randomID(), HTM: method, HTU: HTU(u), IAT: now.Unix(), Nonce: nonce}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		c.ATH = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	s, err := jwt.Signed(k.proof).Claims(c).Serialize()
	if err != nil {
		return "", fmt.Errorf("dpop proof: %w", err)
	}
	return s, nil
}

// HTU is the URL a DPoP proof names: scheme, host and path exactly as sent, no query or
// fragment (the path keeps JFT's literal '$').
func HTU(u *url.URL) string {
	return u.Scheme + "://" + u.Host + u.EscapedPath()
}

func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
