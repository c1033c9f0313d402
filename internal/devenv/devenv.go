// Package devenv runs the gateway's surroundings in process: an embedded Kafka (kfake, a
// real Kafka wire-protocol server) and the WriteAPI + HelseID simulator. `jft-gateway dev`
// and `demo`, the e2e tests and the benchmark use it.
package devenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/sethvargo/go-envconfig"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/jft-gateway/jft-gateway/jftsim"
)

// MaxMessageBytes is the embedded broker's message size limit.
const MaxMessageBytes = 4 << 20

// Options of the environment.
type Options struct {
	// KafkaAddr is where the embedded broker listens ("127.0.0.1:0" picks a free port).
	KafkaAddr string
	// DataDir keeps Kafka's data across restarts; empty keeps it in memory.
	DataDir string
	// Partitions of each topic.
	Partitions int
	// Topics to create.
	Topics []string
	// Sim are JFT_SIM_* settings for the simulator (JFT_SIM_ADDR defaults to 127.0.0.1:0).
	Sim map[string]string
	// KafkaOpts are extra kfake options (tests inject faults).
	KafkaOpts []kfake.Opt
	// ExternalBrokers, when set, are used instead of an embedded broker (real Kafka in
	// tests); topics are then created with kadm.
	ExternalBrokers []string
}

// Env is a running environment.
type Env struct {
	// Kafka is nil when ExternalBrokers were given.
	Kafka   *kfake.Cluster
	Sim     *jftsim.Server
	Brokers []string
}

// Start starts the broker and the simulator.
func Start(ctx context.Context, o Options) (*Env, error) {
	if o.Partitions <= 0 {
		o.Partitions = 6
	}
	if o.KafkaAddr == "" {
		o.KafkaAddr = "127.0.0.1:0"
	}
	if len(o.ExternalBrokers) > 0 {
		return startExternal(ctx, o)
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.SeedTopics(int32(o.Partitions), o.Topics...),
		// Room for events a little over the WriteAPI's ~1 MB, so that the size rule can be
		// shown (real Kafka's default is 1 MiB).
		kfake.BrokerConfigs(map[string]string{"message.max.bytes": strconv.Itoa(MaxMessageBytes)}),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) { return net.Listen(network, o.KafkaAddr) }),
	}
	if o.DataDir != "" {
		opts = append(opts, kfake.DataDir(o.DataDir))
	}
	cluster, err := kfake.NewCluster(append(opts, o.KafkaOpts...)...)
	if err != nil {
		return nil, fmt.Errorf("embedded kafka on %s: %w", o.KafkaAddr, err)
	}
	sim, err := startSim(ctx, o.Sim)
	if err != nil {
		cluster.Close()
		return nil, err
	}
	return &Env{Kafka: cluster, Sim: sim, Brokers: cluster.ListenAddrs()}, nil
}

// startExternal creates the topics on an external cluster and starts the simulator.
func startExternal(ctx context.Context, o Options) (*Env, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(o.ExternalBrokers...))
	if err != nil {
		return nil, fmt.Errorf("kafka %v: %w", o.ExternalBrokers, err)
	}
	defer cl.Close()
	resp, err := kadm.NewClient(cl).CreateTopics(ctx, int32(o.Partitions), 1, nil, o.Topics...)
	if err != nil {
		return nil, fmt.Errorf("create topics on %v: %w", o.ExternalBrokers, err)
	}
	for _, r := range resp.Sorted() {
		if r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
			return nil, fmt.Errorf("create topic %s: %w", r.Topic, r.Err)
		}
	}
	sim, err := startSim(ctx, o.Sim)
	if err != nil {
		return nil, err
	}
	return &Env{Sim: sim, Brokers: o.ExternalBrokers}, nil
}

// startSim starts the simulator from JFT_SIM_* settings (address default 127.0.0.1:0).
func startSim(ctx context.Context, settings map[string]string) (*jftsim.Server, error) {
	simEnv := map[string]string{"JFT_SIM_ADDR": "127.0.0.1:0"}
	for k, v := range settings {
		simEnv[k] = v
	}
	var simCfg jftsim.Config
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: &simCfg, Lookuper: envconfig.MapLookuper(simEnv)}); err != nil {
		return nil, fmt.Errorf("simulator config: %w", err)
	}
	sim, err := jftsim.NewServer(simCfg)
	if err != nil {
		return nil, fmt.Errorf("simulator: %w", err)
	}
	return sim, nil
}

// Close stops the simulator and the broker (which saves its data when DataDir is set).
func (e *Env) Close() {
	e.Sim.Close()
	if e.Kafka != nil {
		e.Kafka.Close()
	}
}
