// Package kafkasec turns the gateway's Kafka security settings (JFT_KAFKA_TLS_*,
// JFT_KAFKA_SASL_*) into franz-go client options: TLS with a private CA and optional client
// certificate, and SASL PLAIN or SCRAM-SHA-256/512. Both Kafka clients of the gateway, the
// consumer's protocol probe and jftctl use the same options.
package kafkasec

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// SASL mechanisms.
const (
	MechPlain       = "PLAIN"
	MechScramSHA256 = "SCRAM-SHA-256"
	MechScramSHA512 = "SCRAM-SHA-512"
)

// Config is how the gateway reaches a secured Kafka. The zero value is PLAINTEXT without
// SASL, what a broker on loopback or in the same pod network offers.
type Config struct {
	// TLS encrypts the connections to the brokers and verifies their certificates. Default
	// false, for local brokers. Risk when off: records (health data) and SASL exchanges
	// cross the network in clear text; every shared cluster should have it on.
	TLS bool `env:"JFT_KAFKA_TLS, default=false"`
	// TLSCAFile is a PEM file of the CA certificates that sign the brokers' certificates
	// (needs JFT_KAFKA_TLS=true). Default empty: the system's roots, right for a managed
	// service with a public CA; a private CA must be given here or the handshake fails.
	TLSCAFile string `env:"JFT_KAFKA_TLS_CA_FILE"`
	// TLSCertFile is the PEM client certificate for mutual TLS, given together with
	// JFT_KAFKA_TLS_KEY_FILE. Default empty: no client certificate.
	TLSCertFile string `env:"JFT_KAFKA_TLS_CERT_FILE"`
	// TLSKeyFile is the PEM private key of TLSCertFile. Default empty. Risk: whoever reads
	// it is the gateway to the brokers; mount it from a secret, readable by the gateway only.
	TLSKeyFile string `env:"JFT_KAFKA_TLS_KEY_FILE"`
	// TLSServerName overrides the name checked in the brokers' certificates. Default empty:
	// each broker is checked by the host of the address it is dialled at (seed or advertised).
	TLSServerName string `env:"JFT_KAFKA_TLS_SERVER_NAME"`
	// TLSInsecureSkipVerify accepts any broker certificate. Default false. Risk: anyone on
	// the path can pose as the broker, read and change health data in transit and, with
	// PLAIN, take the password. Only for a broker you run on loopback.
	TLSInsecureSkipVerify bool `env:"JFT_KAFKA_TLS_INSECURE_SKIP_VERIFY, default=false"`
	// SASLMechanism is empty (no SASL), PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512. Default
	// empty. PLAIN sends the password itself (TLS is required, see SASLAllowPlaintext);
	// SCRAM proves it without sending it.
	SASLMechanism string `env:"JFT_KAFKA_SASL_MECHANISM"`
	// SASLUsername is the SASL user; required with a mechanism. Default empty.
	SASLUsername string `env:"JFT_KAFKA_SASL_USERNAME"`
	// SASLPassword is the SASL password; exactly one of it and SASLPasswordFile is needed
	// with a mechanism. Default empty. Risk: the environment shows in process listings,
	// crash dumps and `kubectl describe`; prefer SASLPasswordFile.
	SASLPassword string `env:"JFT_KAFKA_SASL_PASSWORD"`
	// SASLPasswordFile is a file holding the SASL password (a trailing newline is ignored),
	// e.g. a mounted Kubernetes secret. Default empty. It is read when the clients are
	// made; a rotated password takes effect on restart.
	SASLPasswordFile string `env:"JFT_KAFKA_SASL_PASSWORD_FILE"`
	// SASLAllowPlaintext allows PLAIN without TLS. Default false. Risk: the password
	// crosses the network in clear text. Only for a broker on loopback.
	SASLAllowPlaintext bool `env:"JFT_KAFKA_SASL_ALLOW_PLAINTEXT, default=false"`
}

// Validate checks the settings; each error names its variable.
func (c Config) Validate() error {
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		return errors.New("JFT_KAFKA_TLS_CERT_FILE and JFT_KAFKA_TLS_KEY_FILE: give both for mutual TLS, or neither")
	}
	if !c.TLS {
		for _, s := range []struct {
			name string
			set  bool
		}{
			{"JFT_KAFKA_TLS_CA_FILE", c.TLSCAFile != ""},
			{"JFT_KAFKA_TLS_CERT_FILE", c.TLSCertFile != ""},
			{"JFT_KAFKA_TLS_SERVER_NAME", c.TLSServerName != ""},
			{"JFT_KAFKA_TLS_INSECURE_SKIP_VERIFY", c.TLSInsecureSkipVerify},
		} {
			if s.set {
				// Ignoring it would connect in clear text to a broker meant to be reached over TLS.
				return fmt.Errorf("JFT_KAFKA_TLS: %s is set but JFT_KAFKA_TLS is not true", s.name)
			}
		}
	}
	switch c.SASLMechanism {
	case "":
		if c.SASLUsername != "" || c.SASLPassword != "" || c.SASLPasswordFile != "" {
			return errors.New("JFT_KAFKA_SASL_MECHANISM: SASL credentials are given but no mechanism (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)")
		}
		return nil
	case MechPlain, MechScramSHA256, MechScramSHA512:
	default:
		return fmt.Errorf("JFT_KAFKA_SASL_MECHANISM: %q is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512", c.SASLMechanism)
	}
	if c.SASLUsername == "" {
		return fmt.Errorf("JFT_KAFKA_SASL_USERNAME: required with JFT_KAFKA_SASL_MECHANISM=%s", c.SASLMechanism)
	}
	if (c.SASLPassword == "") == (c.SASLPasswordFile == "") {
		return errors.New("JFT_KAFKA_SASL_PASSWORD or JFT_KAFKA_SASL_PASSWORD_FILE: give exactly one")
	}
	if c.SASLMechanism == MechPlain && !c.TLS && !c.SASLAllowPlaintext {
		return errors.New("JFT_KAFKA_SASL_MECHANISM: PLAIN without JFT_KAFKA_TLS sends the password in clear text; turn TLS on, or set JFT_KAFKA_SASL_ALLOW_PLAINTEXT=true for a loopback broker")
	}
	return nil
}

// Opts returns the client options for the settings: none for PLAINTEXT.
func (c Config) Opts() ([]kgo.Opt, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	var opts []kgo.Opt
	if c.TLS {
		tc, err := c.tlsConfig()
		if err != nil {
			return nil, err
		}
		// franz-go clones tc per dial and, when ServerName is empty, checks each broker by
		// the host of the address it dials.
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	if c.SASLMechanism != "" {
		m, err := c.mechanism()
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.SASL(m))
	}
	return opts, nil
}

func (c Config) tlsConfig() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.TLSServerName, InsecureSkipVerify: c.TLSInsecureSkipVerify} //nolint:gosec // documented opt-in
	if c.TLSCAFile != "" {
		pem, err := os.ReadFile(c.TLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("JFT_KAFKA_TLS_CA_FILE: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("JFT_KAFKA_TLS_CA_FILE: %s holds no PEM certificate", c.TLSCAFile)
		}
		tc.RootCAs = pool
	}
	if c.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.TLSCertFile, c.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("JFT_KAFKA_TLS_CERT_FILE/JFT_KAFKA_TLS_KEY_FILE: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

func (c Config) mechanism() (sasl.Mechanism, error) {
	pw := c.SASLPassword
	if c.SASLPasswordFile != "" {
		b, err := os.ReadFile(c.SASLPasswordFile)
		if err != nil {
			// The path is not secret; the error from ReadFile holds nothing else.
			return nil, fmt.Errorf("JFT_KAFKA_SASL_PASSWORD_FILE: %w", err)
		}
		pw = strings.TrimRight(string(b), "\r\n")
		if pw == "" {
			return nil, fmt.Errorf("JFT_KAFKA_SASL_PASSWORD_FILE: %s is empty", c.SASLPasswordFile)
		}
	}
	switch c.SASLMechanism {
	case MechPlain:
		return plain.Auth{User: c.SASLUsername, Pass: pw}.AsMechanism(), nil
	case MechScramSHA256:
		return scram.Auth{User: c.SASLUsername, Pass: pw}.AsSha256Mechanism(), nil
	default:
		return scram.Auth{User: c.SASLUsername, Pass: pw}.AsSha512Mechanism(), nil
	}
}
