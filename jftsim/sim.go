// Package jftsim simulates NHN's JFT WriteAPI (with the ReadAPI's status and read
// endpoints) and HelseID, from the public facts in ../shared/spec, for tests, the demo,
// benchmarks and vendors who want to test offline. Use it like net/http/httptest:
//
//	srv, err := jftsim.NewServer(jftsim.Config{Addr: "127.0.0.1:0", Environment: "test", Auth: "off", ...})
//	defer srv.Close()
//	// POST srv.URL + "/v1/Bundle" …; srv.Accepted(), srv.Stats(), srv.SetFaults(...)
//
// It is written independently of the gateway's validator and client, so it catches their
// bugs instead of mirroring them. README.md lists every rule and every assumption.
package jftsim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/jft-gateway/jft-gateway/jftsim/helseid"
)

// Scope the WriteAPI requires.
const Scope = "nhn:jft/api"

// SourceSystemTag is the meta.tag system under which nhn-source-system is returned.
const SourceSystemTag = "https://fhir.jft.nhn.no/source-system-name"

// Sim is the simulator's state and handler.
type Sim struct {
	cfg     Config
	baseURL string
	issuer  *helseid.Issuer
	store   *store
	faults  *injector
	log     *slog.Logger
	now     func() time.Time
}

// New returns a simulator whose own URL (for Location headers and the issuer) is baseURL.
func New(cfg Config, baseURL string) (*Sim, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Sim{cfg: cfg, baseURL: baseURL, store: newStore(cfg.ReadBodyBytes), faults: newInjector(faultsFrom(cfg), cfg.Seed),
		log: slog.New(slog.DiscardHandler), now: time.Now}
	if cfg.Auth == "on" {
		iss, err := helseid.NewIssuer(helseid.Config{Issuer: baseURL, TokenLifetime: cfg.TokenLifetime})
		if err != nil {
			return nil, fmt.Errorf("jftsim: helseid: %w", err)
		}
		s.issuer = iss
		if cfg.ClientsFile != "" {
			clients, err := helseid.LoadClients(cfg.ClientsFile)
			if err != nil {
				return nil, fmt.Errorf("JFT_SIM_CLIENTS_FILE: %w", err)
			}
			for _, c := range clients {
				iss.RegisterClient(c)
			}
		}
	}
	return s, nil
}

// Handler serves the WriteAPI (/v1/...), HelseID (/.well-known/..., /connect/token,
// /jwks) and the admin API (/_sim/...).
func (s *Sim) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/{type}", s.submit)
	mux.HandleFunc("POST /v1/{type}/{id}/{op}", s.acknowledge)
	mux.HandleFunc("GET /v1/{type}/{id}/{op}", s.status)
	mux.HandleFunc("GET /v1/{type}/{id}", s.read)
	mux.HandleFunc("GET /_sim/events", s.adminEvents)
	mux.HandleFunc("GET /_sim/stats", s.adminStats)
	mux.HandleFunc("GET /_sim/faults", s.adminGetFaults)
	mux.HandleFunc("PUT /_sim/faults", s.adminPutFaults)
	mux.HandleFunc("POST /_sim/reset", s.adminReset)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	if s.issuer != nil {
		h := s.issuer.Handler()
		mux.Handle("/.well-known/", h)
		mux.Handle("/connect/", h)
		mux.Handle("/jwks", h)
	}
	return mux
}

// Issuer returns the simulated HelseID, nil when auth is off.
func (s *Sim) Issuer() *helseid.Issuer { return s.issuer }

// Accepted returns the accepted events in the order they were accepted.
func (s *Sim) Accepted() []Event {
	return s.store.events()
}

// Stats returns the counters.
func (s *Sim) Stats() Stats {
	return s.store.counters()
}

// Faults returns the fault injection in force.
func (s *Sim) Faults() Faults { return s.faults.get() }

// SetFaults replaces the fault injection.
func (s *Sim) SetFaults(f Faults) error {
	if err := f.validate(); err != nil {
		return err
	}
	s.faults.set(f)
	return nil
}

// Reset forgets events and counters.
func (s *Sim) Reset() { s.store.reset() }

// Server is a simulator listening on a real socket.
type Server struct {
	*Sim
	// URL is the base URL, e.g. http://127.0.0.1:41234.
	URL string
	srv *http.Server
	ln  net.Listener
}

// NewServer listens on cfg.Addr and serves the simulator until Close.
func NewServer(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("JFT_SIM_ADDR %s: %w", cfg.Addr, err)
	}
	url := "http://" + ln.Addr().String()
	sim, err := New(cfg, url)
	if err != nil {
		ln.Close()
		return nil, err
	}
	s := &Server{Sim: sim, URL: url, ln: ln, srv: &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 10 * time.Second}}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			sim.log.Error("jft-sim serve", slog.String("error", err.Error()))
		}
	}()
	return s, nil
}

// Close stops the server at once (held requests included).
func (s *Server) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		s.srv.Close()
	}
}
