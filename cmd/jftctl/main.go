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
	"slices"
	"strings"
	"syscall"

	"github.com/sethvargo/go-envconfig"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/jft-gateway/jft-gateway/consumer"
	"github.com/jft-gateway/jft-gateway/internal/gateway"
	"github.com/jft-gateway/jft-gateway/internal/jft"
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

// command is one jftctl command: its words, its arguments and a one-line summary for help.
type command struct {
	name, args, summary string
	run                 func(*cli, []string) error
}

// commands is a function, not a variable: the commands' flag sets look their help up here,
// which a package-level variable referring to them could not allow.
func commands() []command {
	return []command{
		{"topics create", "[flags]", "create the gateway's topics (events, acks, results, DLQ); existing ones are left alone", (*cli).topicsCreate},
		{"produce", "[flags] (-generate N | -tenant ORGNR FILE|DIR ...)", "produce events from files or directories of .json files, or N synthetic ones", (*cli).produce},
		{"results tail", "[flags]", "print results, one line each, filtered by tenant, outcome or code", (*cli).resultsTail},
		{"dlq replay", "[flags]", "copy dead-lettered inputs back to the topic they came from (-dry-run first)", (*cli).dlqReplay},
		{"lag", "[flags]", "the gateway group's lag per partition and per municipality", (*cli).lag},
		{"validate", "[flags] FILE|DIR ...", "run the gateway's validation on files offline; exit 1 when one would be rejected", (*cli).validate},
	}
}

// lookup finds the command args start with and returns the arguments after its words.
func lookup(args []string) (command, []string, bool) {
	for _, c := range commands() {
		words := strings.Fields(c.name)
		if len(args) >= len(words) && strings.Join(args[:len(words)], " ") == c.name {
			return c, args[len(words):], true
		}
	}
	return command{}, nil, false
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: jftctl <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-14s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `  help [command] this text, or a command's flags

Brokers, topics and group come from the gateway's variables (JFT_KAFKA_BROKERS,
JFT_TOPIC_EVENTS, JFT_TOPIC_ACKS, JFT_TOPIC_RESULTS, JFT_TOPIC_DLQ, JFT_KAFKA_GROUP) and
TLS/SASL from JFT_KAFKA_TLS_* and JFT_KAFKA_SASL_*; -brokers overrides the brokers.
"jftctl <command> -h" lists a command's flags.
`)
}

// env is what jftctl shares with the gateway's configuration.
type env struct {
	Pipeline pipeline.Config
	Producer producer.Config
	Consumer consumer.Config
	Kafka    kafkasec.Config
}

// cli is one invocation: its context, configuration and output.
type cli struct {
	ctx            context.Context
	env            env
	getenv         func(string) string
	stdout, stderr io.Writer
}

// run is jftctl with its process's context, arguments, environment and output, so tests
// run it in process. A command's -h, and help, are not errors.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	help := len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help"
	if help && len(args) < 2 {
		usage(stdout)
		return nil
	}
	if help { // help <command>: its flags, on stdout
		args = append(slices.Clone(args[1:]), "-h")
		stderr = stdout
	}
	cmd, rest, ok := lookup(args)
	if !ok {
		usage(stderr)
		return fmt.Errorf("unknown command %q", strings.Join(args, " "))
	}
	c := &cli{ctx: ctx, getenv: getenv, stdout: stdout, stderr: stderr}
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: &c.env, Lookuper: gateway.Lookuper(getenv)}); err != nil {
		return fmt.Errorf("configuration: %s: %w", variableOf(c.env, err), err)
	}
	err := cmd.run(c, rest)
	if errors.Is(err, flag.ErrHelp) { // -h: the flag set has printed the usage
		return nil
	}
	return err
}

// variableOf names the variable behind a go-envconfig error, which names only the Go field
// path ("Consumer: FetchMaxWait: time: invalid duration").
func variableOf(cfg any, err error) string {
	for _, v := range gateway.Variables(cfg) {
		if strings.HasPrefix(err.Error(), strings.ReplaceAll(v.Section, ".", ": ")+":") {
			return v.Name
		}
	}
	return "a JFT_* variable"
}

// flags returns the flag set of the command name, whose usage names its arguments and
// summary before the flags.
func (c *cli) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("jftctl "+name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() {
		cmd, _, _ := lookup(strings.Fields(name))
		fmt.Fprintf(fs.Output(), "usage: jftctl %s %s\n\n%s\n\nflags:\n", name, cmd.args, cmd.summary)
		fs.PrintDefaults()
	}
	return fs
}

// brokersFlag adds the shared -brokers flag, defaulting to the gateway's JFT_KAFKA_BROKERS.
func (c *cli) brokersFlag(fs *flag.FlagSet) *string {
	return fs.String("brokers", strings.Join(c.env.Consumer.Brokers, ","), "Kafka bootstrap brokers, comma separated (JFT_KAFKA_BROKERS)")
}

// client makes a Kafka client for brokers with the gateway's TLS/SASL settings and opts.
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

// orgnrOrOther is a record's municipality for printing: its jft-tenant header, else its key,
// and only when that looks like an organisation number (nine digits). Anything else is
// "(other)": a key might be a patient's identifier, which jftctl never prints.
func orgnrOrOther(key []byte, headers []kgo.RecordHeader) string {
	t := key
	for _, h := range headers {
		if h.Key == jft.HeaderTenant {
			t = h.Value
		}
	}
	return orgnrLabel(string(t))
}

// orgnrLabel is s when it is nine digits, else "(other)".
func orgnrLabel(s string) string {
	if len(s) != 9 {
		return "(other)"
	}
	for _, b := range []byte(s) {
		if b < '0' || b > '9' {
			return "(other)"
		}
	}
	return s
}
