// Package prom exposes gatepass's metrics with
// github.com/prometheus/client_golang, all named gatepass_*, and
// instruments the outbound ports (signers, rate limiter) with decorators.
package prom

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatepass/gatepass/domain"
)

// Metrics is gatepass's registry and its instruments.
type Metrics struct {
	reg               *prometheus.Registry
	grants            *prometheus.CounterVec
	requests          *prometheus.HistogramVec
	signer            *prometheus.HistogramVec
	signerErrors      *prometheus.CounterVec
	identityRefreshes *prometheus.CounterVec
	rateLimited       *prometheus.CounterVec
	limiterErrors     prometheus.Counter
}

// New registers gatepass's metrics, plus the Go runtime and process
// collectors, in a registry of its own.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	latency := []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}
	m := &Metrics{
		reg: reg,
		grants: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatepass_grants_total", Help: "Grant requests by kind (office, realtime) and result (issued or the problem code).",
		}, []string{"kind", "result"}),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gatepass_http_request_duration_seconds", Help: "HTTP request latency by route, method and status code.", Buckets: latency,
		}, []string{"route", "method", "code"}),
		signer: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gatepass_signer_duration_seconds", Help: "Time to sign one grant, by kind.", Buckets: latency,
		}, []string{"kind"}),
		signerErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatepass_signer_errors_total", Help: "Signing failures by kind.",
		}, []string{"kind"}),
		identityRefreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatepass_identity_key_refreshes_total", Help: "Fetches of the identity provider's JWKS by result (ok, error).",
		}, []string{"result"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatepass_rate_limit_rejections_total", Help: "Requests refused for a spent budget, by limit (office, realtime, authfail).",
		}, []string{"limit"}),
		limiterErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gatepass_rate_limiter_errors_total", Help: "Rate-limit store (Redis) errors.",
		}),
	}
	reg.MustRegister(m.grants, m.requests, m.signer, m.signerErrors, m.identityRefreshes, m.rateLimited, m.limiterErrors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry is the registry, for tests.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// ObserveRequest records one HTTP request.
func (m *Metrics) ObserveRequest(route, method string, status int, elapsed time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Observe(elapsed.Seconds())
}

// GrantIssued counts one grant attempt.
func (m *Metrics) GrantIssued(kind domain.GrantKind, result string) {
	m.grants.WithLabelValues(kind.String(), result).Inc()
}

// IdentityRefresh counts one fetch of the identity JWKS.
func (m *Metrics) IdentityRefresh(err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.identityRefreshes.WithLabelValues(result).Inc()
}

type officeSigner struct {
	next domain.OfficeSigner
	m    *Metrics
}

// OfficeSigner times next.
func (m *Metrics) OfficeSigner(next domain.OfficeSigner) domain.OfficeSigner {
	return officeSigner{next: next, m: m}
}

func (s officeSigner) SignOffice(ctx context.Context, c domain.OfficeClaims) (string, error) {
	start := time.Now()
	tok, err := s.next.SignOffice(ctx, c)
	s.m.signer.WithLabelValues(domain.GrantOffice.String()).Observe(time.Since(start).Seconds())
	if err != nil {
		s.m.signerErrors.WithLabelValues(domain.GrantOffice.String()).Inc()
	}
	return tok, err
}

type realtimeSigner struct {
	next domain.RealtimeSigner
	m    *Metrics
}

// RealtimeSigner times next.
func (m *Metrics) RealtimeSigner(next domain.RealtimeSigner) domain.RealtimeSigner {
	return realtimeSigner{next: next, m: m}
}

func (s realtimeSigner) SignRealtime(ctx context.Context, c domain.RealtimeClaims) (string, error) {
	start := time.Now()
	tok, err := s.next.SignRealtime(ctx, c)
	s.m.signer.WithLabelValues(domain.GrantRealtime.String()).Observe(time.Since(start).Seconds())
	if err != nil {
		s.m.signerErrors.WithLabelValues(domain.GrantRealtime.String()).Inc()
	}
	return tok, err
}

type limiter struct {
	next    domain.RateLimiter
	m       *Metrics
	log     *slog.Logger
	every   time.Duration
	lastLog atomic.Int64
}

// RateLimiter counts next's refusals and store errors, and logs store
// errors at most once per interval so a Redis outage does not flood logs.
func (m *Metrics) RateLimiter(next domain.RateLimiter, logger *slog.Logger, logEvery time.Duration) domain.RateLimiter {
	return &limiter{next: next, m: m, log: logger, every: logEvery}
}

func (l *limiter) Allow(ctx context.Context, key string, limit domain.Limit) (domain.Decision, error) {
	d, err := l.next.Allow(ctx, key, limit)
	l.observe(ctx, limit.Scope, d, err)
	return d, err
}

func (l *limiter) observe(ctx context.Context, scope domain.LimitScope, d domain.Decision, err error) {
	switch {
	case err != nil:
		l.m.limiterErrors.Inc()
		if errors.Is(err, domain.ErrLimiterUnavailable) {
			now := time.Now().UnixNano()
			last := l.lastLog.Load()
			if now-last >= int64(l.every) && l.lastLog.CompareAndSwap(last, now) {
				l.log.WarnContext(ctx, "rate limiter unavailable", "error", err)
			}
		}
	case !d.Allowed:
		l.m.rateLimited.WithLabelValues(string(scope)).Inc()
	}
}

// RateLimitRejections is the rejection counter of one limit, for tests.
func (m *Metrics) RateLimitRejections(scope domain.LimitScope) prometheus.Counter {
	return m.rateLimited.WithLabelValues(string(scope))
}

// LimiterErrors is the rate-limit store error counter, for tests.
func (m *Metrics) LimiterErrors() prometheus.Counter { return m.limiterErrors }
