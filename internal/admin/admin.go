// Package admin serves the operator's endpoints on their own port, apart from anything a
// municipality's data passes through: /metrics (Prometheus), /healthz (liveness) and
// /readyz (readiness: group joined, brokers reachable, tokens obtainable).
//
// Liveness answers whether the process should be restarted, so it checks only that the
// gateway is running; readiness answers whether this instance is doing its work, and
// reports each check by name so that an SRE sees which one failed.
package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sort"
	"strings"
	"sync"
	"time"
)

// Off disables the admin server.
const Off = "off"

// Config is the admin server's address.
type Config struct {
	// Addr is host:port for /metrics, /healthz and /readyz (Kubernetes probes and
	// Prometheus scrape it), or "off". It serves no health data, but keep it off public
	// networks: /metrics names tenants (organisation numbers) and topics.
	Addr string `env:"JFT_ADMIN_ADDR, default=:9464"`
	// Pprof serves Go's profiles under /debug/pprof/ on the admin port, for profiling a
	// running instance. Off by default: profiles show code paths and timings (never
	// payloads), and a CPU profile costs CPU while it runs.
	Pprof bool `env:"JFT_ADMIN_PPROF, default=false"`
}

// Validate checks the address.
func (c Config) Validate() error {
	if c.Addr == Off {
		return nil
	}
	if _, port, err := net.SplitHostPort(c.Addr); err != nil || port == "" {
		return fmt.Errorf("JFT_ADMIN_ADDR: %q is not host:port (for example :9464) or off", c.Addr)
	}
	return nil
}

// Check is one readiness condition; it returns nil when satisfied.
type Check struct {
	Name string
	Func func(ctx context.Context) error
}

// Handler serves the three endpoints. live reports a gateway that should be restarted;
// every check must pass for /readyz to answer 200.
func Handler(metrics http.Handler, live func() error, checks ...Check) http.Handler {
	return newMux(metrics, live, checks)
}

// HandlerWithPprof is Handler plus Go's profiles under /debug/pprof/.
func HandlerWithPprof(metrics http.Handler, live func() error, checks ...Check) http.Handler {
	mux := newMux(metrics, live, checks)
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return mux
}

func newMux(metrics http.Handler, live func() error, checks []Check) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		status := map[string]string{"live": "ok"}
		if err := live(); err != nil {
			status["live"] = err.Error()
		}
		write(w, status)
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		status := make(map[string]string, len(checks))
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, c := range checks {
			wg.Go(func() {
				msg := "ok"
				if err := c.Func(ctx); err != nil {
					msg = err.Error()
				}
				mu.Lock()
				status[c.Name] = msg
				mu.Unlock()
			})
		}
		wg.Wait()
		write(w, status)
	})
	return mux
}

// write answers 200 when every entry is "ok", else 503, with the entries as JSON.
func write(w http.ResponseWriter, status map[string]string) {
	code := http.StatusOK
	names := make([]string, 0, len(status))
	for name, msg := range status {
		names = append(names, name)
		if msg != "ok" {
			code = http.StatusServiceUnavailable
		}
	}
	sort.Strings(names)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	out := struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}{Status: "ok", Checks: status}
	if code != http.StatusOK {
		out.Status = "failing: " + strings.Join(failing(names, status), ", ")
	}
	_ = json.NewEncoder(w).Encode(out)
}

func failing(names []string, status map[string]string) []string {
	var out []string
	for _, n := range names {
		if status[n] != "ok" {
			out = append(out, n)
		}
	}
	return out
}

// Serve listens on addr and serves h until ctx ends. ready is told the bound address
// (useful with port 0).
func Serve(ctx context.Context, addr string, h http.Handler, log *slog.Logger, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("JFT_ADMIN_ADDR: listen on %s: %w", addr, err)
	}
	if ready != nil {
		ready(ln.Addr())
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	log.Info("admin endpoints", slog.String("addr", ln.Addr().String()))
	select {
	case err := <-done:
		return fmt.Errorf("admin server: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("admin server shutdown: %w", err)
	}
	return nil
}

// Cached wraps a check whose answer may be reused for ttl (a broker ping at every probe
// would be wasteful; a stale answer by a few seconds is not).
func Cached(ttl time.Duration, f func(ctx context.Context) error) func(ctx context.Context) error {
	var mu sync.Mutex
	var at time.Time
	var last error
	return func(ctx context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		if !at.IsZero() && time.Since(at) < ttl {
			return last
		}
		last, at = f(ctx), time.Now()
		return last
	}
}
