package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/sethvargo/go-envconfig"

	"github.com/jft-gateway/jft-gateway/internal/devenv"
	"github.com/jft-gateway/jft-gateway/internal/gateway"
)

// devConfig configures `dev` (and the parts of `demo` that make sense to change).
type devConfig struct {
	// KafkaAddr is where the embedded Kafka listens, for any Kafka client (kcat, jftctl).
	KafkaAddr string `env:"JFT_DEV_KAFKA_ADDR, default=127.0.0.1:9092"`
	// DataDir keeps the embedded Kafka's data and the generated HelseID key across runs.
	DataDir string `env:"JFT_DEV_DATA_DIR, default=.jft-dev"`
	// Partitions of each topic created.
	Partitions int `env:"JFT_DEV_PARTITIONS, default=6"`
	// SimAddr is where the WriteAPI + HelseID simulator listens.
	SimAddr string `env:"JFT_DEV_SIM_ADDR, default=127.0.0.1:8088"`
}

func (c devConfig) validate() error {
	if c.Partitions < 1 || c.Partitions > 1000 {
		return fmt.Errorf("JFT_DEV_PARTITIONS: %d is not between 1 and 1000", c.Partitions)
	}
	return nil
}

// devStack is a running embedded environment plus the gateway configuration that points at it.
type devStack struct {
	env *devenv.Env
	cfg gateway.Config
}

// startDev starts Kafka and the simulator, registers a HelseID client for the demo tenants
// with a key kept in dir, and loads the gateway configuration with getenv's values under
// the ones that wire the gateway to the embedded services.
func startDev(ctx context.Context, dc devConfig, dir string, getenv func(string) string) (*devStack, error) {
	if err := dc.validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("JFT_DEV_DATA_DIR: %w", err)
	}
	topics, err := gateway.TopicsFromEnv(ctx, getenv)
	if err != nil {
		return nil, err
	}
	kafkaDir := ""
	if dc.DataDir != "" {
		kafkaDir = filepath.Join(dir, "kafka")
	}
	env, err := devenv.Start(ctx, devenv.Options{
		KafkaAddr:  dc.KafkaAddr,
		DataDir:    kafkaDir,
		Partitions: dc.Partitions,
		Topics:     topics,
		Sim:        map[string]string{"JFT_SIM_ADDR": dc.SimAddr, "JFT_SIM_ENVIRONMENT": "test", "JFT_SIM_AUTH": simAuth},
	})
	if err != nil {
		return nil, err
	}
	authEnv, err := devenv.RegisterDemoClient(env, dir)
	if err != nil {
		env.Close()
		return nil, err
	}
	overrides := map[string]string{
		"JFT_KAFKA_BROKERS":     env.Brokers[0],
		"JFT_WRITEAPI_BASE_URL": env.Sim.URL,
		"JFT_ENVIRONMENT":       "test",
	}
	for k, v := range authEnv {
		overrides[k] = v
	}
	defaults := map[string]string{"JFT_LOG_FORMAT": "text", "JFT_KAFKA_GROUP": "jft-gateway-dev", "JFT_ADMIN_ADDR": "127.0.0.1:9464"}
	cfg, err := gateway.Load(ctx, overlay(overrides, getenv, defaults))
	if err != nil {
		env.Close()
		return nil, err
	}
	return &devStack{env: env, cfg: cfg}, nil
}

// overlay looks a variable up in over, then in getenv, then in defaults.
func overlay(over map[string]string, getenv func(string) string, defaults map[string]string) func(string) string {
	return func(k string) string {
		if v, ok := over[k]; ok {
			return v
		}
		if v := getenv(k); v != "" {
			return v
		}
		return defaults[k]
	}
}

// dev runs the embedded environment and the gateway until ctx ends.
func dev(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) error {
	var dc devConfig
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: &dc, Lookuper: gateway.Lookuper(getenv)}); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	st, err := startDev(ctx, dc, dc.DataDir, getenv)
	if err != nil {
		return err
	}
	defer st.env.Close()
	fmt.Fprintf(stdout, "jft-gateway dev\n  kafka      %s (topics: %v, %s partitions each)\n  writeapi   %s (simulator, environment test)\n  helseid    %s\n  data       %s\n",
		st.env.Brokers[0], st.cfg.Pipeline.Topics(), strconv.Itoa(dc.Partitions), st.env.Sim.URL, st.env.Sim.URL, dc.DataDir)
	if st.cfg.Admin.Addr != "off" {
		fmt.Fprintf(stdout, "  admin      http://%s/metrics  /healthz  /readyz\n", st.cfg.Admin.Addr)
	}
	fmt.Fprintf(stdout, "  try        kcat -b %s -t %s -K: -P  (key = municipality, e.g. 312229544)\n", st.env.Brokers[0], st.cfg.Pipeline.EventsTopic)
	fmt.Fprintf(stdout, "             kcat -b %s -t %s -C -o beginning\n", st.env.Brokers[0], st.cfg.Producer.ResultsTopic)
	return runGateway(ctx, st.cfg, getenv, stderr, gateway.Deps{})
}

// simAuth is the simulator's auth mode in dev and demo.
const simAuth = "on"
