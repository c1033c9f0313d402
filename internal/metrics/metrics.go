// Package metrics exposes the gateway's Prometheus metrics: what it consumed, the results
// by outcome and code, WriteAPI attempts and retries, in-flight work and lag per partition,
// work and holds per tenant, HelseID token requests, and franz-go's own client metrics
// (kprom) for the consuming and the producing client.
//
// Labels carry only bounded, public values: topics, partitions, outcomes, error codes,
// resource types from a fixed set, and tenants as organisation numbers (public register
// data). Never an identity number, a token or a payload: a test scrapes a run and checks.
package metrics

import (
	"net/http"
	"regexp"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/plugin/kprom"

	"github.com/jft-gateway/jft-gateway/consumer"
	"github.com/jft-gateway/jft-gateway/internal/jft"
	"github.com/jft-gateway/jft-gateway/writeapi"
)

// Namespace prefixes every metric name.
const Namespace = "jft_gateway"

// Metrics is the registry and the gateway's collectors. Its methods are safe for
// concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	consumed       *prometheus.CounterVec
	results        *prometheus.CounterVec
	resultLatency  prometheus.Histogram
	dlq            *prometheus.CounterVec
	requests       *prometheus.HistogramVec
	retries        *prometheus.CounterVec
	tenantInflight *prometheus.GaugeVec
	tenantPaused   *prometheus.GaugeVec
	tokens         *prometheus.CounterVec

	// Kafka holds franz-go's client metrics for the consuming and the producing client.
	kafkaConsumer, kafkaProducer *kprom.Metrics
}

// New registers every collector on a new registry, with the Go runtime and process
// collectors.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f := func(c prometheus.Collector) { reg.MustRegister(c) }
	m := &Metrics{reg: reg}
	m.consumed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "records_consumed_total",
		Help: "Input records handed to the pipeline, by topic (redeliveries after a rebalance or restart included).",
	}, []string{"topic"})
	m.results = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "results_total",
		Help: "Durable result records, by outcome (accepted, rejected, failed), error code (none when accepted) and resource type.",
	}, []string{"outcome", "code", "resource_type"})
	m.resultLatency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "result_latency_seconds",
		Help:    "Time from the input record's timestamp to its result being durable.",
		Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 1800},
	})
	m.dlq = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "dlq_records_total",
		Help: "Input records copied to the dead-letter topic, by error code.",
	}, []string{"code"})
	m.requests = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "writeapi_request_duration_seconds",
		Help:    "WriteAPI attempts by operation (submit, acknowledge) and status class (2xx, 4xx, 5xx, error when no answer came).",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"operation", "status_class"})
	m.retries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "writeapi_retries_total",
		Help: "WriteAPI attempts that are followed by another, by the error code that caused the retry.",
	}, []string{"reason"})
	m.tenantInflight = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "tenant_inflight_records",
		Help: "WriteAPI calls in progress (retries included), by tenant organisation number.",
	}, []string{"tenant"})
	m.tenantPaused = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "tenant_paused",
		Help: "1 while a tenant's records are held: no HelseID token can be had for it, or the WriteAPI is down (JFT_WRITEAPI_OUTAGE_HOLD).",
	}, []string{"tenant"})
	m.tokens = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "token_requests_total",
		Help: "HelseID token requests by tenant and result (ok, error).",
	}, []string{"tenant", "result"})
	for _, c := range m.own() {
		f(c)
	}
	// Two franz-go clients share the metric names, told apart by a constant label.
	kafka := func(client string) *kprom.Metrics {
		return kprom.NewMetrics(Namespace, kprom.Subsystem("kafka"), kprom.Registry(reg),
			kprom.WithStaticLabel(prometheus.Labels{"client": client}),
			kprom.FetchAndProduceDetail(kprom.ByNode, kprom.ByTopic, kprom.Records, kprom.Batches, kprom.UncompressedBytes, kprom.CompressedBytes, kprom.ConsistentNaming))
	}
	m.kafkaConsumer, m.kafkaProducer = kafka("consumer"), kafka("producer")
	return m
}

func (m *Metrics) own() []prometheus.Collector {
	return []prometheus.Collector{m.consumed, m.results, m.resultLatency, m.dlq, m.requests, m.retries, m.tenantInflight, m.tenantPaused, m.tokens}
}

var fqName = regexp.MustCompile(`fqName: "([a-z_]+)"`)

// Names lists the gateway's own metric names (kprom's and the runtime's aside): what
// dashboards and alerts may refer to.
func Names() []string {
	ch := make(chan *prometheus.Desc, 64)
	go func() {
		for _, c := range append(New().own(), partitionCollector(nil)) {
			c.Describe(ch)
		}
		close(ch)
	}()
	var out []string
	for d := range ch {
		if m := fqName.FindStringSubmatch(d.String()); m != nil {
			out = append(out, m[1])
		}
	}
	return out
}

// Registry is where the collectors live (tests gather from it).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// ConsumerHooks are the kgo hooks for the consuming client: kprom's and the records
// consumed counter.
func (m *Metrics) ConsumerHooks() kgo.Opt { return kgo.WithHooks(m.kafkaConsumer, consumedHook{m}) }

// ProducerHooks are the kgo hooks for the producing client: kprom's and the dead-letter
// counter for records durably written to dlqTopic (none when it is empty).
func (m *Metrics) ProducerHooks(dlqTopic string) kgo.Opt {
	return kgo.WithHooks(m.kafkaProducer, dlqHook{m, dlqTopic})
}

type dlqHook struct {
	m     *Metrics
	topic string
}

// OnProduceRecordUnbuffered implements kgo.HookProduceRecordUnbuffered: the record was
// acknowledged (err nil) or failed. The code is the last jft-error-code header: a replayed
// record still carries the code of its earlier visit before ours.
func (h dlqHook) OnProduceRecordUnbuffered(r *kgo.Record, err error) {
	if err != nil || h.topic == "" || r.Topic != h.topic {
		return
	}
	code := "none"
	for _, hd := range r.Headers {
		if hd.Key == jft.HeaderErrorCode {
			code = string(hd.Value)
		}
	}
	h.m.dlq.WithLabelValues(code).Inc()
}

type consumedHook struct{ m *Metrics }

// OnFetchRecordUnbuffered implements kgo.HookFetchRecordUnbuffered: a record left the
// client's buffer; polled is false when it was dropped (a revoked partition).
func (h consumedHook) OnFetchRecordUnbuffered(r *kgo.Record, polled bool) {
	if polled {
		h.m.consumed.WithLabelValues(r.Topic).Inc()
	}
}

// Observe implements pipeline.Observer: one durable result.
func (m *Metrics) Observe(in *kgo.Record, res *jft.Result) {
	code := "none"
	if res.Error != nil {
		code = string(res.Error.Code)
	}
	m.results.WithLabelValues(string(res.Outcome), code, resourceType(res.ResourceType)).Inc()
	if !in.Timestamp.IsZero() && !res.CompletedAt.IsZero() {
		m.resultLatency.Observe(max(0, res.CompletedAt.Sub(in.Timestamp).Seconds()))
	}
}

// SendStarted implements pipeline.TenantObserver.
func (m *Metrics) SendStarted(tenant string) { m.tenantInflight.WithLabelValues(tenant).Inc() }

// SendDone implements pipeline.TenantObserver.
func (m *Metrics) SendDone(tenant string) { m.tenantInflight.WithLabelValues(tenant).Dec() }

// Held implements pipeline.TenantObserver.
func (m *Metrics) Held(tenant string, held bool) {
	v := 0.0
	if held {
		v = 1
	}
	m.tenantPaused.WithLabelValues(tenant).Set(v)
}

// Attempt records one WriteAPI attempt (writeapi.WithAttemptObserver).
func (m *Metrics) Attempt(a writeapi.Attempt) {
	m.requests.WithLabelValues(a.Operation, statusClass(a.Status)).Observe(a.Duration.Seconds())
	if a.Retried {
		reason := string(a.Code)
		if reason == "" {
			reason = "unknown"
		}
		m.retries.WithLabelValues(reason).Inc()
	}
}

// Token records one HelseID token request (helseid.WithTokenObserver).
func (m *Metrics) Token(tenant string, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.tokens.WithLabelValues(tenant, result).Inc()
}

// WatchPartitions exports in-flight records, queue, pause state and lag per assigned
// partition, read from stats at every scrape.
func (m *Metrics) WatchPartitions(stats func() []consumer.PartitionStats) {
	m.reg.MustRegister(partitionCollector(stats))
}

func statusClass(status int) string {
	if status < 100 || status > 599 {
		return "error"
	}
	return strconv.Itoa(status/100) + "xx"
}

// resourceType keeps the label bounded: a rejected record may name anything.
func resourceType(t string) string {
	switch t {
	case "Bundle", "Composition", "MedicationDispense":
		return t
	case "":
		return "unknown"
	}
	return "other"
}

var (
	descInflight = prometheus.NewDesc(Namespace+"_inflight_records", "Records being handled on an assigned partition.", []string{"topic", "partition"}, nil)
	descQueued   = prometheus.NewDesc(Namespace+"_queued_records", "Fetched records waiting for a place in the partition's window.", []string{"topic", "partition"}, nil)
	descPaused   = prometheus.NewDesc(Namespace+"_partition_paused", "1 while fetching from the partition is paused for backpressure.", []string{"topic", "partition"}, nil)
	descLag      = prometheus.NewDesc(Namespace+"_consumer_lag_records", "High watermark minus the group's committed offset, per assigned partition.", []string{"topic", "partition"}, nil)
)

type partitionCollector func() []consumer.PartitionStats

func (partitionCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descInflight, descQueued, descPaused, descLag} {
		ch <- d
	}
}

func (c partitionCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c() {
		p := strconv.Itoa(int(s.Partition))
		paused := 0.0
		if s.Paused {
			paused = 1
		}
		ch <- prometheus.MustNewConstMetric(descInflight, prometheus.GaugeValue, float64(s.InFlight), s.Topic, p)
		ch <- prometheus.MustNewConstMetric(descQueued, prometheus.GaugeValue, float64(s.Queued), s.Topic, p)
		ch <- prometheus.MustNewConstMetric(descPaused, prometheus.GaugeValue, paused, s.Topic, p)
		if lag := s.Lag(); lag >= 0 {
			ch <- prometheus.MustNewConstMetric(descLag, prometheus.GaugeValue, float64(lag), s.Topic, p)
		}
	}
}
