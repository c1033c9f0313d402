package pipeline

import (
	"fmt"

	"github.com/jft-gateway/jft-gateway/internal/jft"
)

// Config names the input topics; the topic a record came from decides its kind.
type Config struct {
	// EventsTopic carries FHIR events (value: one Bundle, Composition or MedicationDispense).
	EventsTopic string `env:"JFT_TOPIC_EVENTS, default=jft.events.v1"`
	// AcksTopic carries journaling acknowledgements. Empty: not consumed.
	AcksTopic string `env:"JFT_TOPIC_ACKS, default=jft.acks.v1"`
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if c.EventsTopic == "" {
		return fmt.Errorf("JFT_TOPIC_EVENTS: must be set to a Kafka topic name")
	}
	if c.AcksTopic == c.EventsTopic {
		return fmt.Errorf("JFT_TOPIC_ACKS: must differ from JFT_TOPIC_EVENTS (%q)", c.EventsTopic)
	}
	return nil
}

// Topics returns the input topics to consume.
func (c Config) Topics() []string {
	if c.AcksTopic == "" {
		return []string{c.EventsTopic}
	}
	return []string{c.EventsTopic, c.AcksTopic}
}

func (c Config) kindOf(topic string) jft.Kind {
	if topic == c.AcksTopic && c.AcksTopic != "" {
		return jft.KindAcknowledgement
	}
	return jft.KindEvent
}
