//go:build bench

// Command bench is the HTTP ceiling of scripts/bench.sh: a bare gin engine,
// no middleware, answering POST on the realtime-token route with a
// constant JSON body the size of a real realtime-token response, behind an
// http.Server configured like gatepass's. What gatepass serves per second
// is compared with what this serves on the same core with the same load.
//
// It sits behind the "bench" build tag because gin belongs to the ginhttp
// adapter everywhere else (test/architecture checks that); build it with
// `go build -tags bench ./test/bench`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8081", "listen `address`")
	size := fs.Int("body-bytes", 430, "size of the JSON response body")
	route := fs.String("route", "/api/v1/realtime/token", "route answered with POST")
	status := fs.Int("status", http.StatusOK, "status of the answer (201 to stand in for the LiveKit token endpoint)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	body, err := constantBody(*size)
	if err != nil {
		return err
	}
	if *status < 200 || *status > 299 {
		return fmt.Errorf("-status must be a 2xx status, got %d", *status)
	}

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.POST(*route, func(c *gin.Context) {
		c.Data(*status, "application/json; charset=utf-8", body)
	})
	r.GET("/healthz", func(c *gin.Context) {
		c.Data(http.StatusOK, "application/json; charset=utf-8", []byte(`{"status":"ok"}`))
	})

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	// The timeouts and header limit of `gatepass serve`, so the two
	// servers differ only in their handlers.
	srv := &http.Server{
		Handler:           r,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(os.Stderr, "bench: serving %d-byte bodies on %s\n", len(body), ln.Addr())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// constantBody is a realtime-token-shaped JSON object of exactly size
// bytes: the token field is padded to fit.
func constantBody(size int) ([]byte, error) {
	const shape = `{"token":"%s","tokenType":"Bearer","expiresIn":3600,"expiresAt":"2026-11-29T11:00:00Z"}`
	pad := size - len(fmt.Sprintf(shape, ""))
	if pad < 0 || size > 1<<20 {
		return nil, fmt.Errorf("-body-bytes must be between %d and 1 MiB", size-pad)
	}
	return []byte(fmt.Sprintf(shape, strings.Repeat("x", pad))), nil
}
