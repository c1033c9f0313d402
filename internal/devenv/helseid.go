package devenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"

	"github.com/go-jose/go-jose/v4"

	"github.com/jft-gateway/jft-gateway/internal/tenants"
	simhid "github.com/jft-gateway/jft-gateway/jftsim/helseid"
)

// DemoClientID is the HelseID client the gateway uses against the simulator.
const DemoClientID = "jft-gateway-dev"

// registerHelseIDClient makes (or reuses) the gateway's key in dir, writes the demo tenants
// file there, and registers a multi-tenant client for those tenants with the simulator's
// HelseID, as HelseID Selvbetjening would.
func registerHelseIDClient(env *Env, dir string) (map[string]string, error) {
	keyPath := filepath.Join(dir, "helseid-key.pem")
	key, err := loadOrCreateKey(keyPath)
	if err != nil {
		return nil, err
	}
	tenantsPath := filepath.Join(dir, "tenants.yaml")
	if err := tenants.WriteDemoFile(tenantsPath); err != nil {
		return nil, fmt.Errorf("devenv: tenants file: %w", err)
	}
	env.Sim.Issuer().RegisterClient(simhid.Client{
		ID: DemoClientID, Keys: []jose.JSONWebKey{{Key: &key.PublicKey, Algorithm: string(jose.ES256)}},
		Tenancy: simhid.MultiTenant, Parents: tenants.DemoOrgnrs(), Supplier: "312587963",
	})
	return map[string]string{
		"JFT_AUTH_MODE":         "helseid",
		"JFT_HELSEID_ISSUER":    env.Sim.URL,
		"JFT_HELSEID_CLIENT_ID": DemoClientID,
		"JFT_HELSEID_KEY_FILE":  keyPath,
		"JFT_TENANTS_FILE":      tenantsPath,
	}, nil
}

func loadOrCreateKey(path string) (*ecdsa.PrivateKey, error) {
	if b, err := os.ReadFile(path); err == nil {
		if blk, _ := pem.Decode(b); blk != nil {
			if k, err := x509.ParsePKCS8PrivateKey(blk.Bytes); err == nil {
				if ek, ok := k.(*ecdsa.PrivateKey); ok {
					return ek, nil
				}
			}
		}
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("devenv: key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("devenv: key: %w", err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, fmt.Errorf("devenv: key: %w", err)
	}
	return k, nil
}
