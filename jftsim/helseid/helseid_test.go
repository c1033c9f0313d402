package helseid

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// testClient holds a client's private key and builds assertions and proofs as a correct
// HelseID client would (test-side, independent of the gateway's client).
type testClient struct {
	id  string
	key crypto.Signer
	alg jose.SignatureAlgorithm
}

func newClient(t testing.TB, id string, alg jose.SignatureAlgorithm) *testClient {
	t.Helper()
	var k crypto.Signer
	var err error
	switch alg {
	case jose.ES256:
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	if err != nil {
		t.Fatal(err)
	}
	return &testClient{id: id, key: k, alg: alg}
}

func (c *testClient) public() jose.JSONWebKey {
	return jose.JSONWebKey{Key: c.key.Public(), Algorithm: string(c.alg)}
}

func sign(t testing.TB, key crypto.Signer, alg jose.SignatureAlgorithm, typ string, embed bool, claims any) string {
	t.Helper()
	opts := (&jose.SignerOptions{EmbedJWK: embed}).WithType(jose.ContentType(typ))
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (c *testClient) assertion(t testing.TB, aud string, mut func(map[string]any)) string {
	now := time.Now()
	claims := map[string]any{"iss": c.id, "sub": c.id, "aud": aud, "iat": now.Unix(), "nbf": now.Unix(),
		"exp": now.Add(10 * time.Second).Unix(), "jti": randomID()}
	if mut != nil {
		mut(claims)
	}
	return sign(t, c.key, c.alg, "client-authentication+jwt", false, claims)
}

func multiDetails(parent string) map[string]any {
	return map[string]any{"type": "helseid_authorization", "practitioner_role": map[string]any{"organization": map[string]any{
		"identifier": map[string]any{"system": "urn:oid:1.0.6523", "type": "ENH", "value": "NO:ORGNR:" + parent}}}}
}

func (c *testClient) proof(t testing.TB, method, u, token, nonce string, mut func(map[string]any)) string {
	claims := map[string]any{"jti": randomID(), "htm": method, "htu": u, "iat": time.Now().Unix()}
	if token != "" {
		claims["ath"] = ath(token)
	}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	if mut != nil {
		mut(claims)
	}
	return sign(t, c.key, c.alg, "dpop+jwt", true, claims)
}

type env struct {
	iss *Issuer
	srv *httptest.Server
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { e.iss.Handler().ServeHTTP(w, r) }))
	t.Cleanup(e.srv.Close)
	iss, err := NewIssuer(Config{Issuer: e.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	e.iss = iss
	return e
}

// tokenRequest posts to the token endpoint; it returns status, body and DPoP-Nonce.
func (e *env) tokenRequest(t *testing.T, c *testClient, assertion, proof string) (int, map[string]any, string) {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {assertionTypeJWTBearer},
		"client_assertion": {assertion}, "scope": {DefaultScope}}
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/connect/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("DPoP", proof)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body, resp.Header.Get("DPoP-Nonce")
}

// getToken performs the nonce dance and returns an access token.
func (e *env) getToken(t *testing.T, c *testClient, details map[string]any) string {
	t.Helper()
	tokenURL := e.srv.URL + "/connect/token"
	status, body, nonce := e.tokenRequest(t, c, c.assertion(t, e.srv.URL, func(m map[string]any) {
		if details != nil {
			m["assertion_details"] = details
		}
	}), c.proof(t, "POST", tokenURL, "", "", nil))
	if status != 400 || body["error"] != "use_dpop_nonce" || nonce == "" {
		t.Fatalf("first call: %d %v nonce %q, want the nonce dance", status, body, nonce)
	}
	status, body, _ = e.tokenRequest(t, c, c.assertion(t, e.srv.URL, func(m map[string]any) {
		if details != nil {
			m["assertion_details"] = details
		}
	}), c.proof(t, "POST", tokenURL, "", nonce, nil))
	if status != 200 || body["token_type"] != "DPoP" {
		t.Fatalf("token: %d %v", status, body)
	}
	return body["access_token"].(string)
}

func apiRequest(method, u, token, proof, scheme string) *http.Request {
	r := httptest.NewRequest(method, u, nil)
	if token != "" {
		r.Header.Set("Authorization", scheme+" "+token)
	}
	if proof != "" {
		r.Header.Set("DPoP", proof)
	}
	return r
}

const apiURL = "http://api.example/v1/MedicationDispense/0f6c2d3e-1b2a-4c5d-8e9f-0a1b2c3d4e5f/$journaling-acknowledged"

func TestMultiTenantFlowAndAPIVerification(t *testing.T) {
	for _, alg := range []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.PS256} {
		t.Run(string(alg), func(t *testing.T) {
			e := newEnv(t)
			c := newClient(t, "client-"+string(alg), alg)
			e.iss.RegisterClient(Client{ID: c.id, Keys: []jose.JSONWebKey{c.public()}, Tenancy: MultiTenant, Parents: []string{"312229544", "310163449"}, Supplier: "312587963"})
			token := e.getToken(t, c, multiDetails("310163449"))
			p, aerr := e.iss.VerifyRequest(apiRequest("POST", apiURL, token, c.proof(t, "POST", apiURL, token, "", nil), "DPoP"), DefaultScope)
			if aerr != nil {
				t.Fatalf("valid request refused: %s", aerr.Reason)
			}
			if p.OrgnrParent != "310163449" || p.OrgnrSupplier != "312587963" || p.ClientID != c.id {
				t.Errorf("principal %+v", p)
			}
			if got := e.iss.TokensIssued()[c.id+"|310163449"]; got != 1 {
				t.Errorf("tokens issued %d", got)
			}
		})
	}
}

func TestSingleTenantClient(t *testing.T) {
	e := newEnv(t)
	c := newClient(t, "single", jose.ES256)
	e.iss.RegisterClient(Client{ID: c.id, Keys: []jose.JSONWebKey{c.public()}, Tenancy: SingleTenant, Parents: []string{"312229544"}})
	token := e.getToken(t, c, nil)
	p, aerr := e.iss.VerifyRequest(apiRequest("POST", apiURL, token, c.proof(t, "POST", apiURL, token, "", nil), "DPoP"), DefaultScope)
	if aerr != nil || p.OrgnrParent != "312229544" {
		t.Fatalf("%v %+v", aerr, p)
	}
}

func TestKeyRotationWithTwoRegisteredKeys(t *testing.T) {
	e := newEnv(t)
	old, cur := newClient(t, "rot", jose.ES256), newClient(t, "rot", jose.ES256)
	e.iss.RegisterClient(Client{ID: "rot", Keys: []jose.JSONWebKey{old.public(), cur.public()}, Parents: []string{"312229544"}})
	e.getToken(t, old, multiDetails("312229544"))
	e.getToken(t, cur, multiDetails("312229544"))
}

func TestTokenEndpointRejections(t *testing.T) {
	e := newEnv(t)
	c := newClient(t, "c1", jose.ES256)
	other := newClient(t, "c1", jose.ES256) // same id, unregistered key
	e.iss.RegisterClient(Client{ID: c.id, Keys: []jose.JSONWebKey{c.public()}, Parents: []string{"312229544"}})
	tokenURL := e.srv.URL + "/connect/token"
	// One valid nonce for all cases.
	_, _, nonce := e.tokenRequest(t, c, c.assertion(t, e.srv.URL, nil), c.proof(t, "POST", tokenURL, "", "", nil))
	good := func(m map[string]any) { m["assertion_details"] = multiDetails("312229544") }
	replayed := c.assertion(t, e.srv.URL, good)
	if st, body, _ := e.tokenRequest(t, c, replayed, c.proof(t, "POST", tokenURL, "", nonce, nil)); st != 200 {
		t.Fatalf("baseline: %d %v", st, body)
	}
	tests := []struct {
		name      string
		assertion string
		proof     string
		want      string
	}{
		{"replayed assertion jti", replayed, c.proof(t, "POST", tokenURL, "", nonce, nil), "jti replayed"},
		{"expired assertion", c.assertion(t, e.srv.URL, func(m map[string]any) { good(m); m["exp"] = time.Now().Add(-time.Second).Unix() }), c.proof(t, "POST", tokenURL, "", nonce, nil), "expired"},
		{"assertion living over 60 s", c.assertion(t, e.srv.URL, func(m map[string]any) { good(m); m["exp"] = time.Now().Add(2 * time.Minute).Unix() }), c.proof(t, "POST", tokenURL, "", nonce, nil), "60 s"},
		{"aud is not the issuer", c.assertion(t, tokenURL+"/x", good), c.proof(t, "POST", tokenURL, "", nonce, nil), "aud"},
		{"iss and sub differ", c.assertion(t, e.srv.URL, func(m map[string]any) { good(m); m["sub"] = "someone" }), c.proof(t, "POST", tokenURL, "", nonce, nil), "iss and sub"},
		{"signed by an unregistered key", other.assertion(t, e.srv.URL, good), c.proof(t, "POST", tokenURL, "", nonce, nil), "signature"},
		{"wrong assertion typ", sign(t, c.key, c.alg, "JWT", false, map[string]any{"iss": c.id, "sub": c.id, "aud": e.srv.URL, "exp": time.Now().Add(5 * time.Second).Unix(), "jti": randomID()}), c.proof(t, "POST", tokenURL, "", nonce, nil), "typ"},
		{"both detail claims", c.assertion(t, e.srv.URL, func(m map[string]any) { good(m); m["authorization_details"] = multiDetails("312229544") }), c.proof(t, "POST", tokenURL, "", nonce, nil), "both"},
		{"parent without delegation", c.assertion(t, e.srv.URL, func(m map[string]any) { m["assertion_details"] = multiDetails("310163449") }), c.proof(t, "POST", tokenURL, "", nonce, nil), "delegation"},
		{"multi-tenant without details", c.assertion(t, e.srv.URL, nil), c.proof(t, "POST", tokenURL, "", nonce, nil), "multi-tenant"},
		{"proof for another URL", c.assertion(t, e.srv.URL, good), c.proof(t, "POST", tokenURL+"?x=1", "", nonce, nil), "htu"},
		{"proof with GET", c.assertion(t, e.srv.URL, good), c.proof(t, "GET", tokenURL, "", nonce, nil), "htm"},
		{"stale nonce", c.assertion(t, e.srv.URL, good), c.proof(t, "POST", tokenURL, "", "made-up", nil), "use_dpop_nonce"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, body, _ := e.tokenRequest(t, c, tt.assertion, tt.proof)
			desc, _ := body["error_description"].(string)
			errc, _ := body["error"].(string)
			if st != 400 || !strings.Contains(desc+" "+errc, tt.want) {
				t.Fatalf("%d %v, want 400 mentioning %q", st, body, tt.want)
			}
		})
	}
	proof := c.proof(t, "POST", tokenURL, "", nonce, nil)
	e.tokenRequest(t, c, c.assertion(t, e.srv.URL, good), proof)
	if st, body, _ := e.tokenRequest(t, c, c.assertion(t, e.srv.URL, good), proof); st != 400 || !strings.Contains(body["error_description"].(string), "jti replayed") {
		t.Errorf("replayed proof: %d %v", st, body)
	}
}

func TestAPIRejections(t *testing.T) {
	e := newEnv(t)
	c := newClient(t, "c2", jose.ES256)
	thief := newClient(t, "c2", jose.ES256)
	e.iss.RegisterClient(Client{ID: c.id, Keys: []jose.JSONWebKey{c.public()}, Parents: []string{"312229544"}, Scopes: []string{DefaultScope, "other"}})
	token := e.getToken(t, c, multiDetails("312229544"))
	noParent, _ := e.iss.issue(Client{ID: c.id, Tenancy: MultiTenant}, "", "", []string{DefaultScope}, jktOf(t, c))
	otherScope, _ := e.iss.issue(Client{ID: c.id, Tenancy: MultiTenant}, "312229544", "", []string{"other"}, jktOf(t, c))
	replay := c.proof(t, "POST", apiURL, token, "", nil)
	if _, aerr := e.iss.VerifyRequest(apiRequest("POST", apiURL, token, replay, "DPoP"), DefaultScope); aerr != nil {
		t.Fatalf("baseline refused: %s", aerr.Reason)
	}
	tests := []struct {
		name   string
		req    *http.Request
		status int
		want   string
	}{
		{"Bearer scheme", apiRequest("POST", apiURL, token, c.proof(t, "POST", apiURL, token, "", nil), "Bearer"), 401, "Bearer"},
		{"no Authorization", apiRequest("POST", apiURL, "", c.proof(t, "POST", apiURL, token, "", nil), "DPoP"), 401, "missing"},
		{"no proof", apiRequest("POST", apiURL, token, "", "DPoP"), 401, "DPoP proof"},
		{"replayed proof", apiRequest("POST", apiURL, token, replay, "DPoP"), 401, "replayed"},
		{"proof for another path", apiRequest("POST", apiURL, token, c.proof(t, "POST", strings.Replace(apiURL, "$journaling-acknowledged", "%24journaling-acknowledged", 1), token, "", nil), "DPoP"), 401, "htu"},
		{"proof with a query in htu", apiRequest("POST", apiURL, token, c.proof(t, "POST", apiURL+"?a=b", token, "", nil), "DPoP"), 401, "htu"},
		{"proof for GET", apiRequest("POST", apiURL, token, c.proof(t, "GET", apiURL, token, "", nil), "DPoP"), 401, "htm"},
		{"proof for another token", apiRequest("POST", apiURL, token, c.proof(t, "POST", apiURL, token+"x", "", nil), "DPoP"), 401, "ath"},
		{"proof too old", apiRequest("POST", apiURL, token, c.proof(t, "POST", apiURL, token, "", func(m map[string]any) { m["iat"] = time.Now().Add(-5 * time.Minute).Unix() }), "DPoP"), 401, "iat"},
		{"stolen token, thief's key", apiRequest("POST", apiURL, token, thief.proof(t, "POST", apiURL, token, "", nil), "DPoP"), 401, "cnf.jkt"},
		{"no orgnr_parent", apiRequest("POST", apiURL, noParent, c.proof(t, "POST", apiURL, noParent, "", nil), "DPoP"), 403, "orgnr_parent"},
		{"missing scope", apiRequest("POST", apiURL, otherScope, c.proof(t, "POST", apiURL, otherScope, "", nil), "DPoP"), 403, "scope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, aerr := e.iss.VerifyRequest(tt.req, DefaultScope)
			if aerr == nil || aerr.Status != tt.status || !strings.Contains(aerr.Reason, tt.want) {
				t.Fatalf("%+v, want %d mentioning %q", aerr, tt.status, tt.want)
			}
			if strings.Contains(aerr.Reason, token[:20]) {
				t.Error("the reason quotes the token")
			}
		})
	}
	if err := e.iss.RotateKey(); err != nil {
		t.Fatal(err)
	}
	if _, aerr := e.iss.VerifyRequest(apiRequest("POST", apiURL, token, c.proof(t, "POST", apiURL, token, "", nil), "DPoP"), DefaultScope); aerr == nil || aerr.Status != 401 {
		t.Errorf("token from before a key rotation accepted: %+v", aerr)
	}
}

func jktOf(t testing.TB, c *testClient) string {
	t.Helper()
	p, reason := (&Issuer{cfg: Config{Now: time.Now, ProofPast: time.Minute, ProofFuture: time.Second}}).verifyProof(c.proof(t, "GET", "http://x/", "", "", nil), "GET", "http://x/", newReplayCache())
	if reason != "" {
		t.Fatal(reason)
	}
	return p.jkt
}

func TestDiscoveryAndJWKS(t *testing.T) {
	e := newEnv(t)
	resp, err := http.Get(e.srv.URL + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var d map[string]any
	json.NewDecoder(resp.Body).Decode(&d)
	resp.Body.Close()
	if d["issuer"] != e.srv.URL || d["token_endpoint"] != e.srv.URL+"/connect/token" {
		t.Fatalf("discovery %v", d)
	}
	resp, err = http.Get(d["jwks_uri"].(string))
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	json.NewDecoder(resp.Body).Decode(&set)
	resp.Body.Close()
	if len(set.Keys) != 1 || !set.Keys[0].IsPublic() {
		t.Fatalf("jwks %+v", set)
	}
}

func BenchmarkVerifyRequest(b *testing.B) {
	iss, err := NewIssuer(Config{Issuer: "http://issuer.example"})
	if err != nil {
		b.Fatal(err)
	}
	c := newClient(b, "bench", jose.ES256)
	token, _ := iss.issue(Client{ID: c.id, Tenancy: MultiTenant}, "312229544", "", []string{DefaultScope}, jktOf(b, c))
	proofs := make([]string, b.N)
	for n := range proofs {
		proofs[n] = c.proof(b, "POST", apiURL, token, "", nil)
	}
	b.ResetTimer()
	for n := range b.N {
		if _, aerr := iss.VerifyRequest(apiRequest("POST", apiURL, token, proofs[n], "DPoP"), DefaultScope); aerr != nil {
			b.Fatal(aerr.Reason)
		}
	}
}

func TestLoadClients(t *testing.T) {
	c := newClient(t, "file-client", jose.ES256)
	pub, _ := json.Marshal(c.public())
	dir := t.TempDir()
	yamlPath := dir + "/clients.yaml"
	content := "- id: file-client\n  tenancy: multi\n  parents: [\"312229544\"]\n  supplier: \"312587963\"\n  keys:\n    - " + string(pub) + "\n"
	if err := os.WriteFile(yamlPath, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	cs, err := LoadClients(yamlPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].ID != "file-client" || len(cs[0].Keys) != 1 || cs[0].Parents[0] != "312229544" || cs[0].Tenancy != MultiTenant {
		t.Fatalf("clients %+v", cs)
	}
	e := newEnv(t)
	e.iss.RegisterClient(cs[0])
	e.getToken(t, c, multiDetails("312229544"))

	priv, _ := json.Marshal(jose.JSONWebKey{Key: c.key})
	bad := dir + "/private.json"
	os.WriteFile(bad, []byte(`[{"id":"x","keys":[`+string(priv)+`]}]`), 0o600)
	if _, err := LoadClients(bad); err == nil || !strings.Contains(err.Error(), "public") {
		t.Fatalf("a private key in the clients file: %v", err)
	}
}
