// Package writeapi is the HTTP client of NHN's JFT WriteAPI: it posts an event's original
// bytes (or a journaling acknowledgement) with the nhn-source-system header and the
// tenant's credentials, retries what is transient with exponential backoff and full jitter
// (honouring Retry-After, bounded by attempts and a time budget), and classifies every
// failure once, as a *jft.Error with a stable code.
package writeapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/propagation"

	"github.com/jft-gateway/jft-gateway/internal/jft"
)

// Authorizer adds credentials to one attempt for tenant. It is called for every attempt,
// retries included, because a DPoP proof is single-use.
type Authorizer interface {
	Authorize(ctx context.Context, tenant string, req *http.Request) error
	// Invalidate drops tenant's cached token after a 401 so the next Authorize fetches a
	// new one.
	Invalidate(tenant string)
}

// NoAuth sends no credentials: for simulators and benchmarks only.
type NoAuth struct{}

// Authorize implements Authorizer.
func (NoAuth) Authorize(context.Context, string, *http.Request) error { return nil }

// Invalidate implements Authorizer.
func (NoAuth) Invalidate(string) {}

// Response is what the WriteAPI answered.
type Response struct {
	// Status of the last attempt; 0 when no answer was received.
	Status int
	// Location is the status URL from a 202, resolved to an absolute URL.
	Location string
	// ResourceID is taken from Location when it has the shape /v1/<Type>/<id>/$status.
	ResourceID string
	// Attempts made, including the last.
	Attempts int
}

// Client posts commands to the WriteAPI. It is safe for concurrent use.
type Client struct {
	cfg   Config
	base  *url.URL
	auth  Authorizer
	rt    http.RoundTripper
	prop  propagation.TextMapPropagator // nil: no trace headers of our own
	sleep func(context.Context, time.Duration) error
	rand  func(n int64) int64
	// baseURL is base as a string, origin all of it before the path ("https://host").
	baseURL, origin string
	// The values of the fixed request headers, shared read-only by every request.
	contentType, accept, sourceSystem []string
	// observe is told every attempt (metrics).
	observe func(Attempt)
	// failing counts the answers in a row, across all requests, that show the WriteAPI
	// unavailable (5xx, 408, 429, timeouts, connection failures); any other answer resets it.
	failing atomic.Int64
}

// Down reports an outage: OutageThreshold attempts in a row found the WriteAPI unavailable.
func (c *Client) Down() bool {
	return c.cfg.OutageThreshold > 0 && c.failing.Load() >= int64(c.cfg.OutageThreshold)
}

// Attempt describes one request to the WriteAPI, for metrics. It holds no payload, tenant
// or token.
type Attempt struct {
	// Operation is "submit" or "acknowledge".
	Operation string
	// Status is the HTTP status, 0 when no answer was received.
	Status int
	// Code is the error's code, empty on success.
	Code jft.Code
	// Duration is the time from sending to the answer (or the failure).
	Duration time.Duration
	// Retried reports that another attempt follows.
	Retried bool
}

// Option configures a Client.
type Option func(*Client)

// WithTransport sets the HTTP transport (the gateway wraps NewTransport with otelhttp).
func WithTransport(rt http.RoundTripper) Option {
	return func(c *Client) { c.rt = rt }
}

// WithPropagator has every request carry the trace context of its ctx in headers
// (traceparent), whether or not a span is recorded for the call.
func WithPropagator(p propagation.TextMapPropagator) Option {
	return func(c *Client) { c.prop = p }
}

// WithAttemptObserver has f told every attempt once its fate (retried or not) is known. f
// must not block.
func WithAttemptObserver(f func(Attempt)) Option {
	return func(c *Client) { c.observe = f }
}

// WithSleep replaces the wait between attempts (tests).
func WithSleep(sleep func(context.Context, time.Duration) error) Option {
	return func(c *Client) { c.sleep = sleep }
}

// NewTransport returns the transport the client uses by default: connections reused and
// bounded per host, HTTP/2 when the server offers it.
func NewTransport(cfg Config) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxConnsPerHost = cfg.MaxConnsPerHost
	t.MaxIdleConnsPerHost = cfg.MaxConnsPerHost
	t.MaxIdleConns = cfg.MaxConnsPerHost
	t.ResponseHeaderTimeout = cfg.Timeout
	return t
}

// New returns a client.
func New(cfg Config, auth Authorizer, opts ...Option) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("writeapi config: %w", err)
	}
	base, _ := cfg.Base()
	if auth == nil {
		return nil, errors.New("writeapi: no Authorizer (use NoAuth to send none)")
	}
	c := &Client{
		cfg: cfg, base: base, auth: auth,
		baseURL:     base.String(),
		origin:      (&url.URL{Scheme: base.Scheme, Host: base.Host}).String(), // Base refuses user info
		contentType: []string{cfg.ContentType},
		accept:      []string{"application/fhir+json, application/json"},
		sleep:       sleepCtx,
		rand:        rand.Int64N,
	}
	for _, o := range opts {
		o(c)
	}
	if c.rt == nil {
		c.rt = NewTransport(cfg)
	}
	if cfg.SourceSystem != "" {
		c.sourceSystem = []string{cfg.SourceSystem}
	}
	return c, nil
}

// Send delivers cmd: POST <base><cmd.Path()> with cmd.Body verbatim. It returns the answer
// of the last attempt (Attempts is set even on error) and, on failure, a *jft.Error:
// permanent for a 4xx other than 408 and 429 (and for a permanent Authorizer error such as
// an unknown tenant, before anything is sent), transient otherwise.
func (c *Client) Send(ctx context.Context, cmd jft.Command) (Response, error) {
	target := *c.base
	// JFT's paths use '$' literally (no RawPath), and DPoP's htu must match.
	target.RawPath = ""
	target.Path = strings.TrimSuffix(c.base.Path, "/") + cmd.Path()
	// The retry budget bounds every attempt's deadline and every wait between attempts, so
	// it needs no context (and timer) of its own.
	deadline := time.Now().Add(c.cfg.RetryBudget)

	var resp Response
	refreshed := false
	counted := 0 // attempts that use up MaxAttempts: not those made during an outage
	op := "submit"
	if cmd.Kind == jft.KindAcknowledgement {
		op = "acknowledge"
	}
	for {
		resp.Attempts++
		began := time.Now()
		status, err := c.attempt(ctx, &target, deadline, cmd, &resp)
		took := time.Since(began)
		resp.Status = status
		if err == nil {
			c.noteAnswer(status, "")
			c.observed(Attempt{Operation: op, Status: status, Duration: took})
			return resp, nil
		}
		e := jft.AsError(err)
		// An attempt made while the WriteAPI is down does not use up the record's attempts:
		// the outage is not the record's fault. The retry budget still bounds it.
		if down := c.noteAnswer(status, e.Code); !down {
			counted++
		}
		if status == http.StatusUnauthorized && !refreshed {
			// One fresh token, then a 401 is permanent (the client is not allowed in).
			refreshed = true
			c.auth.Invalidate(cmd.Tenant)
			c.observed(Attempt{Operation: op, Status: status, Code: e.Code, Duration: took, Retried: true})
			continue
		}
		if e.Permanent || counted >= c.cfg.MaxAttempts {
			c.observed(Attempt{Operation: op, Status: status, Code: e.Code, Duration: took})
			return resp, e
		}
		wait := c.backoff(resp.Attempts, e.RetryAfterSeconds)
		if time.Now().Add(wait).After(deadline) {
			c.observed(Attempt{Operation: op, Status: status, Code: e.Code, Duration: took})
			return resp, e
		}
		c.observed(Attempt{Operation: op, Status: status, Code: e.Code, Duration: took, Retried: true})
		if err := c.sleep(ctx, wait); err != nil {
			// The caller's context ended (revoked partition, shutdown) or its deadline passed.
			if parent := context.Cause(ctx); parent != nil && !errors.Is(parent, context.DeadlineExceeded) {
				return resp, fmt.Errorf("writeapi send: %w", parent)
			}
			return resp, e
		}
	}
}

// observed tells the observer about an attempt that reached the WriteAPI (or tried to).
func (c *Client) observed(a Attempt) {
	if c.observe != nil && sentSomething(a.Status, a.Code) {
		c.observe(a)
	}
}

// noteAnswer updates the count of unavailable answers in a row with one attempt's answer
// and reports whether the WriteAPI was down at a failure (so that it does not count against
// the record). Any other answer resets the count; the reset skips the write when the count
// is already 0, as it is on every success of a healthy stream.
func (c *Client) noteAnswer(status int, code jft.Code) (down bool) {
	if !sentSomething(status, code) {
		return false
	}
	if status >= 500 || status == 0 || status == http.StatusTooManyRequests || status == http.StatusRequestTimeout {
		return c.failing.Add(1) > int64(c.cfg.OutageThreshold) && c.cfg.OutageThreshold > 0
	}
	if c.failing.Load() != 0 {
		c.failing.Store(0)
	}
	return false
}

// sentSomething is false for an attempt that stopped before sending: no token, or a tenant
// we do not know.
func sentSomething(status int, code jft.Code) bool {
	return status != 0 || code != jft.CodeAuthFailed && code != jft.CodeTenantUnknown
}

// attempt makes one request, ending at the attempt timeout or the retry budget's deadline,
// whichever comes first, and returns the status (0 when none) and a classified error.
func (c *Client) attempt(ctx context.Context, target *url.URL, budget time.Time, cmd jft.Command, resp *Response) (int, error) {
	end := time.Now().Add(c.cfg.Timeout)
	if budget.Before(end) {
		end = budget
	}
	actx, cancel := context.WithDeadline(ctx, end)
	defer cancel()
	var body io.Reader = http.NoBody
	if cmd.Body != nil {
		body = bytes.NewReader(cmd.Body)
	}
	req, err := http.NewRequestWithContext(actx, http.MethodPost, c.baseURL, body)
	if err != nil {
		return 0, fmt.Errorf("writeapi request: %w", err)
	}
	req.URL = target // same host as the base; keeps the literal '$' in the path
	// Canonical keys, values shared by all requests: nothing below the client changes a
	// request's header values in place (Set and Add replace or grow the slice).
	if cmd.Body != nil {
		req.Header["Content-Type"] = c.contentType
	}
	req.Header["Accept"] = c.accept
	if c.prop != nil {
		c.prop.Inject(actx, propagation.HeaderCarrier(req.Header))
	}
	if src := cmd.SourceSystem; src != "" {
		req.Header.Set("nhn-source-system", src)
	} else if c.sourceSystem != nil {
		req.Header["Nhn-Source-System"] = c.sourceSystem
	}
	if err := c.auth.Authorize(actx, cmd.Tenant, req); err != nil {
		if jft.IsPermanent(err) {
			resp.Attempts-- // nothing was sent
			return 0, err
		}
		return 0, &jft.Error{Code: jft.CodeAuthFailed, Message: "no access token could be obtained", Err: err}
	}
	// The transport itself, not an http.Client: a redirect is never followed (it would re-send
	// a health event somewhere the configuration does not name), so a 3xx comes back as it
	// is, and the client's per-request bookkeeping is not needed.
	hresp, err := c.rt.RoundTrip(req)
	if err != nil {
		return 0, classifyTransport(ctx, err)
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(hresp.Body, 64<<10))
		hresp.Body.Close()
	}()
	if hresp.StatusCode == http.StatusAccepted {
		loc := hresp.Header.Get("Location")
		if loc == "" {
			return hresp.StatusCode, jft.Transientf(jft.CodeAPIBadResponse, "202 without a Location header")
		}
		abs, id, err := c.resolveLocation(target, loc)
		if err != nil {
			return hresp.StatusCode, jft.Transientf(jft.CodeAPIBadResponse, "202 with an unusable Location header")
		}
		resp.Location, resp.ResourceID = abs, id
		if cmd.Kind == jft.KindAcknowledgement && id == "" {
			resp.ResourceID = cmd.ResourceID
		}
		return hresp.StatusCode, nil
	}
	return hresp.StatusCode, classifyResponse(hresp)
}

// classifyTransport turns a failed round trip into a transient error, or returns the
// caller's context error when the caller gave up.
func classifyTransport(ctx context.Context, err error) error {
	if ctx.Err() != nil && !errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
		return fmt.Errorf("writeapi send: %w", ctx.Err())
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return &jft.Error{Code: jft.CodeAPITimeout, Message: "no answer within the attempt timeout", Err: err}
	}
	return &jft.Error{Code: jft.CodeAPINetwork, Message: "connection to the WriteAPI failed", Err: err}
}

// resolveLocation makes loc absolute against the request URL and extracts the resource id
// from a /v1/<Type>/<id>/$status path.
func (c *Client) resolveLocation(req *url.URL, loc string) (string, string, error) {
	if plainAbsolutePath(loc) {
		// What the WriteAPI sends: resolving it is putting the origin in front.
		return c.origin + loc, statusID(loc), nil
	}
	u, err := url.Parse(loc)
	if err != nil {
		return "", "", err
	}
	abs := req.ResolveReference(u)
	return abs.String(), statusID(abs.Path), nil
}

// plainAbsolutePath reports whether loc is an absolute path ("/v1/...", not "//host")
// that url.ResolveReference would leave as it is: no dot segment, escape, query or fragment.
func plainAbsolutePath(loc string) bool {
	if len(loc) < 2 || loc[0] != '/' || loc[1] == '/' {
		return false
	}
	for i := 0; i < len(loc); i++ {
		switch b := loc[i]; {
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9', b == '-', b == '_', b == '~', b == '$', b == '/':
		case b == '.':
			if loc[i-1] == '/' {
				return false // "/." or "/..": a dot segment, or a name that looks like one
			}
		default:
			return false
		}
	}
	return true
}

// statusID is <id> of a path ending in /v1/<Type>/<id>/$status, else "".
func statusID(path string) string {
	p := strings.Trim(path, "/")
	var seg [4]string // the last four segments, the last first
	for k := range seg {
		i := strings.LastIndexByte(p, '/')
		if i < 0 {
			if k < len(seg)-1 {
				return "" // fewer than four segments
			}
			seg[k] = p
			break
		}
		seg[k], p = p[i+1:], p[:i]
	}
	if seg[0] != "$status" || seg[3] != "v1" {
		return ""
	}
	return seg[1]
}

// backoff is exponential with full jitter, or the server's Retry-After (capped) when longer.
func (c *Client) backoff(attempt, retryAfter int) time.Duration {
	ceil := c.cfg.BackoffBase << min(attempt-1, 30)
	if ceil > c.cfg.BackoffMax || ceil <= 0 {
		ceil = c.cfg.BackoffMax
	}
	wait := time.Duration(c.rand(int64(ceil) + 1))
	if ra := time.Duration(retryAfter) * time.Second; ra > wait {
		wait = min(ra, c.cfg.RetryAfterMax)
	}
	return wait
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
