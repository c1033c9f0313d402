// Command jft-bench measures the real gateway binary as a separate process: a broker (kfake
// in this process, or real Kafka with -brokers) and the simulator at a fixed WriteAPI
// latency, realistic events (Bundles, Compositions, MedicationDispenses) for many
// municipalities, full validation on. It reports, for the gateway process alone:
//
//   - drain throughput: a backlog of -records events consumed from a standing start;
//
//   - end-to-end latency (input produced → result readable by a read_committed consumer)
//     p50/p95/p99 at -load × that rate;
//
//   - CPU seconds per 1,000 records (from /proc, user + system), peak and sampled RSS;
//
//   - the WriteAPI concurrency the simulator saw.
//
//     go run ./cmd/jft-bench -records 100000 -latency 20ms
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sethvargo/go-envconfig"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/jft-gateway/jft-gateway/consumer"
	"github.com/jft-gateway/jft-gateway/internal/devenv"
	"github.com/jft-gateway/jft-gateway/internal/jft"
	"github.com/jft-gateway/jft-gateway/internal/samples"
	"github.com/jft-gateway/jft-gateway/internal/tenants"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "jft-bench:", err)
		os.Exit(1)
	}
}

type options struct {
	records    int
	latency    time.Duration
	linger     time.Duration
	tenants    int
	partitions int
	ordering   string
	load       float64
	loadSecs   time.Duration
	gateway    string
	brokers    string
	extraEnv   multi
	jsonOut    string
	latOut     string
}

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

// Report is one run's figures.
type Report struct {
	Records             int       `json:"records"`
	LatencyMS           float64   `json:"writeapiLatencyMs"`
	Ordering            string    `json:"ordering"`
	Tenants             int       `json:"tenants"`
	Partitions          int       `json:"partitions"`
	DrainPerSec         float64   `json:"drainRecordsPerSec"`
	SustainedPerSec     float64   `json:"sustainedRecordsPerSec"` // between the 10th and 90th percentile result
	InFlightBound       float64   `json:"inFlightBoundPerSec"`
	CPUMicrosPer        float64   `json:"gatewayCpuMicrosPerRecord"`
	PeakRSSMB           float64   `json:"gatewayPeakRssMB"`
	RSSSamplesMB        []float64 `json:"gatewayRssSamplesMB"`
	MaxConcurrent       int       `json:"writeapiMaxConcurrent"`
	LoadPerSec          float64   `json:"loadRecordsPerSec"`
	LoadResults         int       `json:"loadResults"`
	P50MS, P95MS, P99MS float64
	// The latency phase split at the result record's timestamp (set by the gateway's client
	// when it produces the result): input produced → result produced (the bench producer's
	// linger, the input's fetch, validation, the WriteAPI call), then result produced →
	// readable here (the result's produce, commit and fetch).
	ToResultP50MS float64 `json:"toResultP50MS"`
	ToResultP99MS float64 `json:"toResultP99MS"`
	DeliveryP50MS float64 `json:"deliveryP50MS"`
	DeliveryP99MS float64 `json:"deliveryP99MS"`
	Errors        int     `json:"nonAcceptedResults"`
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := flag.NewFlagSet("jft-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.records, "records", 20000, "backlog of events for the drain phase")
	fs.DurationVar(&o.latency, "latency", 20*time.Millisecond, "WriteAPI latency the simulator adds")
	fs.IntVar(&o.tenants, "tenants", 50, "municipalities (record keys)")
	fs.IntVar(&o.partitions, "partitions", 12, "partitions of the events topic")
	fs.StringVar(&o.ordering, "ordering", "key", "the gateway's JFT_ORDERING")
	fs.Float64Var(&o.load, "load", 0.5, "the latency phase runs at this fraction of the drain rate (0: skip)")
	fs.DurationVar(&o.loadSecs, "load-duration", 10*time.Second, "how long the latency phase produces")
	fs.StringVar(&o.gateway, "gateway", "", "the jft-gateway binary (default: go build it)")
	fs.StringVar(&o.brokers, "brokers", "", "real Kafka brokers (default: kfake in this process)")
	fs.Var(&o.extraEnv, "env", "extra KEY=VALUE for the gateway, repeatable")
	fs.DurationVar(&o.linger, "linger", 10*time.Millisecond, "the bench producer's linger (franz-go's default is 10ms; it is part of the measured latency)")
	fs.StringVar(&o.jsonOut, "json", "", "also append the report as a JSON line to this file")
	fs.StringVar(&o.latOut, "latencies", "", "also write the latency phase's records to this file: produced (Unix µs), end to end and to the result's timestamp (µs)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "jft-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if o.gateway == "" {
		o.gateway = filepath.Join(dir, "jft-gateway")
		b := exec.CommandContext(ctx, "go", "build", "-o", o.gateway, "github.com/jft-gateway/jft-gateway/cmd/jft-gateway")
		b.Stdout, b.Stderr = stderr, stderr
		if err := b.Run(); err != nil {
			return fmt.Errorf("build the gateway: %w", err)
		}
	}
	suffix := strconv.FormatInt(time.Now().UnixNano(), 36)
	topics := map[string]string{"JFT_TOPIC_EVENTS": "bench.events." + suffix, "JFT_TOPIC_ACKS": "bench.acks." + suffix,
		"JFT_TOPIC_RESULTS": "bench.results." + suffix, "JFT_TOPIC_DLQ": "bench.dlq." + suffix}
	var topicList []string
	for _, t := range topics {
		topicList = append(topicList, t)
	}
	var ext []string
	if o.brokers != "" {
		ext = strings.Split(o.brokers, ",")
	}
	env, err := devenv.Start(ctx, devenv.Options{Partitions: o.partitions, Topics: topicList, ExternalBrokers: ext,
		Sim: map[string]string{"JFT_SIM_AUTH": "off", "JFT_SIM_LATENCY": o.latency.String(), "JFT_SIM_READ_BODY_BYTES": "0"}})
	if err != nil {
		return err
	}
	defer env.Close()

	ts := tenants.SyntheticOrgnrs(o.tenants)
	gen, err := samples.NewGenerator(7, ts, time.Now())
	if err != nil {
		return err
	}
	pcl, err := kgo.NewClient(kgo.SeedBrokers(env.Brokers...), kgo.ProducerBatchMaxBytes(devenv.MaxMessageBytes), kgo.MaxBufferedRecords(20000),
		kgo.ProducerLinger(o.linger))
	if err != nil {
		return err
	}
	defer pcl.Close()
	res := newResults()
	rcl, err := kgo.NewClient(kgo.SeedBrokers(env.Brokers...), kgo.ConsumeTopics(topics["JFT_TOPIC_RESULTS"]),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		return err
	}
	defer rcl.Close()
	rctx, stopResults := context.WithCancel(ctx)
	defer stopResults()
	go res.consume(rctx, rcl)

	// Phase 1: a backlog, then the gateway from a standing start.
	fmt.Fprintf(stderr, "producing a backlog of %d events…\n", o.records)
	if err := produce(ctx, pcl, gen, topics["JFT_TOPIC_EVENTS"], 0, o.records, 0, nil); err != nil {
		return err
	}
	vars := map[string]string{
		"JFT_ENVIRONMENT": "test", "JFT_KAFKA_BROKERS": strings.Join(env.Brokers, ","), "JFT_KAFKA_GROUP": "bench-" + suffix,
		"JFT_KAFKA_INSTANCE_ID": "bench-0", "JFT_WRITEAPI_BASE_URL": env.Sim.URL, "JFT_AUTH_MODE": "none",
		"JFT_ADMIN_ADDR": "off", "JFT_LOG_LEVEL": "warn", "JFT_ORDERING": o.ordering,
	}
	for k, v := range topics {
		vars[k] = v
	}
	for _, kv := range o.extraEnv {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	gw := exec.Command(o.gateway, "serve")
	gw.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range vars {
		gw.Env = append(gw.Env, k+"="+v)
	}
	gw.Stderr = stderr
	if err := gw.Start(); err != nil {
		return err
	}
	// A gateway that exits before the bench is done (a configuration error, a crash) ends
	// the run at once with the reason, instead of leaving the bench waiting for results.
	gwExited := make(chan struct{})
	ctx, gwGone := context.WithCancelCause(ctx)
	go func() {
		err := gw.Wait()
		gwGone(fmt.Errorf("the gateway exited early (%v); its log is above", err))
		close(gwExited)
	}()
	defer func() { _ = gw.Process.Signal(syscall.SIGTERM); <-gwExited }()
	pid := gw.Process.Pid
	cpu0, _ := cpuSeconds(pid)
	var rss []float64
	var rssMu sync.Mutex
	sctx, stopSampling := context.WithCancel(ctx)
	defer stopSampling()
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-sctx.Done():
				return
			case <-t.C:
				if v, err := procStatus(pid, "VmRSS"); err == nil {
					rssMu.Lock()
					rss = append(rss, v)
					rssMu.Unlock()
				}
			}
		}
	}()
	first, last, err := res.waitFor(ctx, o.records, 30*time.Minute)
	if err != nil {
		stopSampling()
		return err
	}
	cpu1, _ := cpuSeconds(pid)
	drained := res.count()
	rep := Report{Records: o.records, LatencyMS: float64(o.latency) / 1e6, Ordering: o.ordering, Tenants: o.tenants, Partitions: o.partitions}
	rep.DrainPerSec = float64(o.records) / last.Sub(first).Seconds()
	rep.SustainedPerSec = res.sustained(o.records)
	// The bound is the gateway's instance-wide in-flight limit, as configured for this run
	// (-env JFT_MAX_IN_FLIGHT=…), else its default.
	inflight, err := inFlightLimit(vars["JFT_MAX_IN_FLIGHT"])
	if err != nil {
		return err
	}
	if o.ordering == "key" {
		inflight = min(inflight, float64(o.tenants))
	}
	if o.latency > 0 {
		rep.InFlightBound = inflight / o.latency.Seconds()
	}
	rep.CPUMicrosPer = (cpu1 - cpu0) / float64(drained) * 1e6

	// Phase 2: latency at a fraction of the drain rate.
	if o.load > 0 {
		rate := rep.DrainPerSec * o.load
		n := int(rate * o.loadSecs.Seconds())
		fmt.Fprintf(stderr, "latency phase: %d events at %.0f/s…\n", n, rate)
		sent := res.markLoad(o.records, n)
		if err := produce(ctx, pcl, gen, topics["JFT_TOPIC_EVENTS"], o.records, n, rate, sent); err != nil {
			return err
		}
		if _, _, err := res.waitFor(ctx, o.records+n, 10*time.Minute); err != nil {
			return err
		}
		lat, toResult, delivery := res.loadLatencies()
		rep.LoadPerSec, rep.LoadResults = rate, len(lat)
		rep.P50MS, rep.P95MS, rep.P99MS = pct(lat, 50), pct(lat, 95), pct(lat, 99)
		rep.ToResultP50MS, rep.ToResultP99MS = pct(toResult, 50), pct(toResult, 99)
		rep.DeliveryP50MS, rep.DeliveryP99MS = pct(delivery, 50), pct(delivery, 99)
		if o.latOut != "" {
			if err := res.writeLatencies(o.latOut); err != nil {
				return err
			}
		}
	}
	stopSampling()
	rep.PeakRSSMB, _ = procStatus(pid, "VmHWM")
	rssMu.Lock()
	rep.RSSSamplesMB = thin(rss, 8)
	rssMu.Unlock()
	rep.MaxConcurrent = env.Sim.Stats().MaxConcurrent
	rep.Errors = res.notAccepted()

	fmt.Fprintf(stdout, "| %d | %s | %s | %d | %.0f | %.0f | %.0f | %.0f / %.0f / %.0f ms | %.0f µs | %.0f MB | %d |\n",
		rep.Records, o.latency, o.ordering, o.tenants, rep.DrainPerSec, rep.InFlightBound, rep.LoadPerSec,
		rep.P50MS, rep.P95MS, rep.P99MS, rep.CPUMicrosPer, rep.PeakRSSMB, rep.MaxConcurrent)
	if o.load > 0 {
		fmt.Fprintf(stdout, "latency split at the result's timestamp: input produced → result produced %.0f / %.0f ms (p50 / p99), result produced → readable %.0f / %.0f ms\n",
			rep.ToResultP50MS, rep.ToResultP99MS, rep.DeliveryP50MS, rep.DeliveryP99MS)
	}
	fmt.Fprintf(stdout, "sustained (10th to 90th percentile result of the drain): %.0f records/s", rep.SustainedPerSec)
	if rep.InFlightBound > 0 { // none at 0 ms
		fmt.Fprintf(stdout, ", %.0f %% of the in-flight bound", 100*rep.SustainedPerSec/rep.InFlightBound)
	}
	fmt.Fprintln(stdout)
	if rep.Errors > 0 {
		fmt.Fprintf(stdout, "warning: %d results were not accepted\n", rep.Errors)
	}
	b, _ := json.Marshal(rep)
	fmt.Fprintf(stderr, "%s\n", b)
	if o.jsonOut != "" {
		f, err := os.OpenFile(o.jsonOut, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		fmt.Fprintf(f, "%s\n", b)
	}
	return nil
}

// inFlightLimit is JFT_MAX_IN_FLIGHT's value, or the consumer's default when unset.
func inFlightLimit(v string) (float64, error) {
	if v == "" {
		var c consumer.Config
		if err := envconfig.ProcessWith(context.Background(), &envconfig.Config{Target: &c, Lookuper: envconfig.MapLookuper(nil)}); err != nil {
			return 0, err
		}
		return float64(c.MaxInFlight), nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("JFT_MAX_IN_FLIGHT: %q is not a number", v)
	}
	return float64(n), nil
}

// produce writes n events numbered from start, at rate per second (0: as fast as the
// broker takes them); each record's timestamp is when it was handed to the client, also
// kept in sent[i] (Unix ns) when sent is given.
func produce(ctx context.Context, cl *kgo.Client, gen *samples.Generator, topic string, start, n int, rate float64, sent []atomic.Int64) error {
	var failed atomic.Pointer[error]
	began := time.Now()
	for i := 0; i < n; i++ {
		if rate > 0 {
			if d := time.Until(began.Add(time.Duration(float64(i) / rate * float64(time.Second)))); d > 0 {
				time.Sleep(d)
			}
		}
		ev := gen.Next(start + i)
		id := "b-" + strconv.Itoa(start+i)
		now := time.Now()
		if sent != nil {
			sent[i].Store(now.UnixNano())
		}
		r := &kgo.Record{Topic: topic, Key: []byte(ev.Tenant), Value: ev.Value, Timestamp: now,
			Headers: []kgo.RecordHeader{{Key: jft.HeaderEventID, Value: []byte(id)}}}
		cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
			if err != nil {
				failed.Store(&err)
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		return err
	}
	if e := failed.Load(); e != nil {
		return *e
	}
	return nil
}

// results follows the results topic. Its bookkeeping is indexed by event number and holds
// no pointers, so that this process's garbage collector, which shares the machine's cores
// with the gateway, has little to mark.
type results struct {
	mu        sync.Mutex
	seen      []bool  // by event number
	distinct  int     // true entries in seen
	times     []int64 // result record timestamps (Unix ns), in arrival order
	loadFrom  int
	sent      []atomic.Int64 // when the latency phase produced event loadFrom+i (Unix ns)
	latencies []time.Duration
	toResult  []time.Duration // input produced → result record's timestamp
	delivery  []time.Duration // result record's timestamp → readable here
	produced  []int64         // per latency: when its input was produced (Unix ns)
	bad       int
	wake      chan struct{}
}

func newResults() *results { return &results{wake: make(chan struct{}, 1)} }

func (r *results) consume(ctx context.Context, cl *kgo.Client) {
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return
		}
		// Latency ends when the result is readable here (read_committed): with transactional
		// results that is when the transaction commits, later than the record's timestamp.
		now := time.Now()
		r.mu.Lock()
		fs.EachRecord(func(rec *kgo.Record) {
			var res jft.Result
			if json.Unmarshal(rec.Value, &res) != nil {
				return
			}
			n, err := strconv.Atoi(strings.TrimPrefix(res.EventID, "b-"))
			if err != nil || n < 0 { // not one of ours: counted, and reported as not accepted
				r.distinct++
				r.times = append(r.times, rec.Timestamp.UnixNano())
				r.bad++
				return
			}
			if n >= len(r.seen) {
				r.seen = slices.Grow(r.seen, n+1-len(r.seen))[:n+1]
			}
			if r.seen[n] {
				return
			}
			r.seen[n] = true
			r.distinct++
			r.times = append(r.times, rec.Timestamp.UnixNano())
			if res.Outcome != jft.OutcomeAccepted {
				r.bad++
			}
			if i := n - r.loadFrom; r.sent != nil && i >= 0 && i < len(r.sent) {
				if at := r.sent[i].Load(); at != 0 {
					sent := time.Unix(0, at)
					r.latencies = append(r.latencies, now.Sub(sent))
					r.toResult = append(r.toResult, rec.Timestamp.Sub(sent))
					r.delivery = append(r.delivery, now.Sub(rec.Timestamp))
					r.produced = append(r.produced, at)
				}
			}
		})
		r.mu.Unlock()
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
}

// sustained is the result rate between the 10th and 90th percentile of the first n
// results' timestamps: the drain without its start (joining, first fetches) and its tail
// (the last partitions finishing alone, each capped by its own window).
func (r *results) sustained(n int) float64 {
	r.mu.Lock()
	ts := slices.Clone(r.times[:min(n, len(r.times))])
	r.mu.Unlock()
	slices.Sort(ts)
	lo, hi := len(ts)/10, len(ts)*9/10
	if hi <= lo || ts[hi] <= ts[lo] {
		return 0
	}
	return float64(hi-lo) / time.Duration(ts[hi]-ts[lo]).Seconds()
}

func (r *results) count() int { r.mu.Lock(); defer r.mu.Unlock(); return r.distinct }

func (r *results) notAccepted() int { r.mu.Lock(); defer r.mu.Unlock(); return r.bad }

// markLoad starts the latency phase: n events numbered from from; the producer records
// when each was produced in the slice returned.
func (r *results) markLoad(from, n int) []atomic.Int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.loadFrom, r.sent = from, make([]atomic.Int64, n)
	return r.sent
}

// writeLatencies writes the latency phase's records, one per line: when the input was
// produced (Unix µs), its end-to-end latency and its part up to the result's timestamp (µs).
func (r *results) writeLatencies(path string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b []byte
	for i, at := range r.produced {
		b = fmt.Appendf(b, "%d %d %d\n", at/1e3, r.latencies[i].Microseconds(), r.toResult[i].Microseconds())
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("-latencies: %w", err)
	}
	return nil
}

// loadLatencies returns the latency phase's end-to-end latencies and their two parts.
func (r *results) loadLatencies() (total, toResult, delivery []time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.latencies), slices.Clone(r.toResult), slices.Clone(r.delivery)
}

// waitFor waits until n distinct results arrived and returns the first and last result
// timestamps.
func (r *results) waitFor(ctx context.Context, n int, d time.Duration) (time.Time, time.Time, error) {
	deadline := time.After(d)
	for {
		r.mu.Lock()
		if r.distinct >= n {
			first, last := time.Unix(0, r.times[0]), time.Unix(0, r.times[len(r.times)-1])
			r.mu.Unlock()
			return first, last, nil
		}
		got := r.distinct
		r.mu.Unlock()
		select {
		case <-ctx.Done():
			return time.Time{}, time.Time{}, context.Cause(ctx)
		case <-deadline:
			return time.Time{}, time.Time{}, fmt.Errorf("%d of %d results within %s", got, n, d)
		case <-r.wake:
		}
	}
}

func pct(ds []time.Duration, p float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return float64(ds[min(len(ds)-1, int(float64(len(ds))*p/100))]) / 1e6
}

func thin(v []float64, n int) []float64 {
	if len(v) <= n {
		return v
	}
	out := make([]float64, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, v[i*(len(v)-1)/(n-1)])
	}
	return out
}

// cpuSeconds is the process's user + system CPU time from /proc/<pid>/stat.
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name (which may contain spaces) start after the last ')'.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	s, _ := strconv.ParseFloat(f[12], 64)
	return (u + s) / 100, nil // USER_HZ is 100 on Linux
}

// procStatus reads a kB field of /proc/<pid>/status in MB.
func procStatus(pid int, field string) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb / 1024, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}
