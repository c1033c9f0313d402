package writeapi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/jft-gateway/jft-gateway/internal/jft"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"), goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"))
}

func testConfig(base string) Config {
	return Config{Environment: "test", BaseURL: base, SourceSystem: "jft-gateway", ContentType: "application/json",
		Timeout: 2 * time.Second, MaxAttempts: 4, RetryBudget: 10 * time.Second,
		BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond, RetryAfterMax: 3 * time.Second, MaxConnsPerHost: 8}
}

// recorder answers with a scripted sequence of handlers and records each request.
type recorder struct {
	mu       sync.Mutex
	script   []http.HandlerFunc
	requests []*http.Request
	bodies   [][]byte
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	n := len(r.requests)
	r.requests = append(r.requests, req)
	r.bodies = append(r.bodies, b)
	h := r.script[min(n, len(r.script)-1)]
	r.mu.Unlock()
	h(w, req)
}

func status(code int, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.WriteHeader(code)
	}
}

func body(code int, ct, b string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(code)
		io.WriteString(w, b)
	}
}

var accepted = status(202, "Location", "/v1/Bundle/7b0c2b2e-5d7a-4f8e-9a51-3d1c7e2f9a10/$status")

func event() jft.Command {
	return jft.Command{Kind: jft.KindEvent, Tenant: "312229544", ResourceType: "Bundle", Body: []byte(`{"resourceType":"Bundle",  "type":"transaction"}`)}
}

type sleeps struct {
	mu  sync.Mutex
	all []time.Duration
}

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	s.all = append(s.all, d)
	s.mu.Unlock()
	return nil
}

func TestSendOutcomes(t *testing.T) {
	tests := []struct {
		name         string
		script       []http.HandlerFunc
		wantCode     jft.Code
		permanent    bool
		wantAttempts int
		wantStatus   int
	}{
		{"202 with a location is accepted", []http.HandlerFunc{accepted}, "", false, 1, 202},
		{"400 is permanent, not retried", []http.HandlerFunc{status(400)}, jft.CodeAPIBadRequest, true, 1, 400},
		{"403 is permanent", []http.HandlerFunc{status(403)}, jft.CodeAPIForbidden, true, 1, 403},
		{"404 is permanent", []http.HandlerFunc{status(404)}, jft.CodeAPINotFound, true, 1, 404},
		{"413 is permanent", []http.HandlerFunc{status(413)}, jft.CodeAPITooLarge, true, 1, 413},
		{"422 is another permanent rejection", []http.HandlerFunc{status(422)}, jft.CodeAPIRejected, true, 1, 422},
		{"401 refreshes the token once, then is permanent", []http.HandlerFunc{status(401)}, jft.CodeAPIUnauthorized, true, 2, 401},
		{"401 then 202 succeeds after one refresh", []http.HandlerFunc{status(401), accepted}, "", false, 2, 202},
		{"503 is retried until it succeeds", []http.HandlerFunc{status(503), status(503), accepted}, "", false, 3, 202},
		{"503 until attempts run out fails transiently", []http.HandlerFunc{status(503)}, jft.CodeAPIUnavailable, false, 4, 503},
		{"429 is transient", []http.HandlerFunc{status(429)}, jft.CodeAPIRateLimited, false, 4, 429},
		{"408 is transient", []http.HandlerFunc{status(408)}, jft.CodeAPITimeout, false, 4, 408},
		{"a 202 without Location is a bad response", []http.HandlerFunc{status(202)}, jft.CodeAPIBadResponse, false, 4, 202},
		{"200 is not what the WriteAPI documents", []http.HandlerFunc{status(200)}, jft.CodeAPIBadResponse, false, 4, 200},
		{"a redirect is not followed", []http.HandlerFunc{status(307, "Location", "http://elsewhere.example/")}, jft.CodeAPIBadResponse, false, 4, 307},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{script: tt.script}
			srv := httptest.NewServer(rec)
			defer srv.Close()
			auth := &countingAuth{}
			var sl sleeps
			c, err := New(testConfig(srv.URL), auth, WithSleep(sl.sleep))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := c.Send(context.Background(), event())
			if resp.Attempts != tt.wantAttempts || resp.Status != tt.wantStatus {
				t.Errorf("attempts %d status %d, want %d and %d", resp.Attempts, resp.Status, tt.wantAttempts, tt.wantStatus)
			}
			if got := jft.CodeOf(err); got != tt.wantCode {
				t.Fatalf("code %q (%v), want %q", got, err, tt.wantCode)
			}
			if err != nil && jft.IsPermanent(err) != tt.permanent {
				t.Errorf("permanent = %v, want %v", jft.IsPermanent(err), tt.permanent)
			}
			if int(auth.authorized.Load()) != tt.wantAttempts {
				t.Errorf("Authorize called %d times for %d attempts: each attempt needs a fresh proof", auth.authorized.Load(), tt.wantAttempts)
			}
			if err == nil {
				if want := srv.URL + "/v1/Bundle/7b0c2b2e-5d7a-4f8e-9a51-3d1c7e2f9a10/$status"; resp.Location != want {
					t.Errorf("location %q, want %q", resp.Location, want)
				}
				if resp.ResourceID != "7b0c2b2e-5d7a-4f8e-9a51-3d1c7e2f9a10" {
					t.Errorf("resource id %q", resp.ResourceID)
				}
			}
		})
	}
}

type countingAuth struct {
	authorized  atomic.Int32
	invalidated atomic.Int32
	err         error
}

func (a *countingAuth) Authorize(_ context.Context, tenant string, req *http.Request) error {
	a.authorized.Add(1)
	if a.err != nil {
		return a.err
	}
	req.Header.Set("Authorization", "DPoP token-for-"+tenant)
	return nil
}

func (a *countingAuth) Invalidate(string) { a.invalidated.Add(1) }

func TestSendForwardsBytesHeadersAndPath(t *testing.T) {
	rec := &recorder{script: []http.HandlerFunc{accepted}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	c, err := New(testConfig(srv.URL), &countingAuth{})
	if err != nil {
		t.Fatal(err)
	}
	cmd := event()
	cmd.SourceSystem = "Bruno V0.1.2"
	if _, err := c.Send(context.Background(), cmd); err != nil {
		t.Fatal(err)
	}
	req := rec.requests[0]
	if !bytes.Equal(rec.bodies[0], cmd.Body) {
		t.Errorf("body changed on the way: %q", rec.bodies[0])
	}
	if req.Method != http.MethodPost || req.URL.Path != "/v1/Bundle" {
		t.Errorf("%s %s", req.Method, req.URL.Path)
	}
	for k, want := range map[string]string{"Content-Type": "application/json", "nhn-source-system": "Bruno V0.1.2", "Authorization": "DPoP token-for-312229544"} {
		if got := req.Header.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}

	// Acknowledgements: no body, literal $ in the path, default source system.
	rec2 := &recorder{script: []http.HandlerFunc{status(202, "Location", "https://api.read.jft.test.nhn.no/v1/MedicationDispense/abc/$status")}}
	srv2 := httptest.NewServer(rec2)
	defer srv2.Close()
	c2, _ := New(testConfig(srv2.URL), NoAuth{})
	ack := jft.Command{Kind: jft.KindAcknowledgement, Tenant: "312229544", ResourceType: "MedicationDispense", ResourceID: "abc"}
	resp, err := c2.Send(context.Background(), ack)
	if err != nil {
		t.Fatal(err)
	}
	r2 := rec2.requests[0]
	if r2.RequestURI != "/v1/MedicationDispense/abc/$journaling-acknowledged" {
		t.Errorf("request URI %q, want the literal $journaling-acknowledged", r2.RequestURI)
	}
	if len(rec2.bodies[0]) != 0 || r2.Header.Get("Content-Type") != "" {
		t.Errorf("an acknowledgement carried a body or content type")
	}
	if r2.Header.Get("nhn-source-system") != "jft-gateway" {
		t.Errorf("default source system not sent")
	}
	if resp.Location != "https://api.read.jft.test.nhn.no/v1/MedicationDispense/abc/$status" || resp.ResourceID != "abc" {
		t.Errorf("absolute location on the read host: %+v", resp)
	}
}

func TestRetryAfterIsHonouredAndCapped(t *testing.T) {
	for _, tt := range []struct {
		name   string
		header string
		want   time.Duration
	}{
		{"seconds", "2", 2 * time.Second},
		{"capped at RetryAfterMax", "3600", 3 * time.Second},
		{"HTTP date", time.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat), time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(&recorder{script: []http.HandlerFunc{status(503, "Retry-After", tt.header), accepted}})
			defer srv.Close()
			var sl sleeps
			c, _ := New(testConfig(srv.URL), NoAuth{}, WithSleep(sl.sleep))
			if _, err := c.Send(context.Background(), event()); err != nil {
				t.Fatal(err)
			}
			if len(sl.all) != 1 || sl.all[0] < tt.want || sl.all[0] > 3*time.Second {
				t.Errorf("waited %v, want at least %v and at most the cap", sl.all, tt.want)
			}
		})
	}
}

func TestBackoffIsBoundedFullJitter(t *testing.T) {
	c, _ := New(testConfig("http://127.0.0.1:1"), NoAuth{})
	cfg := testConfig("")
	for attempt := 1; attempt < 40; attempt++ {
		for range 50 {
			d := c.backoff(attempt, 0)
			if d < 0 || d > cfg.BackoffMax {
				t.Fatalf("attempt %d: backoff %v outside [0, %v]", attempt, d, cfg.BackoffMax)
			}
		}
	}
}

func TestTransportFailuresAreTransient(t *testing.T) {
	t.Run("connection reset", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		}))
		defer srv.Close()
		var sl sleeps
		c, _ := New(testConfig(srv.URL), NoAuth{}, WithSleep(sl.sleep))
		resp, err := c.Send(context.Background(), event())
		if jft.CodeOf(err) != jft.CodeAPINetwork || jft.IsPermanent(err) || resp.Attempts != 4 {
			t.Fatalf("err %v attempts %d", err, resp.Attempts)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		defer srv.Close()
		defer close(release)
		cfg := testConfig(srv.URL)
		cfg.Timeout, cfg.MaxAttempts = 50*time.Millisecond, 2
		var sl sleeps
		c, _ := New(cfg, NoAuth{}, WithSleep(sl.sleep))
		_, err := c.Send(context.Background(), event())
		if jft.CodeOf(err) != jft.CodeAPITimeout {
			t.Fatalf("err %v, want %s", err, jft.CodeAPITimeout)
		}
	})
	t.Run("refused", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		var sl sleeps
		c, _ := New(testConfig(url), NoAuth{}, WithSleep(sl.sleep))
		_, err := c.Send(context.Background(), event())
		if jft.CodeOf(err) != jft.CodeAPINetwork {
			t.Fatalf("err %v", err)
		}
	})
}

// deadlineRecorder answers 503 to every request and records each request's deadline and
// sending time; it sleeps before answering so that the retry budget runs down.
type deadlineRecorder struct {
	wait      time.Duration
	sent      []time.Time
	deadlines []time.Time
}

func (d *deadlineRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	dl, ok := req.Context().Deadline()
	if !ok {
		return nil, errors.New("request without a deadline")
	}
	d.sent = append(d.sent, time.Now())
	d.deadlines = append(d.deadlines, dl)
	time.Sleep(d.wait)
	return &http.Response{StatusCode: 503, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
}

func TestAttemptsEndAtTheTimeoutOrTheRetryBudget(t *testing.T) {
	rt := &deadlineRecorder{wait: 300 * time.Millisecond}
	cfg := testConfig("http://writeapi.invalid")
	cfg.Timeout, cfg.RetryBudget, cfg.MaxAttempts = time.Second, 1500*time.Millisecond, 10
	var sl sleeps
	c, _ := New(cfg, NoAuth{}, WithTransport(rt), WithSleep(sl.sleep))
	start := time.Now()
	resp, err := c.Send(context.Background(), event())
	if jft.CodeOf(err) != jft.CodeAPIUnavailable || resp.Attempts < 3 {
		t.Fatalf("err %v after %d attempts, want %s after several", err, resp.Attempts, jft.CodeAPIUnavailable)
	}
	// Send takes its budget's start just after start: allow for that.
	budget, slack := start.Add(cfg.RetryBudget), 20*time.Millisecond
	cut := 0
	for i, dl := range rt.deadlines {
		if dl.After(budget.Add(slack)) {
			t.Errorf("attempt %d: deadline past the retry budget's end by %v", i+1, dl.Sub(budget))
		}
		timeout := rt.sent[i].Add(cfg.Timeout)
		if dl.After(timeout) {
			t.Errorf("attempt %d: deadline past its own timeout by %v", i+1, dl.Sub(timeout))
		}
		if dl.Before(timeout.Add(-slack)) {
			cut++ // the budget, not the attempt's timeout, ends this one
		}
	}
	if cut == 0 {
		t.Errorf("no attempt was cut short by the retry budget (%d attempts)", len(rt.deadlines))
	}
}

func TestCancelledContextStopsRetrying(t *testing.T) {
	srv := httptest.NewServer(&recorder{script: []http.HandlerFunc{status(503)}})
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	c, _ := New(testConfig(srv.URL), NoAuth{}, WithSleep(func(ctx context.Context, _ time.Duration) error {
		calls++
		cancel()
		return ctx.Err()
	}))
	resp, err := c.Send(ctx, event())
	if err == nil || !errors.Is(err, context.Canceled) || resp.Attempts != 1 {
		t.Fatalf("err %v attempts %d, want context.Canceled after one attempt", err, resp.Attempts)
	}
}

func TestPermanentAuthorizerErrorSendsNothing(t *testing.T) {
	rec := &recorder{script: []http.HandlerFunc{accepted}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	auth := &countingAuth{err: jft.Permanentf(jft.CodeTenantUnknown, "tenant is not configured")}
	c, _ := New(testConfig(srv.URL), auth)
	resp, err := c.Send(context.Background(), event())
	if jft.CodeOf(err) != jft.CodeTenantUnknown || !jft.IsPermanent(err) || resp.Attempts != 0 {
		t.Fatalf("err %v attempts %d", err, resp.Attempts)
	}
	if len(rec.requests) != 0 {
		t.Fatalf("%d requests sent for an unknown tenant", len(rec.requests))
	}
}

func TestErrorBodiesAreParsedAndSanitised(t *testing.T) {
	oo := `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"structure","diagnostics":"Patient 13116900216 identifier invalid","expression":["Bundle.entry[1].resource.identifier[0].value"]},{"severity":"bogus","code":"required","details":{"text":"Composition.title is required"}}]}`
	pd := `{"type":"https://tools.ietf.org/html/rfc9110#section-15.5.1","title":"One or more validation errors occurred.","status":400}`
	tests := []struct {
		name  string
		h     http.HandlerFunc
		check func(t *testing.T, is []jft.Issue)
	}{
		{"operation outcome", body(400, "application/fhir+json", oo), func(t *testing.T, is []jft.Issue) {
			if len(is) != 2 || is[0].Path != "Bundle.entry[1].resource.identifier[0].value" || is[0].Code != "structure" {
				t.Fatalf("issues %+v", is)
			}
			if strings.Contains(is[0].Message, "13116900216") || !strings.Contains(is[0].Message, "#") {
				t.Errorf("an echoed identity number survived: %q", is[0].Message)
			}
			if is[1].Severity != jft.SeverityError || is[1].Message != "Composition.title is required" {
				t.Errorf("second issue %+v", is[1])
			}
		}},
		{"problem details", body(400, "application/problem+json", pd), func(t *testing.T, is []jft.Issue) {
			if len(is) != 1 || !strings.Contains(is[0].Message, "validation errors") {
				t.Fatalf("issues %+v", is)
			}
		}},
		{"plain text gives the code only", body(400, "text/plain", "<html>your payload: 13116900216</html>"), func(t *testing.T, is []jft.Issue) {
			if len(is) != 0 {
				t.Fatalf("issues from a text body: %+v", is)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.h)
			defer srv.Close()
			c, _ := New(testConfig(srv.URL), NoAuth{})
			_, err := c.Send(context.Background(), event())
			var e *jft.Error
			if !errors.As(err, &e) || e.Code != jft.CodeAPIBadRequest {
				t.Fatalf("err %v", err)
			}
			tt.check(t, e.Issues)
			if strings.Contains(err.Error(), "13116900216") {
				t.Errorf("the error text carries an identity number")
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	good := testConfig("http://127.0.0.1:8088")
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		mut  func(*Config)
		want string
	}{
		{"no base and no environment", func(c *Config) { c.BaseURL, c.Environment = "", "" }, "JFT_ENVIRONMENT"},
		{"base with a query", func(c *Config) { c.BaseURL = "https://x/?a=b" }, "JFT_WRITEAPI_BASE_URL"},
		{"not http", func(c *Config) { c.BaseURL = "ftp://x" }, "JFT_WRITEAPI_BASE_URL"},
		{"base with user info", func(c *Config) { c.BaseURL = "https://user:secret@x/" }, "must not carry user info"},
		{"zero attempts", func(c *Config) { c.MaxAttempts = 0 }, "JFT_WRITEAPI_MAX_ATTEMPTS"},
		{"budget shorter than a try", func(c *Config) { c.RetryBudget = time.Second }, "JFT_WRITEAPI_RETRY_BUDGET"},
		{"fhir content type allowed, others not", func(c *Config) { c.ContentType = "text/plain" }, "JFT_WRITEAPI_CONTENT_TYPE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.mut(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want one naming %s", err, tt.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Fatalf("err %v repeats a password", err)
			}
		})
	}
	for env, want := range map[string]string{"test": TestBaseURL, "prod": ProdBaseURL} {
		c := good
		c.BaseURL, c.Environment = "", env
		if u, err := c.Base(); err != nil || u.String() != want {
			t.Errorf("%s: base %v %v", env, u, err)
		}
	}
}

// TestAttemptObserverSeesEveryRequest: each request is reported once, with its operation
// and status, and all but the last are marked retried with the code that caused the retry.
func TestAttemptObserverSeesEveryRequest(t *testing.T) {
	rec := &recorder{script: []http.HandlerFunc{status(503), status(429, "Retry-After", "0"), accepted}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	var got []Attempt
	c, err := New(testConfig(srv.URL), NoAuth{}, WithSleep((&sleeps{}).sleep), WithAttemptObserver(func(a Attempt) { got = append(got, a) }))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(context.Background(), event()); err != nil {
		t.Fatal(err)
	}
	want := []Attempt{
		{Operation: "submit", Status: 503, Code: jft.CodeAPIUnavailable, Retried: true},
		{Operation: "submit", Status: 429, Code: jft.CodeAPIRateLimited, Retried: true},
		{Operation: "submit", Status: 202},
	}
	if len(got) != len(want) || len(rec.requests) != len(want) {
		t.Fatalf("observed %d attempts for %d requests, want %d", len(got), len(rec.requests), len(want))
	}
	for i := range want {
		g := got[i]
		if g.Duration <= 0 {
			t.Errorf("attempt %d has no duration", i)
		}
		g.Duration = 0
		if g != want[i] {
			t.Errorf("attempt %d: %+v, want %+v", i, g, want[i])
		}
	}
	got = nil
	ack := jft.Command{Kind: jft.KindAcknowledgement, Tenant: "312229544", ResourceType: "MedicationDispense", ResourceID: "abc"}
	rec.script = []http.HandlerFunc{status(404)}
	rec.requests = nil
	if _, err := c.Send(context.Background(), ack); jft.CodeOf(err) != jft.CodeAPINotFound {
		t.Fatalf("err %v", err)
	}
	if len(got) != 1 || got[0].Operation != "acknowledge" || got[0].Retried || got[0].Status != 404 {
		t.Errorf("acknowledgement observed as %+v", got)
	}
}

// TestFailingInARowCountsUnavailableAnswers: 5xx, 429 and no answer count up across
// requests; any other answer, 4xx included, shows the WriteAPI is up and resets the count.
func TestFailingInARowCountsUnavailableAnswers(t *testing.T) {
	rec := &recorder{script: []http.HandlerFunc{status(503), status(429, "Retry-After", "0"), status(502), status(400), status(503)}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	cfg := testConfig(srv.URL)
	cfg.MaxAttempts = 3
	c, err := New(cfg, NoAuth{}, WithSleep((&sleeps{}).sleep))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = c.Send(context.Background(), event()) // 503, 429, 502: retries run out
	if n := c.failing.Load(); n != 3 {
		t.Errorf("after three unavailable answers: %d", n)
	}
	_, _ = c.Send(context.Background(), event()) // 400: the WriteAPI is up
	if n := c.failing.Load(); n != 0 {
		t.Errorf("after a 400: %d", n)
	}
	_, _ = c.Send(context.Background(), event()) // 503 three times (the script's last answer repeats)
	if n := c.failing.Load(); n != 3 {
		t.Errorf("after three more 503s: %d", n)
	}
}

// TestAttemptsDuringAnOutageDoNotCount: once OutageThreshold answers in a row found the
// WriteAPI unavailable, further failures do not use up MaxAttempts, so a record rides out
// the outage within its retry budget instead of failing.
func TestAttemptsDuringAnOutageDoNotCount(t *testing.T) {
	rec := &recorder{script: []http.HandlerFunc{status(503), status(503), status(503), status(503), status(503), status(503), accepted}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	cfg := testConfig(srv.URL)
	cfg.MaxAttempts, cfg.OutageThreshold = 3, 2
	c, err := New(cfg, NoAuth{}, WithSleep((&sleeps{}).sleep))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Send(context.Background(), event())
	if err != nil || resp.Attempts != 7 {
		t.Fatalf("attempts %d, err %v: want success on the 7th", resp.Attempts, err)
	}
	if c.Down() {
		t.Error("still down after a 202")
	}
	cfg.OutageThreshold = 0
	rec.script, rec.requests = []http.HandlerFunc{status(503)}, nil
	c2, _ := New(cfg, NoAuth{}, WithSleep((&sleeps{}).sleep))
	if resp, err := c2.Send(context.Background(), event()); err == nil || resp.Attempts != 3 {
		t.Fatalf("without outage detection: attempts %d, err %v; want failure after 3", resp.Attempts, err)
	}
}
