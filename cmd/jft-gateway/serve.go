package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/jft-gateway/jft-gateway/internal/admin"
	"github.com/jft-gateway/jft-gateway/internal/gateway"
	"github.com/jft-gateway/jft-gateway/internal/telemetry"
)

// serve runs the gateway with the configuration from getenv until ctx ends.
func serve(ctx context.Context, getenv func(string) string, stderr io.Writer) error {
	cfg, err := gateway.Load(ctx, getenv)
	if err != nil {
		return err
	}
	return runGateway(ctx, cfg, getenv, stderr, gateway.Deps{})
}

// runGateway sets up logging and tracing, then runs one gateway instance until ctx ends.
func runGateway(ctx context.Context, cfg gateway.Config, getenv func(string) string, stderr io.Writer, deps gateway.Deps) error {
	log, err := telemetry.NewLogger(stderr, cfg.Log.Format, cfg.Log.Level)
	if err != nil {
		return fmt.Errorf("JFT_LOG_FORMAT/JFT_LOG_LEVEL: %w", err)
	}
	tracing, err := telemetry.Setup(ctx, "jft-gateway", version, getenv)
	if err != nil {
		return err
	}
	defer func() {
		if err := tracing.Shutdown(context.WithoutCancel(ctx)); err != nil {
			log.Warn("tracing shutdown", slog.String("error", err.Error()))
		}
	}()
	deps.Logger = log
	deps.TracerProvider = tracing.Provider
	deps.Propagator = tracing.Propagator
	deps.RootsUnsampled = tracing.RootsUnsampled
	g, err := gateway.New(ctx, cfg, deps)
	if err != nil {
		return err
	}
	log.Info("gateway starting", slog.Any("brokers", cfg.Consumer.Brokers), slog.String("group", cfg.Consumer.Group),
		slog.String("environment", cfg.Transform.Environment), slog.String("writeapi", cfg.WriteAPI.BaseURL))
	adminDone := make(chan error, 1)
	actx, stopAdmin := context.WithCancel(ctx)
	if cfg.Admin.Addr != admin.Off {
		go func() { adminDone <- admin.Serve(actx, cfg.Admin.Addr, g.AdminHandler(), log, nil) }()
	} else {
		adminDone <- nil
	}
	err = g.Run(ctx)
	stopAdmin()
	if aerr := <-adminDone; aerr != nil && err == nil {
		err = aerr
	}
	log.Info("gateway stopped")
	return err
}
