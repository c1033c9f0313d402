// Package proof holds the crash and fault suite: the real gateway binary in separate
// processes (killed, stopped, scaled), a broker (kfake in process, or real Apache Kafka with
// JFT_TEST_KAFKA_SEEDS), the simulator with faults, and counts taken from both ends:
// every input's results on the results topic (read_committed) and every call the simulator
// accepted. JFT_PROOF_EVENTS scales the stream (default small for `go test ./...`);
// JFT_PROOF_REPORT appends each scenario's figures as a JSON line to that file.
package proof

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/jft-gateway/jft-gateway/internal/devenv"
	"github.com/jft-gateway/jft-gateway/internal/jft"
	"github.com/jft-gateway/jft-gateway/internal/samples"
	"github.com/jft-gateway/jft-gateway/internal/tenants"
)

var gatewayBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "jft-proof-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	gatewayBin = filepath.Join(dir, "jft-gateway")
	build := exec.Command("go", "build", "-o", gatewayBin, "github.com/jft-gateway/jft-gateway/cmd/jft-gateway")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build jft-gateway:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// events is the stream length: JFT_PROOF_EVENTS, else def.
func events(def int) int {
	if n, err := strconv.Atoi(os.Getenv("JFT_PROOF_EVENTS")); err == nil && n > 0 {
		return n
	}
	return def
}

// world is one scenario's broker, simulator, topics and group.
type world struct {
	t       *testing.T
	env     *devenv.Env
	topics  map[string]string // JFT_TOPIC_* → name
	group   string
	brokers []string
	gen     *samples.Generator
	tenants []string
	dlq     map[string]bool // event ids in the DLQ, read once
}

func newWorld(t *testing.T, sim map[string]string) *world {
	t.Helper()
	suffix := fmt.Sprintf("%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), time.Now().UnixNano()%1e6)
	w := &world{t: t, group: "proof-" + suffix, topics: map[string]string{
		"JFT_TOPIC_EVENTS": "proof.events." + suffix, "JFT_TOPIC_ACKS": "proof.acks." + suffix,
		"JFT_TOPIC_RESULTS": "proof.results." + suffix, "JFT_TOPIC_DLQ": "proof.dlq." + suffix,
	}}
	simEnv := map[string]string{"JFT_SIM_AUTH": "off", "JFT_SIM_ENVIRONMENT": "test"}
	for k, v := range sim {
		simEnv[k] = v
	}
	var ext []string
	if s := os.Getenv("JFT_TEST_KAFKA_SEEDS"); s != "" {
		ext = strings.Split(s, ",")
	}
	var topics []string
	for _, v := range w.topics {
		topics = append(topics, v)
	}
	// KIP-848 keeps a crashed static member's partitions until the session timeout. It is
	// ten minutes here, so a restarted instance that waited for it would miss waitReady's
	// deadline: the consumer must release its predecessor's instance id itself.
	kopts := []kfake.Opt{kfake.BrokerConfigs(map[string]string{"group.consumer.session.timeout.ms": "600000"})}
	env, err := devenv.Start(context.Background(), devenv.Options{Partitions: 6, Topics: topics, Sim: simEnv, ExternalBrokers: ext, KafkaOpts: kopts})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	w.env, w.brokers = env, env.Brokers
	w.tenants = tenants.SyntheticOrgnrs(50)
	w.gen, err = samples.NewGenerator(uint64(time.Now().UnixNano()), w.tenants, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// gateway is one jft-gateway process.
type gateway struct {
	w        *world
	name     string
	cmd      *exec.Cmd
	admin    string
	started  time.Time
	exited   chan error
	stderr   *tail
	extraEnv map[string]string
}

// start runs a gateway process with instance id name.
func (w *world) start(name string, extra map[string]string) *gateway {
	w.t.Helper()
	g := &gateway{w: w, name: name, admin: freeAddr(w.t), exited: make(chan error, 1), stderr: &tail{}, extraEnv: extra}
	vars := map[string]string{
		"JFT_ENVIRONMENT": "test", "JFT_KAFKA_BROKERS": strings.Join(w.brokers, ","), "JFT_KAFKA_GROUP": w.group,
		"JFT_KAFKA_INSTANCE_ID": name, "JFT_WRITEAPI_BASE_URL": w.env.Sim.URL, "JFT_AUTH_MODE": "none",
		"JFT_ADMIN_ADDR": g.admin, "JFT_LOG_LEVEL": "warn", "JFT_LOG_FORMAT": "json",
		"JFT_WRITEAPI_RETRY_BUDGET": "10m",
	}
	for k, v := range w.topics {
		vars[k] = v
	}
	for k, v := range extra {
		vars[k] = v
	}
	g.cmd = exec.Command(gatewayBin, "serve")
	g.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range vars {
		g.cmd.Env = append(g.cmd.Env, k+"="+v)
	}
	g.cmd.Stderr = g.stderr
	g.started = time.Now()
	if err := g.cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	go func() { g.exited <- g.cmd.Wait() }()
	w.t.Cleanup(func() {
		if g.cmd.ProcessState == nil {
			_ = g.cmd.Process.Kill()
			<-g.exited
		}
	})
	return g
}

// waitReady waits for /readyz and returns how long after start it came.
func (g *gateway) waitReady(d time.Duration) time.Duration {
	g.w.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + g.admin + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(g.started)
			}
		}
		select {
		case err := <-g.exited:
			g.w.t.Fatalf("%s exited: %v\n%s", g.name, err, g.stderr)
		case <-time.After(50 * time.Millisecond):
		}
	}
	g.w.t.Fatalf("%s not ready within %s\n%s", g.name, d, g.stderr)
	return 0
}

// kill sends SIGKILL and waits for the process to end.
func (g *gateway) kill() {
	_ = g.cmd.Process.Signal(syscall.SIGKILL)
	<-g.exited
}

// stop sends SIGTERM and waits for a graceful exit.
func (g *gateway) stop() {
	g.w.t.Helper()
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-g.exited:
		if err != nil {
			g.w.t.Errorf("%s: %v\n%s", g.name, err, g.stderr)
		}
	case <-time.After(90 * time.Second):
		g.w.t.Fatalf("%s did not stop within 90s", g.name)
	}
}

// feed produces n events at rate per second (0: at once), interleaving poison records every
// poisonEvery inputs (0: none); it returns when all are acknowledged by the broker.
type input struct {
	id       string
	wantCode string // "" = accepted
	sha256   string // of the value, as the simulator records accepted bodies
}

func (w *world) feed(ctx context.Context, n, rate, poisonEvery int, progress func(i int)) []input {
	w.t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(w.brokers...), kgo.ProducerBatchMaxBytes(devenv.MaxMessageBytes),
		kgo.MaxBufferedRecords(10_000))
	if err != nil {
		w.t.Fatal(err)
	}
	defer cl.Close()
	var bad []samples.Bad
	if poisonEvery > 0 {
		bad = w.gen.BadEvents(w.tenants[0], devenv.MaxMessageBytes-10_000)
	}
	inputs := make([]input, 0, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var perr error
	start := time.Now()
	for i := 0; i < n; i++ {
		if rate > 0 {
			if wait := time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(rate))); wait > 0 {
				time.Sleep(wait)
			}
		}
		id := fmt.Sprintf("ev-%06d", i)
		var rec *kgo.Record
		in := input{id: id}
		if poisonEvery > 0 && i%poisonEvery == poisonEvery-1 {
			b := bad[(i/poisonEvery)%len(bad)]
			rec = &kgo.Record{Key: []byte(b.Key), Value: b.Value}
			in.wantCode = b.WantCode
		} else {
			ev := w.gen.Next(i)
			rec = &kgo.Record{Key: []byte(ev.Tenant), Value: ev.Value}
		}
		rec.Topic = w.topics["JFT_TOPIC_EVENTS"]
		rec.Headers = []kgo.RecordHeader{{Key: jft.HeaderEventID, Value: []byte(id)}}
		rec.Timestamp = time.Now()
		sum := sha256.Sum256(rec.Value)
		in.sha256 = hex.EncodeToString(sum[:])
		inputs = append(inputs, in)
		wg.Add(1)
		cl.Produce(ctx, rec, func(_ *kgo.Record, err error) {
			defer wg.Done()
			if err != nil {
				mu.Lock()
				perr = err
				mu.Unlock()
			}
		})
		if progress != nil {
			progress(i)
		}
	}
	wg.Wait()
	if perr != nil {
		w.t.Fatalf("produce: %v", perr)
	}
	return inputs
}

// results reads the results topic (read_committed) until every input has a result or d
// passes, then reads on for settle to catch late duplicates.
type tally struct {
	results   map[string][]jft.Result
	firstAt   map[string]time.Time
	appended  []time.Time // result record timestamps, in arrival order
	latencies []time.Duration
}

func (w *world) collect(ctx context.Context, inputs func() int, d, settle time.Duration) *tally {
	w.t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(w.brokers...), kgo.ConsumeTopics(w.topics["JFT_TOPIC_RESULTS"]),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		w.t.Fatal(err)
	}
	defer cl.Close()
	t := &tally{results: map[string][]jft.Result{}, firstAt: map[string]time.Time{}}
	deadline := time.Now().Add(d)
	var settleUntil time.Time
	for {
		now := time.Now()
		if settleUntil.IsZero() && inputs() > 0 && len(t.results) >= inputs() {
			settleUntil = now.Add(settle)
		}
		if now.After(deadline) || !settleUntil.IsZero() && now.After(settleUntil) {
			return t
		}
		pctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		fs := cl.PollFetches(pctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) {
			var res jft.Result
			if err := json.Unmarshal(r.Value, &res); err != nil {
				w.t.Errorf("result is not JSON: %v", err)
				return
			}
			t.results[res.EventID] = append(t.results[res.EventID], res)
			if _, ok := t.firstAt[res.EventID]; !ok {
				t.firstAt[res.EventID] = r.Timestamp
			}
			t.appended = append(t.appended, r.Timestamp)
			if !res.ReceivedAt.IsZero() {
				t.latencies = append(t.latencies, res.CompletedAt.Sub(res.ReceivedAt))
			}
		})
	}
}

// figures are one scenario's counts, from both ends.
type figures struct {
	Scenario           string        `json:"scenario"`
	Broker             string        `json:"broker"`
	Protocol           string        `json:"protocol,omitempty"`
	Inputs             int           `json:"inputs"`
	Lost               int           `json:"lost"`
	WrongOutcome       int           `json:"wrongOutcome"`
	Failed             int           `json:"failedAfterRetries"`
	FailedNotInDLQ     int           `json:"failedNotInDLQ"`
	DuplicateResults   int           `json:"duplicateResults"`
	AcceptedCalls      int           `json:"acceptedCalls"`
	DuplicateCalls     int           `json:"duplicateCalls"`
	DuplicatesByRetry  int           `json:"duplicatesByRetry"`
	CallsWithoutResult int           `json:"callsWithoutResult"`
	Kills              int           `json:"kills,omitempty"`
	Recovery           []string      `json:"recovery,omitempty"`
	MaxGap             string        `json:"maxResultGap"`
	Elapsed            string        `json:"elapsed"`
	Notes              string        `json:"notes,omitempty"`
	maxGap             time.Duration `json:"-"`
}

// count compares inputs, results and the simulator's accepted calls.
func (w *world) count(scenario string, inputs []input, t *tally, elapsed time.Duration) figures {
	f := figures{Scenario: scenario, Broker: "kfake", Inputs: len(inputs), Elapsed: elapsed.Round(time.Millisecond).String()}
	if os.Getenv("JFT_TEST_KAFKA_SEEDS") != "" {
		f.Broker = "Apache Kafka"
	}
	for _, in := range inputs {
		rs := t.results[in.id]
		if len(rs) == 0 {
			f.Lost++
			continue
		}
		f.DuplicateResults += len(rs) - 1
		got := ""
		if rs[0].Error != nil {
			got = string(rs[0].Error.Code)
		}
		if rs[0].Outcome == jft.OutcomeFailed && in.wantCode == "" {
			// Retries ran out on a transient error while the WriteAPI answered others: a
			// clear failure with a DLQ copy, not a loss.
			f.Failed++
			if f.Failed <= 5 {
				w.t.Logf("%s failed after %d attempts: %s (HTTP %d), %s after it was received, at %s", in.id, rs[0].Attempts, got, rs[0].HTTPStatus, rs[0].CompletedAt.Sub(rs[0].ReceivedAt), rs[0].CompletedAt.Format("15:04:05.000"))
			}
			if !w.inDLQ(in.id) {
				f.FailedNotInDLQ++
			}
			continue
		}
		if got != in.wantCode {
			f.WrongOutcome++
			if f.WrongOutcome <= 3 {
				w.t.Logf("%s: outcome %s %s, want %q", in.id, rs[0].Outcome, got, in.wantCode)
			}
		}
	}
	bodies := map[string]int{}
	for _, e := range w.env.Sim.Accepted() {
		bodies[e.BodySHA256]++
	}
	// The generator may make the same event twice (a synthetic identity number drawn
	// again); such inputs are distinct records with equal bodies, each owed one call.
	bySum := map[string][]input{}
	for _, in := range inputs {
		if in.wantCode == "" {
			bySum[in.sha256] = append(bySum[in.sha256], in)
		}
	}
	for sum, n := range bodies {
		f.AcceptedCalls += n
		extra := n - len(bySum[sum])
		if extra <= 0 {
			continue
		}
		f.DuplicateCalls += extra
		// A call repeated by the HTTP client (its answer came too late or was lost) shows as
		// more than one attempt in a single result; a restart shows as a second result.
		for _, in := range bySum[sum] {
			if rs := t.results[in.id]; len(rs) == 1 && rs[0].Attempts > 1 {
				f.DuplicatesByRetry += min(extra, rs[0].Attempts-1)
			}
		}
	}
	accepted := 0
	for _, in := range inputs {
		if rs := t.results[in.id]; len(rs) > 0 && rs[0].Outcome == jft.OutcomeAccepted {
			accepted++
		}
	}
	owed := 0
	for sum := range bodies {
		owed += len(bySum[sum])
	}
	f.CallsWithoutResult = max(0, owed-accepted)
	for i := 1; i < len(t.appended); i++ {
		if gap := t.appended[i].Sub(t.appended[i-1]); gap > f.maxGap {
			f.maxGap = gap
		}
	}
	f.MaxGap = f.maxGap.Round(time.Millisecond).String()
	return f
}

// inDLQ reports whether the dead-letter topic holds the input with this event id.
func (w *world) inDLQ(id string) bool {
	if w.dlq == nil {
		w.dlq = map[string]bool{}
		cl, err := kgo.NewClient(kgo.SeedBrokers(w.brokers...), kgo.ConsumeTopics(w.topics["JFT_TOPIC_DLQ"]),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		if err != nil {
			w.t.Fatal(err)
		}
		defer cl.Close()
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			fs := cl.PollFetches(ctx)
			cancel()
			if fs.NumRecords() == 0 {
				break
			}
			fs.EachRecord(func(r *kgo.Record) {
				for _, h := range r.Headers {
					if h.Key == jft.HeaderEventID {
						w.dlq[string(h.Value)] = true
					}
				}
			})
		}
	}
	return w.dlq[id]
}

// report logs the figures and appends them to JFT_PROOF_REPORT.
func report(t *testing.T, f figures) {
	b, _ := json.Marshal(f)
	t.Logf("figures: %s", b)
	if p := os.Getenv("JFT_PROOF_REPORT"); p != "" {
		file, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer file.Close()
		fmt.Fprintf(file, "%s\n", b)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// tail keeps the last lines a process wrote, for failure messages.
type tail struct {
	mu    sync.Mutex
	lines []string
	part  string
}

func (b *tail) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := bufio.NewScanner(strings.NewReader(b.part + string(p)))
	b.part = ""
	for s.Scan() {
		b.lines = append(b.lines, s.Text())
	}
	if len(b.lines) > 40 {
		b.lines = b.lines[len(b.lines)-40:]
	}
	return len(p), nil
}

func (b *tail) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(b.lines, "\n")
}
