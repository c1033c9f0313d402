package helseid

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// key is a client's signing key with what is derived from it: the algorithm, the public
// JWK and its RFC 7638 thumbprint, and signers for assertions and DPoP proofs (reused:
// go-jose signers are safe for concurrent use).
type key struct {
	alg       jose.SignatureAlgorithm
	jkt       string
	assertion jose.Signer
	proof     jose.Signer
}

func newKey(priv crypto.Signer, rsaAlg jose.SignatureAlgorithm) (*key, error) {
	var alg jose.SignatureAlgorithm
	switch k := priv.(type) {
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return nil, errors.New("EC keys must be P-256 (ES256)")
		}
		alg = jose.ES256
	case *rsa.PrivateKey:
		if k.N.BitLen() < 2048 {
			return nil, errors.New("RSA keys must have at least 2048 bits")
		}
		alg = rsaAlg
	default:
		return nil, fmt.Errorf("unsupported key type %T", priv)
	}
	pub := jose.JSONWebKey{Key: priv.Public(), Algorithm: string(alg)}
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("thumbprint: %w", err)
	}
	sk := jose.SigningKey{Algorithm: alg, Key: priv}
	as, err := jose.NewSigner(sk, (&jose.SignerOptions{}).WithType("client-authentication+jwt"))
	if err != nil {
		return nil, fmt.Errorf("assertion signer: %w", err)
	}
	ps, err := jose.NewSigner(sk, (&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt"))
	if err != nil {
		return nil, fmt.Errorf("proof signer: %w", err)
	}
	return &key{alg: alg, jkt: base64.RawURLEncoding.EncodeToString(tp), assertion: as, proof: ps}, nil
}

// parseKey reads a private key from PEM (PKCS#8, SEC 1 EC, PKCS#1 RSA) or a JWK.
func parseKey(b []byte) (crypto.Signer, error) {
	if blk, _ := pem.Decode(b); blk != nil {
		if k, err := x509.ParsePKCS8PrivateKey(blk.Bytes); err == nil {
			if s, ok := k.(crypto.Signer); ok {
				return s, nil
			}
		}
		if k, err := x509.ParseECPrivateKey(blk.Bytes); err == nil {
			return k, nil
		}
		if k, err := x509.ParsePKCS1PrivateKey(blk.Bytes); err == nil {
			return k, nil
		}
		return nil, errors.New("PEM block is not a PKCS#8, EC or PKCS#1 private key")
	}
	var jwk jose.JSONWebKey
	if err := json.Unmarshal(b, &jwk); err != nil {
		return nil, errors.New("neither PEM nor a JWK")
	}
	if jwk.IsPublic() {
		return nil, errors.New("the JWK is a public key; the private key is needed")
	}
	s, ok := jwk.Key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported JWK key type %T", jwk.Key)
	}
	return s, nil
}

// keyFile is a key loaded from a file and re-read when the file changes.
type keyFile struct {
	path   string
	rsaAlg jose.SignatureAlgorithm

	mu      sync.Mutex
	cur     *key
	modTime time.Time
	size    int64
}

// get returns the current key, re-reading the file when its modification time or size
// changed; changed reports a new key (tokens bound to the old one must go).
func (f *keyFile) get() (k *key, changed bool, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fi, err := os.Stat(f.path)
	if err != nil {
		if f.cur != nil {
			return f.cur, false, nil // keep signing with the key we have
		}
		return nil, false, fmt.Errorf("key file: %w", err)
	}
	if f.cur != nil && fi.ModTime().Equal(f.modTime) && fi.Size() == f.size {
		return f.cur, false, nil
	}
	b, err := os.ReadFile(f.path)
	if err != nil {
		return nil, false, fmt.Errorf("key file: %w", err)
	}
	priv, err := parseKey(b)
	if err != nil {
		if f.cur != nil {
			return f.cur, false, nil // a half-written rotation: keep the old key
		}
		return nil, false, fmt.Errorf("key file %s: %w", f.path, err)
	}
	nk, err := newKey(priv, f.rsaAlg)
	if err != nil {
		return nil, false, fmt.Errorf("key file %s: %w", f.path, err)
	}
	changed = f.cur != nil && f.cur.jkt != nk.jkt
	f.cur, f.modTime, f.size = nk, fi.ModTime(), fi.Size()
	return nk, changed, nil
}
