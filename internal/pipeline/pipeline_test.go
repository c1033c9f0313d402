package pipeline

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/plugin/kotel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/jft-gateway/jft-gateway/internal/jft"
	"github.com/jft-gateway/jft-gateway/transform"
	"github.com/jft-gateway/jft-gateway/writeapi"
)

type fakeValidator struct {
	cmd jft.Command
	err error
}

func (f fakeValidator) Transform(transform.Input) (jft.Command, error) { return f.cmd, f.err }

type fakeSender struct {
	calls int
	resp  writeapi.Response
	err   error
	block bool
}

func (f *fakeSender) Send(ctx context.Context, _ jft.Command) (writeapi.Response, error) {
	f.calls++
	if f.block {
		<-ctx.Done()
		return writeapi.Response{Attempts: 1}, ctx.Err()
	}
	return f.resp, f.err
}

type fakePublisher struct {
	mu       sync.Mutex
	failures int
	results  []jft.Result
}

func (f *fakePublisher) Publish(_ context.Context, _ *kgo.Record, res jft.Result) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failures > 0 {
		f.failures--
		return errors.New("NOT_ENOUGH_REPLICAS")
	}
	f.results = append(f.results, res)
	return nil
}

func newPipeline(t *testing.T, v Validator, s Sender, pub Publisher) *Pipeline {
	t.Helper()
	tp := sdktrace.NewTracerProvider()
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	p, err := New(Config{EventsTopic: "events", AcksTopic: "acks"}, v, s, pub, kotel.NewTracer(kotel.TracerProvider(tp)))
	if err != nil {
		t.Fatal(err)
	}
	p.publishBackoffMin = time.Millisecond
	return p
}

func record() *kgo.Record {
	return &kgo.Record{Topic: "events", Partition: 1, Offset: 9, Key: []byte("312229544"), Context: context.Background()}
}

func TestOutcomes(t *testing.T) {
	accepted := writeapi.Response{Status: 202, Location: "https://read/v1/Bundle/abc/$status", ResourceID: "abc", Attempts: 1}
	tests := []struct {
		name      string
		v         fakeValidator
		s         *fakeSender
		outcome   jft.Outcome
		code      jft.Code
		sendCalls int
	}{
		{"accepted", fakeValidator{cmd: jft.Command{Tenant: "312229544", ResourceType: "Bundle"}}, &fakeSender{resp: accepted}, jft.OutcomeAccepted, "", 1},
		{"validation rejects without sending", fakeValidator{err: jft.Permanentf(jft.CodeSizeLimit, "too big")}, &fakeSender{}, jft.OutcomeRejected, jft.CodeSizeLimit, 0},
		{"4xx rejects", fakeValidator{}, &fakeSender{resp: writeapi.Response{Status: 400, Attempts: 1}, err: jft.Permanentf(jft.CodeAPIBadRequest, "400")}, jft.OutcomeRejected, jft.CodeAPIBadRequest, 1},
		{"transient fails", fakeValidator{}, &fakeSender{resp: writeapi.Response{Status: 503, Attempts: 8}, err: jft.Transientf(jft.CodeAPIUnavailable, "503")}, jft.OutcomeFailed, jft.CodeAPIUnavailable, 1},
		{"a foreign error is INTERNAL with our message", fakeValidator{}, &fakeSender{err: errors.New("secret body 13116900216")}, jft.OutcomeFailed, jft.CodeInternal, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub := &fakePublisher{}
			p := newPipeline(t, tt.v, tt.s, pub)
			if err := p.Handle(context.Background(), record()); err != nil {
				t.Fatal(err)
			}
			if len(pub.results) != 1 {
				t.Fatalf("%d results", len(pub.results))
			}
			r := pub.results[0]
			if r.Outcome != tt.outcome || jft.CodeOf(errOf(r)) != tt.code || tt.s.calls != tt.sendCalls {
				t.Fatalf("result %+v, sends %d", r, tt.s.calls)
			}
			if r.EventID != "events-1-9" || r.Source != (jft.Source{Topic: "events", Partition: 1, Offset: 9}) || r.TraceID == "" || r.Schema != jft.SchemaV1 {
				t.Errorf("result fields %+v", r)
			}
			if r.Error != nil && strings.Contains(r.Error.Message, "13116900216") {
				t.Error("a dependency's error text reached the result")
			}
		})
	}
}

func errOf(r jft.Result) error {
	if r.Error == nil {
		return nil
	}
	return &jft.Error{Code: r.Error.Code}
}

func TestPublishIsRetriedUntilDurable(t *testing.T) {
	pub := &fakePublisher{failures: 3}
	s := &fakeSender{resp: writeapi.Response{Status: 202, Location: "x", Attempts: 1}}
	p := newPipeline(t, fakeValidator{}, s, pub)
	if err := p.Handle(context.Background(), record()); err != nil {
		t.Fatal(err)
	}
	if len(pub.results) != 1 || s.calls != 1 {
		t.Fatalf("results %d, WriteAPI calls %d: a broker hiccup must not repeat the call", len(pub.results), s.calls)
	}
}

func TestCancelledRecordGetsNoResult(t *testing.T) {
	pub := &fakePublisher{}
	p := newPipeline(t, fakeValidator{}, &fakeSender{block: true}, pub)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	if err := p.Handle(ctx, record()); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if len(pub.results) != 0 {
		t.Fatal("an abandoned record got a result: its new owner will write one too")
	}
}

func TestNoCredentialsHoldsTheRecord(t *testing.T) {
	pub := &fakePublisher{}
	s := &fakeSender{err: jft.Transientf(jft.CodeAuthFailed, "HelseID down")}
	p := newPipeline(t, fakeValidator{}, s, pub)
	if err := p.Handle(context.Background(), record()); !errors.Is(err, ErrCredentialsUnavailable) {
		t.Fatalf("err %v", err)
	}
	if len(pub.results) != 0 {
		t.Fatal("a HelseID outage produced a failed result")
	}
}

func TestAcksTopicMakesAcknowledgements(t *testing.T) {
	c := Config{EventsTopic: "events", AcksTopic: "acks"}
	if c.kindOf("acks") != jft.KindAcknowledgement || c.kindOf("events") != jft.KindEvent {
		t.Fatal("kind by topic")
	}
	if err := (Config{EventsTopic: "x", AcksTopic: "x"}).Validate(); err == nil || !strings.Contains(err.Error(), "JFT_TOPIC_ACKS") {
		t.Fatalf("err %v", err)
	}
}

// outageSender is a Sender that reports the WriteAPI down from the tenth unavailable
// answer in a row.
type outageSender struct {
	fakeSender
	failing int64
}

func (o *outageSender) Down() bool { return o.failing >= 10 }

// TestOutageHoldsInsteadOfFailing: a record whose retries ran out gets its failed result
// while the WriteAPI answers others, but is held (no result, retried later) while the
// Sender finds the WriteAPI down.
func TestOutageHoldsInsteadOfFailing(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	defer tp.Shutdown(context.Background())
	pub := &fakePublisher{}
	s := &outageSender{fakeSender: fakeSender{resp: writeapi.Response{Status: 503, Attempts: 8}, err: jft.Transientf(jft.CodeAPIUnavailable, "503")}}
	p, err := New(Config{EventsTopic: "events"}, fakeValidator{}, s, pub, kotel.NewTracer(kotel.TracerProvider(tp)))
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		failing  int64
		wantErr  error
		wantRecs int
	}{
		{8, nil, 1},              // its own eight attempts: its own failure
		{9, nil, 2},              // others failing too, but under the threshold
		{10, ErrWriteAPIDown, 2}, // an outage: held, no result
		{500, ErrWriteAPIDown, 2},
		{3, nil, 3}, // the WriteAPI answers again: a failure is a failure
	}
	for i, st := range steps {
		s.failing = st.failing
		err := p.Handle(context.Background(), record())
		if !errors.Is(err, st.wantErr) && !(err == nil && st.wantErr == nil) {
			t.Fatalf("step %d: err %v, want %v", i, err, st.wantErr)
		}
		if len(pub.results) != st.wantRecs {
			t.Fatalf("step %d: %d results, want %d", i, len(pub.results), st.wantRecs)
		}
	}
	// A rejection is never held, whatever the WriteAPI's state.
	s.resp, s.err = writeapi.Response{Status: 400, Attempts: 1}, jft.Permanentf(jft.CodeAPIBadRequest, "400")
	s.failing = 100
	if err := p.Handle(context.Background(), record()); err != nil || len(pub.results) != 4 {
		t.Fatalf("a 400 during an outage: err %v, %d results", err, len(pub.results))
	}
}

func TestAcksTopicOff(t *testing.T) {
	c := Config{EventsTopic: "events", AcksTopic: AcksOff}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := c.Topics(); len(got) != 1 || got[0] != "events" {
		t.Errorf("topics %v, want only the events topic", got)
	}
	if c.kindOf("off") != jft.KindEvent {
		t.Error("a topic named off is read as acknowledgements")
	}
}
