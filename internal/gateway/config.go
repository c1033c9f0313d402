package gateway

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/sethvargo/go-envconfig"

	"github.com/jft-gateway/jft-gateway/consumer"
	"github.com/jft-gateway/jft-gateway/internal/admin"
	"github.com/jft-gateway/jft-gateway/internal/kafkasec"
	"github.com/jft-gateway/jft-gateway/internal/pipeline"
	"github.com/jft-gateway/jft-gateway/producer"
	"github.com/jft-gateway/jft-gateway/transform"
	"github.com/jft-gateway/jft-gateway/writeapi"
)

// Config is the whole gateway's configuration: one section per package, each read from its
// own JFT_* variables (see `jft-gateway help` and docs/configuration.md).
type Config struct {
	Log       LogConfig
	Admin     admin.Config
	Pipeline  pipeline.Config
	Consumer  consumer.Config
	Kafka     kafkasec.Config
	Producer  producer.Config
	Transform transform.Config
	WriteAPI  writeapi.Config
	Auth      AuthConfig
}

// LogConfig selects the log format and level.
type LogConfig struct {
	// Level is debug, info, warn or error.
	Level string `env:"JFT_LOG_LEVEL, default=info"`
	// Format is json (default; for log collectors) or text (for people).
	Format string `env:"JFT_LOG_FORMAT, default=json"`
}

// Validate checks the log settings.
func (c LogConfig) Validate() error {
	switch c.Level {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("JFT_LOG_LEVEL: %q is not one of debug, info, warn, error", c.Level)
	}
	switch c.Format {
	case "json", "text":
	default:
		return fmt.Errorf("JFT_LOG_FORMAT: %q is not one of json, text", c.Format)
	}
	return nil
}

// Lookuper adapts a getenv function; an empty value counts as unset.
type Lookuper func(string) string

// Lookup implements envconfig.Lookuper.
func (f Lookuper) Lookup(key string) (string, bool) {
	v := f(key)
	return v, v != ""
}

// Load reads the configuration from getenv and validates every section.
func Load(ctx context.Context, getenv func(string) string) (Config, error) {
	var cfg Config
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: &cfg, Lookuper: Lookuper(getenv)}); err != nil {
		return cfg, fmt.Errorf("configuration: %s: %w", variableOf(cfg, err), err)
	}
	return cfg, cfg.Validate()
}

// variableOf names the variable behind a go-envconfig error, which names only the Go
// field path ("WriteAPI: Timeout: time: invalid duration").
func variableOf(cfg any, err error) string {
	msg := err.Error()
	for _, v := range Variables(cfg) {
		if strings.HasPrefix(msg, strings.ReplaceAll(v.Section, ".", ": ")+":") {
			return v.Name
		}
	}
	return "a JFT_* variable"
}

// Validate checks every section and the rules that span sections.
func (c Config) Validate() error {
	for _, v := range []interface{ Validate() error }{c.Log, c.Admin, c.Pipeline, c.Consumer, c.Kafka, c.Producer, c.Transform, c.WriteAPI, c.Auth} {
		if err := v.Validate(); err != nil {
			return fmt.Errorf("configuration: %w", err)
		}
	}
	if err := c.checkAuthTarget(); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	if c.Producer.Transactional && c.Consumer.InstanceID == "" {
		return errors.New("configuration: JFT_RESULTS_TRANSACTIONAL: needs JFT_KAFKA_INSTANCE_ID, from which the transactional id is made " +
			"(stable across restarts, so that a restarted instance aborts the transaction its predecessor left open)")
	}
	return nil
}

// TopicsFromEnv returns every topic the gateway reads or writes, as configured by getenv:
// what `dev`, `demo` and `jftctl topics create` create.
func TopicsFromEnv(ctx context.Context, getenv func(string) string) ([]string, error) {
	var t struct {
		Pipeline pipeline.Config
		Producer producer.Config
	}
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: &t, Lookuper: Lookuper(getenv)}); err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	topics := append(t.Pipeline.Topics(), t.Producer.ResultsTopic)
	if t.Producer.DLQTopic != "" {
		topics = append(topics, t.Producer.DLQTopic)
	}
	return topics, nil
}
