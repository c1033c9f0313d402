package helseid

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/jft-gateway/jft-gateway/internal/jft"
	"github.com/jft-gateway/jft-gateway/internal/tenants"
	simhid "github.com/jft-gateway/jft-gateway/jftsim/helseid"
)

// world is the simulator's HelseID plus an API that verifies every request with it and
// records the verified orgnr_parent per request.
type world struct {
	iss   *simhid.Issuer
	srv   *httptest.Server
	mu    sync.Mutex
	seen  []string // "tenant-header|verified-parent"
	fails []string
}

func newWorld(t *testing.T) *world { return newWorldAt(t, time.Now) }

// newWorldAt runs the issuer on the given clock.
func newWorldAt(t *testing.T, now func() time.Time) *world {
	t.Helper()
	w := &world{}
	mux := http.NewServeMux()
	w.srv = httptest.NewServer(mux)
	t.Cleanup(w.srv.Close)
	iss, err := simhid.NewIssuer(simhid.Config{Issuer: w.srv.URL, TokenLifetime: 5 * time.Minute, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	w.iss = iss
	h := iss.Handler()
	mux.Handle("/.well-known/", h)
	mux.Handle("/connect/", h)
	mux.HandleFunc("POST /v1/{type}", func(rw http.ResponseWriter, r *http.Request) {
		p, aerr := iss.VerifyRequest(r, simhid.DefaultScope)
		w.mu.Lock()
		defer w.mu.Unlock()
		if aerr != nil {
			w.fails = append(w.fails, aerr.Reason)
			rw.WriteHeader(aerr.Status)
			return
		}
		w.seen = append(w.seen, r.Header.Get("X-Test-Tenant")+"|"+p.OrgnrParent)
		rw.WriteHeader(http.StatusAccepted)
	})
	return w
}

func writeECKey(t testing.TB, dir string) (string, *ecdsa.PrivateKey) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	path := filepath.Join(dir, fmt.Sprintf("key-%d.pem", time.Now().UnixNano()))
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, k
}

func testConfig(issuer, keyFile string) Config {
	return Config{Environment: "test", Issuer: issuer, ClientID: "jft-gateway", KeyFile: keyFile, Algorithm: "PS256",
		Scope: simhid.DefaultScope, Tenancy: "multi", DetailsClaim: "assertion_details", RefreshBefore: 60 * time.Second,
		Timeout: 5 * time.Second, TenantsFile: "(static)"}
}

// send makes one API request for tenant through the authorizer.
func (w *world) send(t testing.TB, a *Authorizer, tenant string) error {
	req, _ := http.NewRequest(http.MethodPost, w.srv.URL+"/v1/Bundle", strings.NewReader("{}"))
	req.Header.Set("X-Test-Tenant", tenant)
	if err := a.Authorize(context.Background(), tenant, req); err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

func orgnrs(n int) []string { return tenants.SyntheticOrgnrs(n) }

// TestTenantIsolation sends thousands of interleaved requests for 12 municipalities from
// many goroutines: the simulator verifies each and must find the token's orgnr_parent equal
// to the tenant the request was sent for; and one token per tenant was issued.
func TestTenantIsolation(t *testing.T) {
	w := newWorld(t)
	keyFile, k := writeECKey(t, t.TempDir())
	ts := orgnrs(12)
	w.iss.RegisterClient(simhid.Client{ID: "jft-gateway", Keys: []jose.JSONWebKey{{Key: &k.PublicKey}}, Tenancy: simhid.MultiTenant, Parents: ts})
	var list []tenants.Tenant
	for _, o := range ts {
		list = append(list, tenants.Tenant{Orgnr: o})
	}
	a, err := New(testConfig(w.srv.URL, keyFile), tenants.Static(list...))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 3000)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range 300 {
				if err := w.send(t, a, ts[(g*7+n)%len(ts)]); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("request failed: %v (simulator: %v)", err, w.fails)
	}
	if len(w.seen) != 2400 {
		t.Fatalf("%d verified requests", len(w.seen))
	}
	for _, s := range w.seen {
		sent, verified, _ := strings.Cut(s, "|")
		if sent != verified {
			t.Fatalf("a request for %s carried a token for %s", sent, verified)
		}
	}
	for _, o := range ts {
		if n := w.iss.TokensIssued()["jft-gateway|"+o]; n != 1 {
			t.Errorf("tenant %s: %d tokens issued, want 1", o, n)
		}
	}
}

// TestOneTokenPerTenantPerLifetime: 100 tenants, 5 requests each, one token each; after the
// clock passes the refresh point, one more each.
func TestOneTokenPerTenantPerLifetime(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	w := newWorldAt(t, clock)
	keyFile, k := writeECKey(t, t.TempDir())
	ts := orgnrs(100)
	w.iss.RegisterClient(simhid.Client{ID: "jft-gateway", Keys: []jose.JSONWebKey{{Key: &k.PublicKey}}, Tenancy: simhid.MultiTenant, Parents: ts})
	var list []tenants.Tenant
	for _, o := range ts {
		list = append(list, tenants.Tenant{Orgnr: o})
	}
	a, err := New(testConfig(w.srv.URL, keyFile), tenants.Static(list...), WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		for _, o := range ts {
			if err := w.send(t, a, o); err != nil {
				t.Fatal(err)
			}
		}
	}
	count := func() int {
		n := 0
		for _, v := range w.iss.TokensIssued() {
			n += v
		}
		return n
	}
	if got := count(); got != 100 {
		t.Fatalf("%d tokens for 100 tenants × 5 requests, want 100", got)
	}
	// Past lifetime − RefreshBefore (5 min − 60 s): the next request renews early.
	mu.Lock()
	now = now.Add(4*time.Minute + time.Second)
	mu.Unlock()
	for _, o := range ts[:10] {
		if err := w.send(t, a, o); err != nil {
			t.Fatal(err)
		}
	}
	if got := count(); got != 110 {
		t.Fatalf("%d tokens after renewal of 10, want 110", got)
	}
}

func TestSingleTenantClientPerMunicipality(t *testing.T) {
	w := newWorld(t)
	dir := t.TempDir()
	globalKey, gk := writeECKey(t, dir)
	ownKey, ok := writeECKey(t, dir)
	w.iss.RegisterClient(simhid.Client{ID: "jft-gateway", Keys: []jose.JSONWebKey{{Key: &gk.PublicKey}}, Tenancy: simhid.MultiTenant, Parents: []string{"312229544"}})
	w.iss.RegisterClient(simhid.Client{ID: "kommune-own", Keys: []jose.JSONWebKey{{Key: &ok.PublicKey}}, Tenancy: simhid.SingleTenant, Parents: []string{"310163449"}})
	a, err := New(testConfig(w.srv.URL, globalKey), tenants.Static(
		tenants.Tenant{Orgnr: "312229544"}, tenants.Tenant{Orgnr: "310163449", ClientID: "kommune-own", KeyFile: ownKey}))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []string{"312229544", "310163449"} {
		if err := w.send(t, a, o); err != nil {
			t.Fatalf("%s: %v (%v)", o, err, w.iss.Failures())
		}
	}
	if w.iss.TokensIssued()["kommune-own|310163449"] != 1 || w.iss.TokensIssued()["jft-gateway|312229544"] != 1 {
		t.Fatalf("issued %v", w.iss.TokensIssued())
	}
}

func TestUnknownTenantIsPermanentAndSendsNothing(t *testing.T) {
	w := newWorld(t)
	keyFile, _ := writeECKey(t, t.TempDir())
	a, err := New(testConfig(w.srv.URL, keyFile), tenants.Static(tenants.Tenant{Orgnr: "312229544"}))
	if err != nil {
		t.Fatal(err)
	}
	err = w.send(t, a, "310163449")
	if jft.CodeOf(err) != jft.CodeTenantUnknown || !jft.IsPermanent(err) {
		t.Fatalf("err %v", err)
	}
	if len(w.iss.TokensIssued()) != 0 {
		t.Error("a token was requested for an unknown tenant")
	}
}

// TestKeyRotationWithoutRestart replaces the key file: the next token is bound to the new key.
func TestKeyRotationWithoutRestart(t *testing.T) {
	w := newWorld(t)
	dir := t.TempDir()
	keyFile, k1 := writeECKey(t, dir)
	k2, _ := rsa.GenerateKey(rand.Reader, 2048)
	w.iss.RegisterClient(simhid.Client{ID: "jft-gateway", Keys: []jose.JSONWebKey{{Key: &k1.PublicKey}, {Key: &k2.PublicKey}}, Tenancy: simhid.MultiTenant, Parents: []string{"312229544"}})
	a, err := New(testConfig(w.srv.URL, keyFile), tenants.Static(tenants.Tenant{Orgnr: "312229544"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.send(t, a, "312229544"); err != nil {
		t.Fatal(err)
	}
	der := x509.MarshalPKCS1PrivateKey(k2)
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := w.send(t, a, "312229544"); err != nil {
		t.Fatalf("after rotation: %v (%v)", err, w.iss.Failures())
	}
	if n := w.iss.TokensIssued()["jft-gateway|312229544"]; n != 2 {
		t.Fatalf("%d tokens: the rotation did not fetch a token bound to the new key", n)
	}
}

// TestSecretsStayOutOfErrors makes HelseID refuse and checks the errors for secrets.
func TestSecretsStayOutOfErrors(t *testing.T) {
	w := newWorld(t)
	keyFile, _ := writeECKey(t, t.TempDir())
	// Registered with another key: HelseID refuses the assertion.
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	w.iss.RegisterClient(simhid.Client{ID: "jft-gateway", Keys: []jose.JSONWebKey{{Key: &other.PublicKey}}, Tenancy: simhid.MultiTenant, Parents: []string{"312229544"}})
	a, err := New(testConfig(w.srv.URL, keyFile), tenants.Static(tenants.Tenant{Orgnr: "312229544"}))
	if err != nil {
		t.Fatal(err)
	}
	err = w.send(t, a, "312229544")
	if jft.CodeOf(err) != jft.CodeAuthFailed || jft.IsPermanent(err) {
		t.Fatalf("err %v", err)
	}
	keyPEM, _ := os.ReadFile(keyFile)
	msg := err.Error()
	if strings.Contains(msg, "eyJ") || strings.Contains(msg, string(keyPEM[30:60])) {
		t.Fatalf("error carries a JWT or key material: %s", msg)
	}
	// Backoff: the next call does not reach HelseID.
	total := func() int {
		n := 0
		for _, v := range w.iss.Failures() {
			n += v
		}
		return n
	}
	before := total()
	if err := w.send(t, a, "312229544"); jft.CodeOf(err) != jft.CodeAuthFailed {
		t.Fatalf("err %v", err)
	}
	if total() != before {
		t.Errorf("HelseID was called again during backoff (%v)", w.iss.Failures())
	}
}

func TestConfigValidate(t *testing.T) {
	good := testConfig("https://helseid-sts.test.nhn.no", "/k.pem")
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, tt := range map[string]struct {
		mut  func(*Config)
		want string
	}{
		"client id":    {func(c *Config) { c.ClientID = "" }, "JFT_HELSEID_CLIENT_ID"},
		"key file":     {func(c *Config) { c.KeyFile = "" }, "JFT_HELSEID_KEY_FILE"},
		"tenants file": {func(c *Config) { c.TenantsFile = "" }, "JFT_TENANTS_FILE"},
		"tenancy":      {func(c *Config) { c.Tenancy = "some" }, "JFT_HELSEID_TENANCY"},
		"claim":        {func(c *Config) { c.DetailsClaim = "x" }, "JFT_HELSEID_DETAILS_CLAIM"},
		"issuer":       {func(c *Config) { c.Issuer = "ftp://x" }, "JFT_HELSEID_ISSUER"},
	} {
		c := good
		tt.mut(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if (Config{Environment: "prod"}).IssuerURL() != ProdIssuer || (Config{Environment: "test"}).IssuerURL() != TestIssuer {
		t.Error("default issuers per environment")
	}
}

// BenchmarkProof is the cost of the DPoP proof made for every WriteAPI request (ES256).
func BenchmarkProof(b *testing.B) {
	_, k := writeECKey(b, b.TempDir())
	key, err := newKey(k, jose.PS256)
	if err != nil {
		b.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, "https://api.write.jft.test.nhn.no/v1/Bundle", nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := key.makeProof(req.Method, req.URL, "an-access-token", "", time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}

func TestParseKeyForms(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecDER, _ := x509.MarshalECPrivateKey(ec)
	p8, _ := x509.MarshalPKCS8PrivateKey(rk)
	jwk, _ := jose.JSONWebKey{Key: ec}.MarshalJSON()
	pubJWK, _ := jose.JSONWebKey{Key: &ec.PublicKey}.MarshalJSON()
	for name, tt := range map[string]struct {
		b   []byte
		alg jose.SignatureAlgorithm
		ok  bool
	}{
		"EC PEM":      {pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER}), jose.ES256, true},
		"PKCS#8 RSA":  {pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}), jose.PS256, true},
		"PKCS#1 RSA":  {pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)}), jose.PS256, true},
		"private JWK": {jwk, jose.ES256, true},
		"public JWK":  {pubJWK, "", false},
		"not a key":   {[]byte("hello"), "", false},
	} {
		priv, err := parseKey(tt.b)
		if (err == nil) != tt.ok {
			t.Errorf("%s: err %v", name, err)
			continue
		}
		if !tt.ok {
			continue
		}
		k, err := newKey(priv, jose.PS256)
		if err != nil || k.alg != tt.alg {
			t.Errorf("%s: %v alg %v", name, err, k)
		}
	}
}

// TestReadinessAndTokenObserver: the observer is told every token request's outcome, and
// Ready fails only when the newest request failed and no tenant holds a valid token.
func TestReadinessAndTokenObserver(t *testing.T) {
	w := newWorld(t)
	keyFile, k := writeECKey(t, t.TempDir())
	w.iss.RegisterClient(simhid.Client{ID: "jft-gateway", Keys: []jose.JSONWebKey{{Key: &k.PublicKey}}, Tenancy: simhid.MultiTenant, Parents: []string{"312229544"}})
	reg := tenants.Static(tenants.Tenant{Orgnr: "312229544"}, tenants.Tenant{Orgnr: "310163449"})
	var mu sync.Mutex
	var seen []string
	observe := func(tenant string, err error) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, fmt.Sprintf("%s:%v", tenant, err == nil))
	}
	a, err := New(testConfig(w.srv.URL, keyFile), reg, WithTokenObserver(observe))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Ready(); err != nil {
		t.Errorf("ready before any request: %v", err)
	}
	if err := w.send(t, a, "312229544"); err != nil {
		t.Fatal(err)
	}
	// 310163449 is not among the client's parents: HelseID refuses its token.
	if err := w.send(t, a, "310163449"); err == nil {
		t.Fatal("a token for a tenant the client may not act for")
	}
	if err := a.Ready(); err != nil {
		t.Errorf("not ready while 312229544 holds a valid token: %v", err)
	}
	mu.Lock()
	if strings.Join(seen, " ") != "312229544:true 310163449:false" {
		t.Errorf("observed %v", seen)
	}
	mu.Unlock()

	// An authorizer whose every token request fails is not ready.
	b, err := New(testConfig(w.srv.URL, keyFile), tenants.Static(tenants.Tenant{Orgnr: "310163449"}))
	if err != nil {
		t.Fatal(err)
	}
	_ = w.send(t, b, "310163449")
	if err := b.Ready(); err == nil {
		t.Error("ready although no token can be had")
	}
}
