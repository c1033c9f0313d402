package producer

import (
	"fmt"
	"strings"
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
