package admin

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

type answer struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

func call(t *testing.T, h http.Handler, path string) (int, answer) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	var a answer
	if path != "/metrics" {
		if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
			t.Fatalf("%s: %v: %s", path, err, rec.Body.String())
		}
	}
	return rec.Code, a
}

func TestReadinessFollowsEveryCheck(t *testing.T) {
	var joined, tokens atomic.Bool
	h := Handler(http.NotFoundHandler(), func() error { return nil },
		Check{Name: "group", Func: func(context.Context) error {
			if !joined.Load() {
				return errors.New("not a member yet")
			}
			return nil
		}},
		Check{Name: "tokens", Func: func(context.Context) error {
			if !tokens.Load() {
				return errors.New("no token")
			}
			return nil
		}},
	)
	steps := []struct {
		joined, tokens bool
		want           int
		failing        string
	}{
		{false, false, http.StatusServiceUnavailable, "failing: group, tokens"},
		{true, false, http.StatusServiceUnavailable, "failing: tokens"},
		{true, true, http.StatusOK, "ok"},
		{false, true, http.StatusServiceUnavailable, "failing: group"},
	}
	for _, s := range steps {
		joined.Store(s.joined)
		tokens.Store(s.tokens)
		code, a := call(t, h, "/readyz")
		if code != s.want || a.Status != s.failing {
			t.Errorf("joined=%v tokens=%v: %d %q, want %d %q", s.joined, s.tokens, code, a.Status, s.want, s.failing)
		}
		if s.joined && a.Checks["group"] != "ok" || !s.joined && a.Checks["group"] != "not a member yet" {
			t.Errorf("group check reported as %q", a.Checks["group"])
		}
	}
}

func TestLivenessFollowsTheGateway(t *testing.T) {
	var failed atomic.Bool
	h := Handler(http.NotFoundHandler(), func() error {
		if failed.Load() {
			return errors.New("gateway: kafka client closed")
		}
		return nil
	})
	if code, _ := call(t, h, "/healthz"); code != http.StatusOK {
		t.Errorf("live gateway: %d", code)
	}
	failed.Store(true)
	if code, a := call(t, h, "/healthz"); code != http.StatusServiceUnavailable || !strings.Contains(a.Checks["live"], "closed") {
		t.Errorf("failed gateway: %d %+v", code, a)
	}
}

func TestCachedReusesTheAnswerWithinTTL(t *testing.T) {
	var calls atomic.Int32
	f := Cached(time.Hour, func(context.Context) error { calls.Add(1); return nil })
	for i := 0; i < 5; i++ {
		_ = f(context.Background())
	}
	if calls.Load() != 1 {
		t.Errorf("%d calls within the TTL, want 1", calls.Load())
	}
	g := Cached(0, func(context.Context) error { calls.Add(1); return nil })
	_, _ = g(context.Background()), g(context.Background())
	if calls.Load() != 3 {
		t.Errorf("%d calls with no TTL, want 3", calls.Load())
	}
}

func TestServeAnswersAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	addrCh := make(chan net.Addr, 1)
	done := make(chan error, 1)
	h := Handler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "m 1\n") }), func() error { return nil })
	go func() {
		done <- Serve(ctx, "127.0.0.1:0", h, slog.New(slog.DiscardHandler), func(a net.Addr) { addrCh <- a })
	}()
	addr := <-addrCh
	resp, err := http.Get("http://" + addr.String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "m 1\n" {
		t.Errorf("/metrics answered %q", b)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

func TestConfigNamesTheVariable(t *testing.T) {
	for addr, ok := range map[string]bool{":9464": true, "127.0.0.1:0": true, "off": true, "9464": false, "": false, "host:": false} {
		err := Config{Addr: addr}.Validate()
		if (err == nil) != ok || err != nil && !strings.Contains(err.Error(), "JFT_ADMIN_ADDR") {
			t.Errorf("%q: %v", addr, err)
		}
	}
}

func TestPprofOnlyWhenAsked(t *testing.T) {
	live := func() error { return nil }
	if code, _ := fetchCode(Handler(http.NotFoundHandler(), live), "/debug/pprof/"); code != http.StatusNotFound {
		t.Errorf("profiles served without JFT_ADMIN_PPROF: %d", code)
	}
	if code, body := fetchCode(HandlerWithPprof(http.NotFoundHandler(), live), "/debug/pprof/"); code != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Errorf("profiles not served with JFT_ADMIN_PPROF: %d", code)
	}
}

func fetchCode(h http.Handler, path string) (int, string) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, rec.Body.String()
}
