package consumer

import (
	"fmt"
	"strings"
	"time"
)

// Ordering decides which records of one partition may be handled at the same time.
type Ordering string

const (
	// OrderPartition handles one record of a partition at a time, in offset order.
	OrderPartition Ordering = "partition"
	// OrderKey handles records of one key in offset order and different keys
	// concurrently: one municipality's events reach the WriteAPI in order.
	OrderKey Ordering = "key"
	// OrderUnordered handles any records of the window concurrently.
	OrderUnordered Ordering = "unordered"
)

// Group protocols.
const (
	ProtocolClassic  = "classic"  // JoinGroup/SyncGroup with the cooperative-sticky balancer
	ProtocolConsumer = "consumer" // KIP-848: the broker assigns, no stop-the-world rebalances
	ProtocolAuto     = "auto"     // consumer when the broker supports it, else classic
)

// Config of the group consumer. Every default is sized for a WriteAPI answering in 20–200 ms.
type Config struct {
	// Brokers to bootstrap from.
	Brokers []string `env:"JFT_KAFKA_BROKERS, default=127.0.0.1:9092"`
	// Group is the consumer group id; every gateway instance of one deployment shares it.
	Group string `env:"JFT_KAFKA_GROUP, default=jft-gateway"`
	// InstanceID turns on static membership (group.instance.id), e.g. the pod name from a
	// StatefulSet: a restarted instance gets its partitions back at once instead of after
	// a rebalance. It must be unique per instance; empty means dynamic membership.
	InstanceID string `env:"JFT_KAFKA_INSTANCE_ID"`
	// LeaveOnShutdown: on a graceful stop (SIGTERM) a static member leaves the group for
	// good, so its partitions move to the others at once. In Kubernetes a Deployment's pod
	// that gets SIGTERM is deleted and its name never returns; without this its partitions
	// would wait for the session timeout (45 s). Set false for a StatefulSet, whose pod
	// comes back under the same name and should find its partitions kept. A crash sends
	// no leave either way; the restarted instance then takes its id back at once.
	LeaveOnShutdown bool `env:"JFT_KAFKA_LEAVE_ON_SHUTDOWN, default=true"`
	// GroupProtocol is classic, consumer (KIP-848) or auto.
	GroupProtocol string `env:"JFT_KAFKA_GROUP_PROTOCOL, default=auto"`
	// Topics to consume; set by the gateway from its topic configuration.
	Topics []string
	// Ordering within a partition: partition, key or unordered.
	Ordering Ordering `env:"JFT_ORDERING, default=key"`
	// MaxInFlightPerPartition bounds the records of one partition taken for handling and not
	// yet done (its window): throughput per partition ≈ this ÷ WriteAPI latency, and it
	// bounds what a crash can repeat per partition. Under key ordering the window also holds
	// records waiting for their key's predecessor (they take no instance-wide slot), so a
	// window above JFT_MAX_IN_FLIGHT can make sense there. 0 means JFT_MAX_IN_FLIGHT, so that
	// one busy partition can use the whole instance; the instance-wide slots go round the
	// waiting partitions in turn, so a busy partition does not starve the others.
	MaxInFlightPerPartition int `env:"JFT_MAX_IN_FLIGHT_PER_PARTITION, default=0"`
	// MaxInFlight bounds records being handled at once across all partitions of the
	// instance, which is about the WriteAPI calls in flight: throughput ≈ this ÷ latency.
	MaxInFlight int `env:"JFT_MAX_IN_FLIGHT, default=512"`
	// DrainTimeout bounds how long shutdown and a revocation wait for in-flight records.
	DrainTimeout time.Duration `env:"JFT_SHUTDOWN_DRAIN_TIMEOUT, default=30s"`
	// SessionTimeout: how long the group waits for a silent member (classic protocol).
	SessionTimeout time.Duration `env:"JFT_KAFKA_SESSION_TIMEOUT, default=45s"`
	// RebalanceTimeout: how long members have to finish revoking (classic protocol).
	RebalanceTimeout time.Duration `env:"JFT_KAFKA_REBALANCE_TIMEOUT, default=60s"`
	// CommitInterval is the fallback periodic commit; completed records are also committed
	// eagerly, one commit in flight at a time.
	CommitInterval time.Duration `env:"JFT_KAFKA_COMMIT_INTERVAL, default=1s"`
	// FetchMaxWait bounds how long a fetch waits for data.
	FetchMaxWait time.Duration `env:"JFT_KAFKA_FETCH_MAX_WAIT, default=250ms"`
	// FetchMaxBytes bounds one fetch response (franz-go's default is 50 MiB). Records wait
	// in memory until their turn, so with a backlog this sets the memory a fetch brings in.
	// A single record batch larger than this is still fetched.
	FetchMaxBytes int32 `env:"JFT_KAFKA_FETCH_MAX_BYTES, default=4194304"`
	// FetchMaxPartitionBytes bounds one partition's share of a fetch (franz-go's default is
	// 1 MiB). A fetched partition's records all go to its queue, so this, times the
	// compression ratio, bounds how far a queue can run beyond its window. A single record
	// batch larger than this is still fetched.
	FetchMaxPartitionBytes int32 `env:"JFT_KAFKA_FETCH_MAX_PARTITION_BYTES, default=262144"`
}

// Window is the per-partition window in effect: MaxInFlightPerPartition, or MaxInFlight
// when that is 0.
func (c Config) Window() int {
	if c.MaxInFlightPerPartition == 0 {
		return c.MaxInFlight
	}
	return c.MaxInFlightPerPartition
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if len(c.Brokers) == 0 || strings.TrimSpace(c.Brokers[0]) == "" {
		return fmt.Errorf("JFT_KAFKA_BROKERS: at least one host:port is needed")
	}
	if c.Group == "" {
		return fmt.Errorf("JFT_KAFKA_GROUP: must be set")
	}
	switch c.GroupProtocol {
	case ProtocolClassic, ProtocolConsumer, ProtocolAuto:
	default:
		return fmt.Errorf("JFT_KAFKA_GROUP_PROTOCOL: %q is not one of classic, consumer, auto", c.GroupProtocol)
	}
	switch c.Ordering {
	case OrderPartition, OrderKey, OrderUnordered:
	default:
		return fmt.Errorf("JFT_ORDERING: %q is not one of partition, key, unordered", c.Ordering)
	}
	switch {
	case c.MaxInFlight < 1 || c.MaxInFlight > 10000:
		return fmt.Errorf("JFT_MAX_IN_FLIGHT: %d is not between 1 and 10000", c.MaxInFlight)
	case c.MaxInFlightPerPartition < 0 || c.MaxInFlightPerPartition > 10000:
		return fmt.Errorf("JFT_MAX_IN_FLIGHT_PER_PARTITION: %d is not between 0 (JFT_MAX_IN_FLIGHT) and 10000", c.MaxInFlightPerPartition)
	case c.DrainTimeout <= 0:
		return fmt.Errorf("JFT_SHUTDOWN_DRAIN_TIMEOUT: must be positive")
	case c.FetchMaxBytes < 1<<20:
		return fmt.Errorf("JFT_KAFKA_FETCH_MAX_BYTES: %d is under 1 MiB, the size of one large event", c.FetchMaxBytes)
	case c.FetchMaxPartitionBytes < 1<<10 || c.FetchMaxPartitionBytes > c.FetchMaxBytes:
		return fmt.Errorf("JFT_KAFKA_FETCH_MAX_PARTITION_BYTES: %d is not between 1 KiB and JFT_KAFKA_FETCH_MAX_BYTES (%d)", c.FetchMaxPartitionBytes, c.FetchMaxBytes)
	case c.SessionTimeout < time.Second:
		return fmt.Errorf("JFT_KAFKA_SESSION_TIMEOUT: %s is under one second", c.SessionTimeout)
	case c.CommitInterval <= 0:
		return fmt.Errorf("JFT_KAFKA_COMMIT_INTERVAL: must be positive")
	case c.FetchMaxWait <= 0:
		return fmt.Errorf("JFT_KAFKA_FETCH_MAX_WAIT: must be positive")
	}
	return nil
}
