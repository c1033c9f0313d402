package pipeline

import (
	"fmt"

	"github.com/jft-gateway/jft-gateway/internal/jft"
)

// Config names the input topics; the topic a record came from decides its kind.
type Config struct {
	// EventsTopic carries FHIR events (value: one Bundle, Composition or MedicationDispense).
	EventsTopic string `env:"JFT_TOPIC_EVENTS, default=jft.events.v1"`
	// AcksTopic carries journaling acknowledgements; "off": none are consumed. (An empty
	// value counts as unset and gives the default.)
	AcksTopic string `env:"JFT_TOPIC_ACKS, default=jft.acks.v1"`
}

// AcksOff as JFT_TOPIC_ACKS consumes no acknowledgements.
const AcksOff = "off"

func (c Config) acksOff() bool { return c.AcksTopic == "" || c.AcksTopic == AcksOff }

// Validate checks the configuration.
func (c Config) Validate() error {
	if c.EventsTopic == "" {
		return fmt.Errorf("JFT_TOPIC_EVENTS: must be set to a Kafka topic name")
	}
	if c.AcksTopic != AcksOff && c.AcksTopic == c.EventsTopic {
		return fmt.Errorf("JFT_TOPIC_ACKS: must differ from JFT_TOPIC_EVENTS (%q)", c.EventsTopic)
	}
	return nil
}

// Topics returns the input topics to consume.
func (c Config) Topics() []string {
	if c.acksOff() {
		return []string{c.EventsTopic}
	}
	return []string{c.EventsTopic, c.AcksTopic}
}

func (c Config) kindOf(topic string) jft.Kind {
	if topic == c.AcksTopic && !c.acksOff() {
		return jft.KindAcknowledgement
	}
	return jft.KindEvent
}
