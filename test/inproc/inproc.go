// Package inproc serves gatepass inside the test's own process, built as
// `gatepass serve` builds it: bootstrap.Load on the given environment and
// the Wire injector (bootstrap.InitializeServer), its public and admin
// handlers on free loopback ports. Behaviour tests use it: it starts in
// milliseconds and many run in parallel. Tests whose subject is the process
// itself (start-up refusals, signals, draining, the CLI) start the real
// binary with kit.Start.
//
// What the binary adds around the handlers is not here: the connection cap,
// the drain on SIGTERM, the batched log writer and the start-up lines of
// `serve`. Logs are written as they happen, so a test reads them without
// waiting for a flush.
package inproc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"testing"

	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/bootstrap"
	"github.com/gatepass/gatepass/foundation/slogctx"
	"github.com/gatepass/gatepass/test/kit"
)

// Serve serves gatepass configured by env (nothing of the test process's
// own environment is read) until the test ends, on free loopback ports
// unless env sets HTTP_ADDR or ADMIN_ADDR (to serve again where a peer
// expects it). In development, the
// development folder (DEV_DIR) is prepared first, as `serve` does.
func Serve(t testing.TB, env map[string]string) *kit.Process {
	t.Helper()
	p, err := ServeErr(t, env)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// ServeErr is Serve, returning the error instead of failing the test: the
// settings refused, or an adapter that could not be built.
func ServeErr(t testing.TB, env map[string]string) (*kit.Process, error) {
	t.Helper()
	env = kit.With(env)
	if env["APP_ENV"] == "development" && env["DEV_DIR"] == "" {
		env["DEV_DIR"] = t.TempDir()
	}
	if err := bootstrap.PrepareDevelopment(env); err != nil {
		return nil, err
	}
	cfg, err := bootstrap.Load(env)
	if err != nil {
		return nil, err
	}
	logs := &kit.Buffer{}
	logger := slog.New(slogctx.NewJSON(logs, &slog.HandlerOptions{Level: cfg.LogLevel}, application.RequestID))
	logger.Info("configuration", "env", cfg.Env, "config", cfg)

	ctx, cancel := context.WithCancel(context.Background())
	srv, cleanup, err := bootstrap.InitializeServer(ctx, cfg, logger)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("start: %w", err)
	}
	public, err := listen(env["HTTP_ADDR"], srv.Handler, cfg.HTTP, logger)
	if err != nil {
		cleanup()
		cancel()
		return nil, err
	}
	admin, err := listen(env["ADMIN_ADDR"], srv.Admin, cfg.HTTP, logger)
	if err != nil {
		public.Close()
		cleanup()
		cancel()
		return nil, err
	}
	addr := public.ln.Addr().String()
	if cfg.PublicBaseURL == "" && cfg.Development() {
		srv.PublicBase.Set("http://" + addr)
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		srv.Lifecycle.Drain()
		public.Close()
		admin.Close()
		cancel()
		cleanup()
	}
	t.Cleanup(stop)
	return kit.Served("http://"+addr, addr, "http://"+admin.ln.Addr().String(), logs, stop), nil
}

// ServeService is kit.StartService served in process: the production
// configuration (kit.ProductionEnv) on a fresh office key, trusting a fresh
// identity provider, with over applied.
func ServeService(t testing.TB, over ...map[string]string) *kit.Service {
	t.Helper()
	return kit.StartServiceWith(t, Serve, kit.NewIdentityProvider(t), over...)
}

// ServeServiceTrusting is ServeService with an identity provider the test
// set up first.
func ServeServiceTrusting(t testing.TB, idp *kit.IdentityProvider, over ...map[string]string) *kit.Service {
	t.Helper()
	return kit.StartServiceWith(t, Serve, idp, over...)
}

// server is one listener and its HTTP server.
type server struct {
	ln   net.Listener
	http *http.Server
	done chan struct{}
}

// listen serves h on addr (a free loopback port when empty) with the
// configured timeouts.
func listen(addr string, h http.Handler, c bootstrap.HTTPConfig, logger *slog.Logger) (*server, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &server{ln: ln, done: make(chan struct{}), http: &http.Server{
		Handler:           h,
		ReadHeaderTimeout: c.ReadHeaderTimeout,
		ReadTimeout:       c.ReadTimeout,
		WriteTimeout:      c.WriteTimeout,
		IdleTimeout:       c.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}}
	go func() {
		defer close(s.done)
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("serve", "error", err)
		}
	}()
	return s, nil
}

// Close closes the listener and every connection, and waits for Serve to
// return.
func (s *server) Close() {
	s.http.Close()
	<-s.done
}
