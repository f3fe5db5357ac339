package bootstrap

import (
	"context"
	"log/slog"

	"github.com/gatepass/gatepass/adapters/prom"
	"github.com/gatepass/gatepass/application"
)

// backgroundService is work that runs beside the HTTP server for as long as
// it serves, such as an inbound adapter that takes requests over another
// protocol. Start returns once it runs; Stop returns once it has stopped.
type backgroundService interface {
	Start(ctx context.Context) error
	Stop()
}

// backgroundStarter makes a transport's background service for cfg over
// the use cases; nil when the transport runs none in this deployment.
type backgroundStarter func(cfg Config, app *application.Application, m *prom.Metrics, logger *slog.Logger) (backgroundService, error)

// backgroundStarters are registered from the transports' own files.
var backgroundStarters []backgroundStarter

// registerBackground registers a background service's starter; it is
// called from a transport's file as `var _ = registerBackground(...)`.
func registerBackground(s backgroundStarter) struct{} {
	backgroundStarters = append(backgroundStarters, s)
	return struct{}{}
}

// Background is the background services started with the server.
type Background struct {
	running []backgroundService
}

// ProvideBackground starts every registered background service that cfg
// enables; the cleanup stops them, the last started first. A service that
// cannot start stops the ones started before it.
func ProvideBackground(ctx context.Context, cfg Config, app *application.Application, m *prom.Metrics, logger *slog.Logger) (*Background, func(), error) {
	b := &Background{}
	stop := func() {
		for i := len(b.running) - 1; i >= 0; i-- {
			b.running[i].Stop()
		}
		b.running = nil
	}
	for _, start := range backgroundStarters {
		svc, err := start(cfg, app, m, logger)
		if err == nil && svc != nil {
			err = svc.Start(ctx)
		}
		if err != nil {
			stop()
			return nil, nil, err
		}
		if svc != nil {
			b.running = append(b.running, svc)
		}
	}
	return b, stop, nil
}
