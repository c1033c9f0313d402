package gateway_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/jft-gateway/jft-gateway/internal/kafkasec"
)

// TestOverSASLSSL runs the gateway against the real broker's SASL_SSL listener (SCRAM-SHA-512,
// the script's own CA) with the JFT_KAFKA_TLS_* and JFT_KAFKA_SASL_* settings: both of its
// Kafka clients authenticate, and every input gets its result. The topics are made and read
// over the plaintext listener of the same broker.
func TestOverSASLSSL(t *testing.T) {
	seeds := os.Getenv("JFT_TEST_KAFKA_SASL_SEEDS")
	if seeds == "" || os.Getenv("JFT_TEST_KAFKA_SEEDS") == "" {
		t.Skip("needs the real broker: JFT_TEST_KAFKA_SEEDS and JFT_TEST_KAFKA_SASL_SEEDS (scripts/kafka/kafka.sh start)")
	}
	h := newHarness(t)
	cfg := h.cfg
	cfg.Consumer.Brokers = strings.Split(seeds, ",")
	cfg.Kafka = kafkasec.Config{TLS: true, TLSCAFile: os.Getenv("JFT_TEST_KAFKA_CA"), SASLMechanism: kafkasec.MechScramSHA512,
		SASLUsername: os.Getenv("JFT_TEST_KAFKA_SASL_USER"), SASLPasswordFile: os.Getenv("JFT_TEST_KAFKA_SASL_PASSWORD_FILE")}
	g := newSamples(t, 9)
	const n = 30
	var recs []*kgo.Record
	for i := range n {
		ev := g.Next(i)
		recs = append(recs, eventRecord(fmt.Sprintf("s-%d", i), ev.Tenant, ev.Value))
	}
	stop := h.start(cfg)
	h.produce(recs...)
	got := h.waitResults(n, 60*time.Second, 0)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if id := fmt.Sprintf("s-%d", i); len(got[id]) != 1 {
			t.Errorf("%s: %d results", id, len(got[id]))
		}
	}
}
