//go:build bench

package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatepass/gatepass/adapters/devidentity"
	"github.com/gatepass/gatepass/adapters/ginhttp"
	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/bootstrap"
	"github.com/gatepass/gatepass/foundation/logbuffer"
	"github.com/gatepass/gatepass/foundation/slogctx"
)

// BenchmarkRouter serves the grant endpoints in process through the
// very handler `gatepass serve` builds (bootstrap.InitializeServer, the
// development configuration, rate limits off), without the socket: the
// profile scripts/bench.sh takes of it shows where a request's CPU time
// goes. Besides ns/op it reports cpu-ns/op, the CPU time per request.
// JWT_SIGNER, LOG_LEVEL and DEV_DIR are taken from the environment
// (a DEV_DIR that already holds the development keys keeps their
// generation out of the profile); request logs go to a file through the
// same buffered writer and handlers as the server's go to its stderr.
func BenchmarkRouter(b *testing.B) {
	env := map[string]string{
		"APP_ENV":            "development",
		"DEV_DIR":            b.TempDir(),
		"RATE_LIMIT_ENABLED": "false",
		"ADMIN_API_TOKEN":    benchAdminToken,
	}
	for _, k := range []string{"JWT_SIGNER", "LOG_LEVEL", "DEV_DIR"} {
		if v := os.Getenv(k); v != "" {
			env[k] = v
		}
	}
	if err := bootstrap.PrepareDevelopment(env); err != nil {
		b.Fatal(err)
	}
	cfg, err := bootstrap.Load(env)
	if err != nil {
		b.Fatal(err)
	}
	logs, err := os.Create(filepath.Join(b.TempDir(), "gatepass.log"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { logs.Close() })
	// As serve builds it: buffered lines, the request id on each.
	logOut := logbuffer.New(logs, logbuffer.DefaultInterval)
	b.Cleanup(func() { logOut.Close() })
	logger := slog.New(slogctx.NewJSON(logOut, &slog.HandlerOptions{Level: cfg.LogLevel}, application.RequestID))

	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	srv, cleanup, err := bootstrap.InitializeServer(ctx, cfg, logger)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(cleanup)
	if srv.Dev == nil {
		b.Fatal("the development configuration did not verify callers locally")
	}
	bearer, err := devidentity.Mint(srv.Dev.IdentityKey, devidentity.Identity{
		UserID: "user_bench", OrgID: "org_bench", Role: "member",
	}, time.Now(), time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("signer %s", srv.Backend.Name)

	// The development configuration enables LiveKit and Centrifugo on
	// their default addresses.
	// realtime-revocations is last: the revocations it records stay.
	for _, route := range []struct {
		name, path, body string
		status           int
		revocations      int
	}{
		{"office", ginhttp.RouteOfficeAccess, "", http.StatusOK, 0},
		{"realtime", ginhttp.RouteRealtimeToken, "", http.StatusOK, 0},
		{"livekit", ginhttp.RouteLiveKitToken, `{"room_name":"r"}`, http.StatusCreated, 0},
		{"centrifugo", ginhttp.RouteCentrifugoConnectionToken, "", http.StatusOK, 0},
		{"realtime-revocations", ginhttp.RouteRealtimeToken, "", http.StatusOK, benchRevocations},
	} {
		b.Run(route.name, func(b *testing.B) {
			recordRevocations(b, srv.Admin, route.revocations)
			b.ReportAllocs()
			cpu0 := processCPU(b)
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, route.path, strings.NewReader(route.body))
				req.RemoteAddr = "127.0.0.1:40000"
				req.Header.Set("Authorization", "Bearer "+bearer)
				if route.body != "" {
					req.Header.Set("Content-Type", "application/json")
				}
				rec := httptest.NewRecorder()
				srv.Handler.ServeHTTP(rec, req)
				if rec.Code != route.status {
					b.Fatalf("%s: status %d: %s", route.path, rec.Code, rec.Body)
				}
			}
			b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// benchRevocations is how many revocations realtime-revocations checks
// each grant against, as make bench's A/B run stores; benchAdminToken
// lets the benchmark record them through the admin API.
const (
	benchRevocations = 10_000
	benchAdminToken  = "bench-admin-token-0123456789abcdef0123456789"
)

// recordRevocations records n session revocations of users other than
// the benchmark's through admin's API, once per process: none refuses the
// benchmark's caller, and none has a live connection to evict.
func recordRevocations(b *testing.B, admin http.Handler, n int) {
	b.Helper()
	for i := revocationsRecorded; i < n; i++ {
		body := fmt.Sprintf(`{"user_id":"bench_revoked_%d","org_id":"bench","session_id":"bench","reason":"benchmark"}`, i)
		req := httptest.NewRequest(http.MethodPost, "/admin/v1/revocations", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+benchAdminToken)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		admin.ServeHTTP(rec, req)
		if rec.Code != http.StatusAccepted {
			b.Fatalf("recording revocation %d: status %d: %s", i, rec.Code, rec.Body)
		}
		revocationsRecorded = i + 1
	}
	runtime.GC()
}

var revocationsRecorded int

// processCPU is the CPU time this process has used, every thread (the
// garbage collector's too). Unlike ns/op, cpu-ns/op does not grow when
// another process shares the core, so it is the figure to compare on a
// busy machine.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
