package producer

import (
	"fmt"
	"strings"
	"time"
)

// Config of the result and dead-letter writer.
type Config struct {
	// ResultsTopic receives exactly one result record per input record.
	ResultsTopic string `env:"JFT_TOPIC_RESULTS, default=jft.results.v1"`
	// DLQTopic receives a replayable copy of every input whose outcome is failed (and,
	// with DLQRejected, rejected). Empty disables the dead-letter copy: risky, because a
	// failed input can then only be replayed from the input topic's retention.
	DLQTopic string `env:"JFT_TOPIC_DLQ, default=jft.dlq.v1"`
	// DLQRejected also copies rejected inputs to the DLQ. Off by default: a rejected input
	// fails the same way when replayed, so it needs fixing by its producer, not a replay.
	DLQRejected bool `env:"JFT_DLQ_REJECTED, default=false"`
	// Linger is how long a result may wait for others to share its produce request
	// (franz-go's ProducerLinger; Kafka's own producer lingers 5 ms by default since Kafka
	// 4.0). Without it, at low rates each result goes out in a request of its own: at
	// 200 ms WriteAPI latency, 2 ms cut the gateway's CPU per record by about a quarter
	// (docs/performance.md). The cost: each result, and the commit of its input, waits up to
	// this long; under key ordering the key's next record does not wait for it, under
	// partition ordering (one record at a time) every record does.
	Linger time.Duration `env:"JFT_RESULTS_LINGER, default=2ms"`
	// Transactional writes results and dead-letter copies in Kafka transactions that also
	// commit their inputs' offsets (exactly-once from Kafka's side): a result repeated after
	// a crash is aborted, so read_committed consumers never see it. Needs
	// JFT_KAFKA_INSTANCE_ID, from which the transactional id is made. The cost: results
	// become visible only when their transaction commits (up to JFT_RESULTS_TXN_INTERVAL
	// later), and the WriteAPI calls a crash repeats include the uncommitted transaction's
	// records. See docs/reliability.md for both ways measured.
	Transactional bool `env:"JFT_RESULTS_TRANSACTIONAL, default=false"`
	// TxnInterval is how long completed results gather before their transaction commits
	// (transactional results only).
	TxnInterval time.Duration `env:"JFT_RESULTS_TXN_INTERVAL, default=50ms"`
	// TxnMaxRecords commits a transaction early once it holds this many records.
	TxnMaxRecords int `env:"JFT_RESULTS_TXN_MAX_RECORDS, default=5000"`
	// TxnTimeout is the broker's transaction.timeout.ms for our transactions: how long an
	// instance that died mid-transaction holds up read_committed readers of the results
	// when it does not come back under the same instance id.
	TxnTimeout time.Duration `env:"JFT_RESULTS_TXN_TIMEOUT, default=20s"`
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if err := checkTopic("JFT_TOPIC_RESULTS", c.ResultsTopic, true); err != nil {
		return err
	}
	if err := checkTopic("JFT_TOPIC_DLQ", c.DLQTopic, false); err != nil {
		return err
	}
	if c.DLQTopic != "" && c.DLQTopic == c.ResultsTopic {
		return fmt.Errorf("JFT_TOPIC_DLQ: must differ from JFT_TOPIC_RESULTS (%q)", c.ResultsTopic)
	}
	if c.Linger < 0 || c.Linger > time.Second {
		return fmt.Errorf("JFT_RESULTS_LINGER: %s is not between 0 and 1s", c.Linger)
	}
	if !c.Transactional {
		return nil
	}
	switch {
	case c.TxnInterval <= 0 || c.TxnInterval > 10*time.Second:
		return fmt.Errorf("JFT_RESULTS_TXN_INTERVAL: %s is not between 0 and 10s", c.TxnInterval)
	case c.TxnMaxRecords < 1:
		return fmt.Errorf("JFT_RESULTS_TXN_MAX_RECORDS: %d is not positive", c.TxnMaxRecords)
	case c.TxnTimeout < time.Second || c.TxnTimeout < 2*c.TxnInterval:
		return fmt.Errorf("JFT_RESULTS_TXN_TIMEOUT: %s is under 1s or under twice JFT_RESULTS_TXN_INTERVAL", c.TxnTimeout)
	}
	return nil
}

// checkTopic applies Kafka's topic name rules: 1–249 characters of [a-zA-Z0-9._-], not "." or "..".
func checkTopic(variable, name string, required bool) error {
	if name == "" {
		if required {
			return fmt.Errorf("%s: must be set to a Kafka topic name", variable)
		}
		return nil
	}
	if len(name) > 249 || name == "." || name == ".." {
		return fmt.Errorf("%s: %q is not a valid Kafka topic name (1–249 characters, not . or ..)", variable, name)
	}
	if i := strings.IndexFunc(name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
	}); i >= 0 {
		return fmt.Errorf("%s: %q is not a valid Kafka topic name (allowed: letters, digits, '.', '_', '-')", variable, name)
	}
	return nil
}
