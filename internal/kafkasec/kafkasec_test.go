package kafkasec

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestValidateNamesTheVariable(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string // "" = valid
	}{
		{"plaintext", Config{}, ""},
		{"tls with a CA", Config{TLS: true, TLSCAFile: "ca.pem"}, ""},
		{"scram over tls", Config{TLS: true, SASLMechanism: MechScramSHA512, SASLUsername: "u", SASLPasswordFile: "pw"}, ""},
		{"plain over tls", Config{TLS: true, SASLMechanism: MechPlain, SASLUsername: "u", SASLPassword: "p"}, ""},
		{"plain in clear text allowed", Config{SASLMechanism: MechPlain, SASLUsername: "u", SASLPassword: "p", SASLAllowPlaintext: true}, ""},
		{"cert without key", Config{TLS: true, TLSCertFile: "c.pem"}, "JFT_KAFKA_TLS_CERT_FILE"},
		{"tls settings without tls", Config{TLSCAFile: "ca.pem"}, "JFT_KAFKA_TLS"},
		{"unknown mechanism", Config{SASLMechanism: "GSSAPI", SASLUsername: "u", SASLPassword: "p"}, "JFT_KAFKA_SASL_MECHANISM"},
		{"no user", Config{TLS: true, SASLMechanism: MechScramSHA256, SASLPassword: "p"}, "JFT_KAFKA_SASL_USERNAME"},
		{"two passwords", Config{TLS: true, SASLMechanism: MechScramSHA256, SASLUsername: "u", SASLPassword: "p", SASLPasswordFile: "f"}, "JFT_KAFKA_SASL_PASSWORD"},
		{"no password", Config{TLS: true, SASLMechanism: MechScramSHA256, SASLUsername: "u"}, "JFT_KAFKA_SASL_PASSWORD"},
		{"plain in clear text", Config{SASLMechanism: MechPlain, SASLUsername: "u", SASLPassword: "p"}, "clear text"},
		{"credentials without mechanism", Config{SASLUsername: "u"}, "JFT_KAFKA_SASL_MECHANISM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("err %v, want one naming %q", err, tt.want)
			}
		})
	}
}

func writeCA(t *testing.T, dir string) string {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOptsReadTheFilesAndKeepThePasswordOut(t *testing.T) {
	dir := t.TempDir()
	ca := writeCA(t, dir)
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("s3cret-password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := Config{TLS: true, TLSCAFile: ca, SASLMechanism: MechScramSHA512, SASLUsername: "jft", SASLPasswordFile: pw}.Opts()
	if err != nil || len(opts) != 2 {
		t.Fatalf("opts %d, err %v", len(opts), err)
	}
	if opts, err := (Config{}).Opts(); err != nil || len(opts) != 0 {
		t.Errorf("plaintext: %d opts, %v", len(opts), err)
	}
	notPEM := filepath.Join(dir, "not.pem")
	_ = os.WriteFile(notPEM, []byte("hello"), 0o600)
	for name, cfg := range map[string]Config{
		"JFT_KAFKA_TLS_CA_FILE":        {TLS: true, TLSCAFile: notPEM},
		"JFT_KAFKA_TLS_CA_FILE ":       {TLS: true, TLSCAFile: filepath.Join(dir, "missing.pem")},
		"JFT_KAFKA_SASL_PASSWORD_FILE": {TLS: true, SASLMechanism: MechScramSHA512, SASLUsername: "jft", SASLPasswordFile: filepath.Join(dir, "missing")},
		"JFT_KAFKA_TLS_CERT_FILE":      {TLS: true, TLSCertFile: ca, TLSKeyFile: ca},
	} {
		_, err := cfg.Opts()
		if err == nil || !strings.Contains(err.Error(), strings.TrimSpace(name)) {
			t.Errorf("%s: err %v", name, err)
		}
	}
	_, err = Config{TLS: true, SASLMechanism: MechScramSHA512, SASLUsername: "jft", SASLPassword: "s3cret-password", TLSCAFile: notPEM}.Opts()
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("err %v", err)
	}
}

// broker returns the real broker's SASL_SSL settings, or skips.
func broker(t *testing.T) (seeds []string, ca, user, pwFile string) {
	t.Helper()
	s := os.Getenv("JFT_TEST_KAFKA_SASL_SEEDS")
	if s == "" {
		t.Skip("JFT_TEST_KAFKA_SASL_SEEDS not set (scripts/kafka/kafka.sh start prints it)")
	}
	return strings.Split(s, ","), os.Getenv("JFT_TEST_KAFKA_CA"), os.Getenv("JFT_TEST_KAFKA_SASL_USER"), os.Getenv("JFT_TEST_KAFKA_SASL_PASSWORD_FILE")
}

func ping(t *testing.T, seeds []string, cfg Config) error {
	t.Helper()
	opts, err := cfg.Opts()
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(seeds...), kgo.RequestRetries(0), kgo.RetryTimeout(5 * time.Second)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	_, err = kadm.NewClient(cl).ListTopics(ctx)
	return err
}

// TestRealBrokerOverSASLSSL: with the script's CA, user and password a client is served
// over SASL_SSL with SCRAM-SHA-512; a wrong password, and a CA that did not sign the
// broker's certificate, are refused.
func TestRealBrokerOverSASLSSL(t *testing.T) {
	seeds, ca, user, pwFile := broker(t)
	good := Config{TLS: true, TLSCAFile: ca, SASLMechanism: MechScramSHA512, SASLUsername: user, SASLPasswordFile: pwFile}
	if err := ping(t, seeds, good); err != nil {
		t.Fatalf("SASL_SSL with the right credentials: %v", err)
	}
	wrong := good
	wrong.SASLPasswordFile, wrong.SASLPassword = "", "not-the-password"
	if err := ping(t, seeds, wrong); err == nil || !strings.Contains(strings.ToLower(err.Error()), "sasl") && !strings.Contains(strings.ToLower(err.Error()), "auth") {
		t.Errorf("wrong password: err %v, want an authentication failure", err)
	}
	other := good
	other.TLSCAFile = writeCA(t, t.TempDir())
	if err := ping(t, seeds, other); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted broker certificate: err %v", err)
	}
}
