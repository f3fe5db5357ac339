package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/netutil"

	"github.com/gatepass/gatepass/adapters/devidentity"
	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/bootstrap"
	"github.com/gatepass/gatepass/foundation/logbuffer"
	"github.com/gatepass/gatepass/foundation/slogctx"
)

// headLimit is the most bytes a request's head (request line, header
// lines and their line ends) may take: over it, the answer is 431.
// net/http reads up to MaxHeaderBytes plus 4 KiB of slop, so MaxHeaderBytes
// is set that much lower.
const (
	headLimit      = 16 << 10
	maxHeaderBytes = headLimit - 4<<10
)

const serveUsage = `Usage:
  gatepass serve

Starts the HTTP server. Every setting comes from the environment (see
docs/configuration.md); APP_ENV=development runs with no setting at all, on 127.0.0.1:8080
unless HTTP_ADDR says otherwise. Metrics, /healthz and /readyz are served on
ADMIN_ADDR (default 127.0.0.1:9090). SIGTERM or SIGINT drains and stops it.
`

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newFlags("serve", serveUsage)
	if err := c.parse(args, stdout); err != nil {
		return err
	}
	if c.NArg() != 0 {
		return errors.New("serve: takes no argument; the configuration is the environment")
	}
	// Development keys are made here, on the start path, once; loading
	// the settings only reads them.
	if err := bootstrap.PrepareDevelopment(nil); err != nil {
		return err
	}
	cfg, err := bootstrap.Load(nil)
	if err != nil {
		return err
	}
	info, _ := debug.ReadBuildInfo()
	b := currentBuild(info)
	cfg.Build = bootstrap.BuildInfo{Version: b.Version, Commit: b.Commit}
	// Log lines gather in memory and are written in batches, off the
	// request's path; the deferred Close writes the rest once the servers
	// have stopped (it runs after every other defer), so an orderly
	// shutdown, or a failed start, loses no line. See foundation/logbuffer
	// for what a SIGKILL can lose.
	logOut := logbuffer.New(stderr, logbuffer.DefaultInterval)
	defer logOut.Close()
	logger := newLogger(logOut, cfg.LogLevel)
	logger.Info("configuration", "env", cfg.Env, "config", cfg)
	if len(cfg.UnknownVariables) > 0 {
		// Names only: a typo's value may be a secret.
		names := make([]string, len(cfg.UnknownVariables))
		for i, u := range cfg.UnknownVariables {
			names[i] = u.String()
		}
		logger.Warn("environment variables that gatepass does not read, ignored (GATEPASS_STRICT_ENV=true refuses them): "+strings.Join(names, ", "),
			"unknown_variables", names)
	}

	srv, cleanup, err := bootstrap.InitializeServer(ctx, cfg, logger)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	defer cleanup()

	maxConns, err := connectionCap(cfg.HTTP.MaxConnections)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (choose another address with HTTP_ADDR)", cfg.HTTP.Addr, err)
	}
	// Connections over the cap wait in the accept queue. The admin
	// listener stays outside the cap, so probes and scrapes get through.
	ln = netutil.LimitListener(ln, maxConns)
	adminLn, err := net.Listen("tcp", cfg.AdminAddr)
	if err != nil {
		ln.Close()
		return fmt.Errorf("listen on ADMIN_ADDR %s: %w (choose another address with ADMIN_ADDR)", cfg.AdminAddr, err)
	}
	adminServer := newHTTPServer(srv.Admin, cfg.HTTP, logger)
	httpServer := newHTTPServer(srv.Handler, cfg.HTTP, logger)
	httpServer.ConnState = newIdleCloser(maxConns).connState
	httpServer.BaseContext = func(net.Listener) context.Context { return context.WithoutCancel(ctx) }
	serveErr := make(chan error, 2)
	switch {
	case cfg.PublicBaseURL != "":
	case cfg.Development():
		// The metadata's issuer is the listener's address in development.
		srv.PublicBase.Set("http://" + loopbackAddr(ln.Addr()))
	default:
		logger.Info("OAuth metadata off: /.well-known/oauth-authorization-server answers 404 until PUBLIC_BASE_URL names where clients reach gatepass")
	}
	go func() { serveErr <- httpServer.Serve(ln) }()
	go func() { serveErr <- adminServer.Serve(adminLn) }()
	logger.Info("gatepass serving", "addr", ln.Addr().String(), "admin_addr", adminLn.Addr().String(), "max_connections", maxConns,
		"signer", srv.Backend.Name, "office_kid", srv.Office.KeyID(), "office_alg", srv.Office.Algorithm())
	if srv.Dev != nil {
		if err := printDevWelcome(stdout, srv.Dev, cfg, ln.Addr()); err != nil {
			logger.Warn("development welcome", "error", err)
		}
	}

	select {
	case err := <-serveErr:
		httpServer.Close()
		adminServer.Close()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	// Drain: readiness turns off and responses ask keep-alive clients to
	// close their connection, so clients and load balancers move on; after
	// HTTP_DRAIN_DELAY, Shutdown closes the listeners (new connections are
	// refused) and waits for in-flight requests to complete.
	logger.Info("shutting down", "drain", cfg.HTTP.DrainDelay.String(), "timeout", cfg.HTTP.ShutdownTimeout.String())
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.HTTP.ShutdownTimeout)
	defer cancel()
	srv.Lifecycle.Drain()
	if cfg.HTTP.DrainDelay > 0 {
		time.Sleep(cfg.HTTP.DrainDelay)
	}
	errs := make(chan error, 2)
	go func() { errs <- adminServer.Shutdown(shutdownCtx) }()
	go func() { errs <- httpServer.Shutdown(shutdownCtx) }()
	for range 2 {
		if err := <-errs; err != nil {
			return fmt.Errorf("shutdown: %w", err)
		}
	}
	for range 2 {
		if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve: %w", err)
		}
	}
	logger.Info("stopped")
	return nil
}

// newHTTPServer is one listener's server with the configured timeouts.
func newHTTPServer(h http.Handler, c bootstrap.HTTPConfig, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: c.ReadHeaderTimeout,
		ReadTimeout:       c.ReadTimeout,
		WriteTimeout:      c.WriteTimeout,
		IdleTimeout:       c.IdleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// connectionCap is the public listener's cap on open connections:
// configured, or 80% of the open-file limit, which is first raised to its
// hard limit; the rest is left for the admin listener, Redis, the identity
// provider and the process's own files.
func connectionCap(configured int) (int, error) {
	if configured > 0 {
		return configured, nil
	}
	files, err := raiseFileLimit()
	if err != nil {
		return 0, fmt.Errorf("open-file limit: %w (set HTTP_MAX_CONNECTIONS)", err)
	}
	return int(min(max(files*8/10, 1), 1<<24)), nil
}

// idleCloser closes idle keep-alive connections, oldest first, once the
// public listener nears its cap, so that new clients are not held in the
// accept queue behind connections doing nothing. Each open connection has
// one node, made when it opens; a request moves it out of and back into
// the idle list, with no allocation.
type idleCloser struct {
	high int // open connections from which idle ones are closed

	mu    sync.Mutex
	conns map[net.Conn]*connNode
	idle  connNode // sentinel of a ring of idle connections, longest idle first
	nIdle int
}

type connNode struct {
	c          net.Conn
	prev, next *connNode
}

func newIdleCloser(limit int) *idleCloser {
	t := &idleCloser{high: max(limit*9/10, 1), conns: map[net.Conn]*connNode{}}
	t.idle.prev, t.idle.next = &t.idle, &t.idle
	return t
}

// connState is the http.Server's ConnState hook.
func (t *idleCloser) connState(c net.Conn, s http.ConnState) {
	var victim net.Conn
	t.mu.Lock()
	switch s {
	case http.StateNew:
		t.conns[c] = &connNode{c: c}
		if len(t.conns) >= t.high && t.nIdle > 0 {
			oldest := t.idle.next
			t.unlink(oldest)
			delete(t.conns, oldest.c)
			victim = oldest.c
		}
	case http.StateIdle:
		if n := t.conns[c]; n != nil {
			t.unlink(n)
			n.prev, n.next = t.idle.prev, &t.idle
			t.idle.prev.next = n
			t.idle.prev = n
			t.nIdle++
		}
	case http.StateActive:
		if n := t.conns[c]; n != nil {
			t.unlink(n)
		}
	case http.StateHijacked, http.StateClosed:
		if n := t.conns[c]; n != nil {
			t.unlink(n)
			delete(t.conns, c)
		}
	}
	t.mu.Unlock()
	if victim != nil {
		// The server sees the connection end and reports it closed.
		_ = victim.Close()
	}
}

// unlink takes n out of the idle ring if it is there; the caller holds mu.
func (t *idleCloser) unlink(n *connNode) {
	if n.next == nil {
		return
	}
	n.prev.next, n.next.prev = n.next, n.prev
	n.prev, n.next = nil, nil
	t.nIdle--
}

// newLogger writes JSON lines; a line logged with a request's context
// names the request's id.
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slogctx.NewJSON(w, &slog.HandlerOptions{Level: level}, application.RequestID))
}

// printDevWelcome prints a ready-to-paste curl for each endpoint, with a
// development identity token the server accepts.
func printDevWelcome(w io.Writer, dev *bootstrap.DevKit, cfg bootstrap.Config, addr net.Addr) error {
	devDir := cfg.DevDir
	token, err := devidentity.Mint(dev.IdentityKey, devidentity.Identity{
		UserID: "user_dev_01", OrgID: "org_dev_01", Role: "admin",
	}, time.Now(), 12*time.Hour)
	if err != nil {
		return err
	}
	base := "http://" + loopbackAddr(addr)
	var b strings.Builder
	fmt.Fprintf(&b, "\ngatepass is running in development mode on %s\n", base)
	fmt.Fprintf(&b, "Development identity: user_dev_01 in org_dev_01 as admin (token valid 12h).\n")
	if abs, err := filepath.Abs(devDir); err == nil {
		devDir = abs
	}
	fmt.Fprintf(&b, "Mint others with:\n  APP_ENV=development DEV_DIR=%s bin/gatepass dev-token --user USER --org ORG --role ROLE\n\n", devDir)
	welcome := bootstrap.Welcome{Base: base, Token: token, DevDir: devDir}
	b.WriteString(cfg.TransportBanner(bootstrap.BannerWithGrants, welcome))
	fmt.Fprintf(&b, "Any grant through OAuth 2.0 token exchange (metadata at %s/.well-known/oauth-authorization-server):\n", base)
	fmt.Fprintf(&b, "  curl -sS -X POST %s/oauth2/token -d grant_type=urn:ietf:params:oauth:grant-type:token-exchange -d subject_token_type=urn:ietf:params:oauth:token-type:access_token -d audience=office-router -d subject_token=%s\n\n", base, token)
	b.WriteString(cfg.TransportBanner(bootstrap.BannerAfterExchange, welcome))
	_, err = io.WriteString(w, b.String())
	return err
}

// loopbackAddr names a listener bound to all interfaces by its loopback
// address, which a curl on the same machine reaches.
func loopbackAddr(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return addr.String()
	}
	return fmt.Sprintf("127.0.0.1:%d", tcp.Port)
}
