// Command jftctl is the operator's and integrator's tool for jft-gateway: create the
// topics, produce events (files or generated synthetic ones), follow results, replay the
// dead-letter topic, show lag per partition and municipality, and run the gateway's
// validation on a file offline. It reads the same JFT_* variables as the gateway, so both
// agree on brokers, topics and group by default.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/sethvargo/go-envconfig"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/jft-gateway/jft-gateway/consumer"
	"github.com/jft-gateway/jft-gateway/internal/gateway"
	"github.com/jft-gateway/jft-gateway/internal/kafkasec"
	"github.com/jft-gateway/jft-gateway/internal/pipeline"
	"github.com/jft-gateway/jft-gateway/producer"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, errReported) {
			fmt.Fprintln(os.Stderr, "jftctl:", err)
		}
		os.Exit(1)
	}
}

// errReported is returned when the command has already said what went wrong (validate's
// problems): exit 1 without another line.
var errReported = errors.New("reported")

const usage = `usage: jftctl <command> [flags]

commands:
  topics create   create the gateway's topics (events, acks, results, DLQ)
  produce         produce events from files or directories, or -generate N synthetic ones
  results tail    print results, filtered by tenant, outcome or code
  dlq replay      copy dead-lettered inputs back to their input topic (-dry-run first)
  lag             consumer-group lag per partition and per municipality
  validate        run the gateway's validation on files offline

Brokers, topics and group come from the gateway's variables (JFT_KAFKA_BROKERS,
JFT_TOPIC_*, JFT_KAFKA_GROUP); -brokers overrides. "jftctl <command> -h" lists flags.
`

// env is what jftctl shares with the gateway's configuration.
type env struct {
	Pipeline pipeline.Config
	Producer producer.Config
	Consumer consumer.Config
	Kafka    kafkasec.Config
}

type cli struct {
	ctx            context.Context
	env            env
	getenv         func(string) string
	stdout, stderr io.Writer
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c := &cli{ctx: ctx, getenv: getenv, stdout: stdout, stderr: stderr}
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: &c.env, Lookuper: gateway.Lookuper(getenv)}); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	cmd := strings.Join(args[:min(2, len(args))], " ")
	rest := func(n int) []string { return args[min(n, len(args)):] }
	switch {
	case cmd == "topics create":
		return c.topicsCreate(rest(2))
	case len(args) > 0 && args[0] == "produce":
		return c.produce(rest(1))
	case cmd == "results tail":
		return c.resultsTail(rest(2))
	case cmd == "dlq replay":
		return c.dlqReplay(rest(2))
	case len(args) > 0 && args[0] == "lag":
		return c.lag(rest(1))
	case len(args) > 0 && args[0] == "validate":
		return c.validate(rest(1))
	case len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", strings.Join(args, " "))
}

// flags returns a flag set for a command with the shared -brokers flag.
func (c *cli) flags(name string) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("jftctl "+name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	brokers := fs.String("brokers", strings.Join(c.env.Consumer.Brokers, ","), "Kafka bootstrap brokers, comma separated (JFT_KAFKA_BROKERS)")
	return fs, brokers
}

// client makes a Kafka client for brokers with extra options.
func (c *cli) client(brokers string, opts ...kgo.Opt) (*kgo.Client, error) {
	secure, err := c.env.Kafka.Opts()
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	opts = append(append([]kgo.Opt{kgo.SeedBrokers(strings.Split(brokers, ",")...)}, secure...), opts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka client for %s: %w", brokers, err)
	}
	return cl, nil
}

// multi is a repeatable string flag.
type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

// contextUntil is context.WithDeadline.
func contextUntil(ctx context.Context, t time.Time) (context.Context, context.CancelFunc) {
	return context.WithDeadline(ctx, t)
}
