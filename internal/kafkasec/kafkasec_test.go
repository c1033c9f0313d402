package kafkasec

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const secret = "s3cret-password"

func TestValidateNamesTheVariable(t *testing.T) {
	scram := func(c Config) Config {
		c.SASLMechanism, c.SASLUsername = MechScramSHA512, "jft"
		if c.SASLPasswordFile == "" {
			c.SASLPassword = secret
		}
		return c
	}
	tests := []struct {
		name string
		cfg  Config
		want string // the variable the error starts with; "" = valid
	}{
		{"zero value is plaintext", Config{}, ""},
		{"tls with system roots", Config{TLS: true}, ""},
		{"tls with a CA", Config{TLS: true, TLSCAFile: "ca.pem"}, ""},
		{"mutual tls", Config{TLS: true, TLSCertFile: "c.pem", TLSKeyFile: "k.pem"}, ""},
		{"scram over tls with a password file", Config{TLS: true, SASLMechanism: MechScramSHA512, SASLUsername: "u", SASLPasswordFile: "pw"}, ""},
		{"scram-sha-256 over tls", Config{TLS: true, SASLMechanism: MechScramSHA256, SASLUsername: "u", SASLPassword: secret}, ""},
		{"scram without tls", scram(Config{}), ""},
		{"plain over tls", Config{TLS: true, SASLMechanism: MechPlain, SASLUsername: "u", SASLPassword: secret}, ""},
		{"plain in clear text when allowed", Config{SASLMechanism: MechPlain, SASLUsername: "u", SASLPassword: secret, SASLAllowPlaintext: true}, ""},

		{"cert without key", Config{TLS: true, TLSCertFile: "c.pem"}, "JFT_KAFKA_TLS_CERT_FILE"},
		{"key without cert", Config{TLS: true, TLSKeyFile: "k.pem"}, "JFT_KAFKA_TLS_CERT_FILE and JFT_KAFKA_TLS_KEY_FILE"},
		{"CA without tls", Config{TLSCAFile: "ca.pem"}, "JFT_KAFKA_TLS: JFT_KAFKA_TLS_CA_FILE"},
		{"client cert without tls", Config{TLSCertFile: "c.pem", TLSKeyFile: "k.pem"}, "JFT_KAFKA_TLS: JFT_KAFKA_TLS_CERT_FILE"},
		{"server name without tls", Config{TLSServerName: "kafka"}, "JFT_KAFKA_TLS: JFT_KAFKA_TLS_SERVER_NAME"},
		{"skip verify without tls", Config{TLSInsecureSkipVerify: true}, "JFT_KAFKA_TLS: JFT_KAFKA_TLS_INSECURE_SKIP_VERIFY"},
		{"unknown mechanism", Config{TLS: true, SASLMechanism: "GSSAPI", SASLUsername: "u", SASLPassword: secret}, `JFT_KAFKA_SASL_MECHANISM: "GSSAPI" is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512`},
		{"mechanism in lower case", Config{TLS: true, SASLMechanism: "scram-sha-512", SASLUsername: "u", SASLPassword: secret}, "JFT_KAFKA_SASL_MECHANISM"},
		{"no user", Config{TLS: true, SASLMechanism: MechScramSHA256, SASLPassword: secret}, "JFT_KAFKA_SASL_USERNAME"},
		{"password and password file", Config{TLS: true, SASLMechanism: MechScramSHA256, SASLUsername: "u", SASLPassword: secret, SASLPasswordFile: "f"}, "JFT_KAFKA_SASL_PASSWORD or JFT_KAFKA_SASL_PASSWORD_FILE"},
		{"no password", Config{TLS: true, SASLMechanism: MechScramSHA256, SASLUsername: "u"}, "JFT_KAFKA_SASL_PASSWORD or JFT_KAFKA_SASL_PASSWORD_FILE"},
		{"plain in clear text", Config{SASLMechanism: MechPlain, SASLUsername: "u", SASLPassword: secret}, "JFT_KAFKA_SASL_MECHANISM: PLAIN without JFT_KAFKA_TLS"},
		{"user without mechanism", Config{SASLUsername: "u"}, "JFT_KAFKA_SASL_MECHANISM"},
		{"password without mechanism", Config{TLS: true, SASLPassword: secret}, "JFT_KAFKA_SASL_MECHANISM"},
		{"password file without mechanism", Config{SASLPasswordFile: "pw"}, "JFT_KAFKA_SASL_MECHANISM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("valid config refused: %v", err)
			case tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want)):
				t.Fatalf("err %v, want one starting with %q", err, tt.want)
			case err != nil && strings.Contains(err.Error(), secret):
				t.Fatalf("the password is in the error: %v", err)
			}
			if _, oerr := tt.cfg.Opts(); tt.want != "" && (oerr == nil || oerr.Error() != err.Error()) {
				t.Fatalf("Opts does not validate: %v", oerr)
			}
		})
	}
}

// pki is a CA and a certificate it signed, written as PEM files.
type pki struct{ caFile, certFile, keyFile string }

func writePKI(t *testing.T, dir string) pki {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kafkasec test CA"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	p := pki{filepath.Join(dir, "ca.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")}
	for file, b := range map[string]*pem.Block{
		p.caFile:   {Type: "CERTIFICATE", Bytes: caDER},
		p.certFile: {Type: "CERTIFICATE", Bytes: leafDER},
		p.keyFile:  {Type: "PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(file, pem.EncodeToMemory(b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func TestTLSConfigFromTheFiles(t *testing.T) {
	p := writePKI(t, t.TempDir())
	tc, err := Config{TLS: true, TLSCAFile: p.caFile, TLSCertFile: p.certFile, TLSKeyFile: p.keyFile, TLSServerName: "kafka.internal"}.tlsConfig()
	if err != nil {
		t.Fatal(err)
	}
	if tc.MinVersion != tls.VersionTLS12 || tc.InsecureSkipVerify || tc.ServerName != "kafka.internal" {
		t.Errorf("min version %x, skip verify %v, server name %q", tc.MinVersion, tc.InsecureSkipVerify, tc.ServerName)
	}
	if len(tc.Certificates) != 1 || tc.RootCAs == nil {
		t.Fatalf("%d client certificates, roots %v", len(tc.Certificates), tc.RootCAs)
	}
	// The pool verifies the certificate the CA signed: it is the CA from the file.
	leaf, _ := x509.ParseCertificate(tc.Certificates[0].Certificate[0])
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: tc.RootCAs, DNSName: "localhost"}); err != nil {
		t.Errorf("the CA file's pool does not verify its own certificate: %v", err)
	}

	tc, err = Config{TLS: true}.tlsConfig()
	if err != nil || tc.RootCAs != nil || len(tc.Certificates) != 0 || tc.MinVersion != tls.VersionTLS12 {
		t.Errorf("system roots: %+v, %v", tc, err)
	}
}

func TestOptsNameTheVariableOfABadFile(t *testing.T) {
	dir := t.TempDir()
	p := writePKI(t, dir)
	notPEM := filepath.Join(dir, "not.pem")
	empty := filepath.Join(dir, "empty")
	missing := filepath.Join(dir, "missing")
	for _, f := range []struct{ name, body string }{{notPEM, "hello " + secret}, {empty, "\n"}} {
		if err := os.WriteFile(f.name, []byte(f.body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	scram := Config{TLS: true, SASLMechanism: MechScramSHA512, SASLUsername: "jft"}
	with := func(c Config, f func(*Config)) Config { f(&c); return c }
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"CA file missing", Config{TLS: true, TLSCAFile: missing}, "JFT_KAFKA_TLS_CA_FILE"},
		{"CA file not PEM", Config{TLS: true, TLSCAFile: notPEM}, "JFT_KAFKA_TLS_CA_FILE"},
		{"key is not a key", Config{TLS: true, TLSCertFile: p.certFile, TLSKeyFile: p.caFile}, "JFT_KAFKA_TLS_CERT_FILE/JFT_KAFKA_TLS_KEY_FILE"},
		{"cert file missing", Config{TLS: true, TLSCertFile: missing, TLSKeyFile: p.keyFile}, "JFT_KAFKA_TLS_CERT_FILE/JFT_KAFKA_TLS_KEY_FILE"},
		{"key does not match cert", Config{TLS: true, TLSCertFile: p.caFile, TLSKeyFile: p.keyFile}, "JFT_KAFKA_TLS_CERT_FILE/JFT_KAFKA_TLS_KEY_FILE"},
		{"password file missing", with(scram, func(c *Config) { c.SASLPasswordFile = missing }), "JFT_KAFKA_SASL_PASSWORD_FILE"},
		{"password file empty", with(scram, func(c *Config) { c.SASLPasswordFile = empty }), "JFT_KAFKA_SASL_PASSWORD_FILE"},
		{"bad CA with a password", with(scram, func(c *Config) { c.SASLPassword, c.TLSCAFile = secret, notPEM }), "JFT_KAFKA_TLS_CA_FILE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.cfg.Opts()
			if err == nil || !strings.HasPrefix(err.Error(), tt.want+":") {
				t.Fatalf("err %v, want one starting with %q", err, tt.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("the password (or a file's content) is in the error: %v", err)
			}
		})
	}
}

func TestOpts(t *testing.T) {
	dir := t.TempDir()
	p := writePKI(t, dir)
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte(secret+"\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		cfg   Config
		nopts int
	}{
		{"plaintext: none", Config{}, 0},
		{"tls only", Config{TLS: true, TLSCAFile: p.caFile}, 1},
		{"mutual tls", Config{TLS: true, TLSCAFile: p.caFile, TLSCertFile: p.certFile, TLSKeyFile: p.keyFile}, 1},
		{"scram over tls", Config{TLS: true, TLSCAFile: p.caFile, SASLMechanism: MechScramSHA512, SASLUsername: "jft", SASLPasswordFile: pwFile}, 2},
		{"sasl only", Config{SASLMechanism: MechScramSHA256, SASLUsername: "jft", SASLPassword: secret}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts, err := tt.cfg.Opts()
			if err != nil || len(opts) != tt.nopts {
				t.Fatalf("%d opts, err %v; want %d", len(opts), err, tt.nopts)
			}
			cl, err := kgo.NewClient(append(opts, kgo.SeedBrokers("127.0.0.1:1"))...)
			if err != nil {
				t.Fatalf("franz-go refuses the options: %v", err)
			}
			cl.Close()
		})
	}
}

func TestMechanismUsesTheConfiguredOneAndThePasswordFile(t *testing.T) {
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, mech := range []string{MechPlain, MechScramSHA256, MechScramSHA512} {
		m, err := Config{SASLMechanism: mech, SASLUsername: "jft", SASLPasswordFile: pwFile}.mechanism()
		if err != nil || m.Name() != mech {
			t.Errorf("%s: got %v, %v", mech, m, err)
		}
	}
	// PLAIN's first message carries the password: the file's, without its newline.
	m, _ := Config{SASLMechanism: MechPlain, SASLUsername: "jft", SASLPasswordFile: pwFile}.mechanism()
	_, first, err := m.Authenticate(context.Background(), "127.0.0.1:9093")
	if err != nil || string(first) != "\x00jft\x00"+secret {
		t.Errorf("PLAIN message %q, %v", first, err)
	}
}

// broker returns the real broker's SASL_SSL listener and credentials, or skips. The
// password is read from JFT_TEST_KAFKA_SASL_PASSWORD_FILE (what kafka.sh prints) or
// JFT_TEST_KAFKA_SASL_PASSWORD.
func broker(t *testing.T) (seeds []string, good Config) {
	t.Helper()
	s := os.Getenv("JFT_TEST_KAFKA_SASL_SEEDS")
	if s == "" {
		t.Skip("JFT_TEST_KAFKA_SASL_SEEDS not set (scripts/kafka/kafka.sh start prints it)")
	}
	good = Config{TLS: true, TLSCAFile: os.Getenv("JFT_TEST_KAFKA_CA"), SASLMechanism: MechScramSHA512,
		SASLUsername: os.Getenv("JFT_TEST_KAFKA_SASL_USER"), SASLPasswordFile: os.Getenv("JFT_TEST_KAFKA_SASL_PASSWORD_FILE")}
	if good.SASLPasswordFile == "" {
		good.SASLPassword = os.Getenv("JFT_TEST_KAFKA_SASL_PASSWORD")
	}
	if err := good.Validate(); err != nil || good.TLSCAFile == "" {
		t.Fatalf("JFT_TEST_KAFKA_CA, JFT_TEST_KAFKA_SASL_USER and a password are needed with JFT_TEST_KAFKA_SASL_SEEDS: %v", err)
	}
	return strings.Split(s, ","), good
}

func client(t *testing.T, seeds []string, cfg Config, more ...kgo.Opt) *kgo.Client {
	t.Helper()
	opts, err := cfg.Opts()
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(append(append([]kgo.Opt{kgo.SeedBrokers(seeds...), kgo.RequestRetries(0), kgo.RetryTimeout(5 * time.Second)}, opts...), more...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func ping(t *testing.T, seeds []string, cfg Config) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return client(t, seeds, cfg).Ping(ctx)
}

// roundTrip creates a topic, produces a record and consumes it back, every step with cfg.
func roundTrip(t *testing.T, seeds []string, cfg Config) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	topic := fmt.Sprintf("kafkasec-%d", time.Now().UnixNano())
	adm := kadm.NewClient(client(t, seeds, cfg))
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, topic); err != nil {
		t.Fatalf("create topic: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = adm.DeleteTopic(ctx, topic)
	})

	retry := []kgo.Opt{kgo.RequestRetries(10), kgo.RetryTimeout(30 * time.Second)}
	want := &kgo.Record{Topic: topic, Key: []byte("k"), Value: []byte("secured record")}
	if err := client(t, seeds, cfg, retry...).ProduceSync(ctx, want).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	cons := client(t, seeds, cfg, append(retry, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	for {
		fs := cons.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("no record consumed: %v", err)
		}
		for _, e := range fs.Errors() {
			t.Fatalf("consume: %v", e.Err)
		}
		if recs := fs.Records(); len(recs) > 0 {
			if got := recs[0]; string(got.Key) != "k" || string(got.Value) != string(want.Value) || got.Offset != 0 {
				t.Fatalf("consumed %q=%q at %d", got.Key, got.Value, got.Offset)
			}
			return
		}
	}
}

// TestRealBrokerOverSASLSSL: with the script's CA, user and password a record goes in and
// comes back out over SASL_SSL with SCRAM-SHA-512.
func TestRealBrokerOverSASLSSL(t *testing.T) {
	seeds, good := broker(t)
	roundTrip(t, seeds, good)
}

// TestRealBrokerPlaintextWithTheZeroValue: the default settings add no option, and reach
// the PLAINTEXT listener of the same broker.
func TestRealBrokerPlaintextWithTheZeroValue(t *testing.T) {
	s := os.Getenv("JFT_TEST_KAFKA_SEEDS")
	if s == "" {
		t.Skip("JFT_TEST_KAFKA_SEEDS not set (scripts/kafka/kafka.sh start prints it)")
	}
	roundTrip(t, strings.Split(s, ","), Config{})
}

// TestRealBrokerRefusesAWrongPassword: the broker answers SASL_AUTHENTICATION_FAILED, and
// the error does not carry the password.
func TestRealBrokerRefusesAWrongPassword(t *testing.T) {
	seeds, good := broker(t)
	wrong := good
	wrong.SASLPasswordFile, wrong.SASLPassword = "", "not-the-"+secret
	err := ping(t, seeds, wrong)
	if !errors.Is(err, kerr.SaslAuthenticationFailed) {
		t.Fatalf("wrong password: err %v, want SASL_AUTHENTICATION_FAILED", err)
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("the password is in the error: %v", err)
	}
	unknown := good
	unknown.SASLUsername = "nobody"
	if err := ping(t, seeds, unknown); !errors.Is(err, kerr.SaslAuthenticationFailed) {
		t.Errorf("unknown user: err %v, want SASL_AUTHENTICATION_FAILED", err)
	}
}

// TestRealBrokerCertificateIsVerified: without the script's CA (the system's roots, or
// another CA) the handshake fails before any credential is sent.
func TestRealBrokerCertificateIsVerified(t *testing.T) {
	seeds, good := broker(t)
	for name, ca := range map[string]string{"system roots": "", "another CA": writePKI(t, t.TempDir()).caFile} {
		t.Run(name, func(t *testing.T) {
			cfg := good
			cfg.TLSCAFile = ca
			err := ping(t, seeds, cfg)
			var unknown x509.UnknownAuthorityError
			if !errors.As(err, &unknown) && (err == nil || !strings.Contains(err.Error(), "certificate signed by unknown authority")) {
				t.Fatalf("err %v, want x509: certificate signed by unknown authority", err)
			}
		})
	}
	// A name the certificate does not hold is refused as well.
	cfg := good
	cfg.TLSServerName = "kafka.example"
	var host x509.HostnameError
	if err := ping(t, seeds, cfg); !errors.As(err, &host) && (err == nil || !strings.Contains(err.Error(), "certificate is valid for")) {
		t.Errorf("wrong server name: err %v", err)
	}
}
