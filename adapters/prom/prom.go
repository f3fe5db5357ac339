// Package prom exposes gatepass's metrics with
// github.com/prometheus/client_golang, all named gatepass_*: it is the
// application's signature meter (domain.SignatureMeter) and instruments
// the rate limiter with a decorator.
package prom

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
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
	authFailures      *prometheus.CounterVec
	requests          *prometheus.HistogramVec
	signer            *prometheus.HistogramVec
	signerErrors      *prometheus.CounterVec
	signingKey        *prometheus.GaugeVec
	identityRefreshes *prometheus.CounterVec
	identityRefreshed prometheus.Gauge
	identityCache     *prometheus.CounterVec
	rateLimited       *prometheus.CounterVec
	limiterErrors     prometheus.Counter
	// keyCount tells how many identity keys are in hand; nil until
	// IdentityKeys is called.
	keyCount atomic.Pointer[func(context.Context) int]
	now      func() time.Time

	// The children of the vectors counted on every request, by label
	// set: a map read under a read lock, rather than WithLabelValues
	// hashing the values and searching the vector each time.
	requestSeries *series[requestLabels, prometheus.Observer]
	grantSeries   *series[grantLabels, prometheus.Counter]
	cacheHits     prometheus.Counter
	cacheMisses   prometheus.Counter
}

type requestLabels struct {
	route, method string
	status        int
}

type grantLabels struct {
	kind   domain.GrantKind
	result string
}

// series caches a vector's child per label set. The label sets are closed
// (routes, methods and status codes of the router; grant kinds and
// results), so the map stays as small as the vector.
type series[K comparable, V any] struct {
	mu    sync.RWMutex
	m     map[K]V
	child func(K) V
}

func newSeries[K comparable, V any](child func(K) V) *series[K, V] {
	return &series[K, V]{m: map[K]V{}, child: child}
}

// of is the child for k.
func (s *series[K, V]) of(k K) V {
	s.mu.RLock()
	v, ok := s.m[k]
	s.mu.RUnlock()
	if ok {
		return v
	}
	v = s.child(k)
	s.mu.Lock()
	s.m[k] = v
	s.mu.Unlock()
	return v
}

// Label values of the metrics, beside grant kinds, budgets and what
// Declare is given.
const (
	resultOK    = "ok"
	resultError = "error"
	cacheHit    = "hit"
	cacheMiss   = "miss"
)

// New registers gatepass's metrics, plus the Go runtime and process
// collectors, in a registry of its own. Every counter series of a label
// value known here (grant kinds, limits, signer kinds, refresh and cache
// results) exists at zero from the start, so an alert on its rate works
// before the first event; Declare adds the values the HTTP adapter knows.
func New() *Metrics { return NewWithBuild(Build{}) }

// Build names the running build for gatepass_build_info; an empty field is
// taken from the binary's recorded build information.
type Build struct {
	Version string
	Commit  string
}

// NewWithBuild is New with the build's version and commit as the binary
// was stamped (-ldflags), which the recorded build information may lack.
func NewWithBuild(b Build) *Metrics {
	reg := prometheus.NewRegistry()
	latency := []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}
	m := &Metrics{
		reg: reg,
		now: time.Now,
		grants: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatepass_grants_total", Help: "Grant requests by kind (office, realtime, ...) and result (issued or the problem code).",
		}, []string{"kind", "result"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatepass_auth_failures_total", Help: "Requests answered 401 or 403, by the reason the request log names.",
		}, []string{"reason"}),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gatepass_http_request_duration_seconds", Help: "HTTP request latency by route, method and status code.", Buckets: latency,
		}, []string{"route", "method", "code"}),
		signer: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gatepass_signer_duration_seconds", Help: "Time to sign one grant, by kind.", Buckets: latency,
		}, []string{"kind"}),
		signerErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatepass_signer_errors_total", Help: "Signing failures by kind.",
		}, []string{"kind"}),
		signingKey: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gatepass_signing_key_info", Help: "The key that signs office grants (value 1): its kid, algorithm and signer (go, openssl, pkcs11).",
		}, []string{"kid", "algorithm", "signer"}),
		identityRefreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatepass_identity_key_refreshes_total", Help: "Fetches of the identity provider's JWKS by result (ok, error).",
		}, []string{"result"}),
		identityRefreshed: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gatepass_identity_keys_last_refresh_timestamp_seconds", Help: "Unix time of the last successful fetch of the identity JWKS; 0 before the first.",
		}),
		identityCache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatepass_identity_cache_requests_total", Help: "Lookups in the cache of verified access tokens, by result (hit, miss).",
		}, []string{"result"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatepass_rate_limit_rejections_total", Help: "Requests refused for a spent budget, by limit (a grant kind, authfail).",
		}, []string{"limit"}),
		limiterErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gatepass_rate_limiter_errors_total", Help: "Rate-limit store (Redis) errors.",
		}),
	}
	keysLoaded := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "gatepass_identity_keys_loaded", Help: "Identity provider keys in hand to verify callers; 0 while none has loaded.",
	}, m.identityKeyCount)
	version, commit, goVersion := buildLabels()
	if b.Version != "" {
		version = b.Version
	}
	if b.Commit != "" {
		commit = b.Commit
	}
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "gatepass_build_info", Help: "The running build (value 1): module version, VCS commit and Go version.",
	}, []string{"version", "commit", "goversion"})
	build.WithLabelValues(version, commit, goVersion).Set(1)
	reg.MustRegister(m.grants, m.authFailures, m.requests, m.signer, m.signerErrors, m.signingKey,
		m.identityRefreshes, m.identityRefreshed, m.identityCache, keysLoaded, build, m.rateLimited, m.limiterErrors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	// Every kind's signer is timed (MeterSignatures).
	for _, kind := range domain.GrantKinds() {
		m.signer.WithLabelValues(kind.String())
		m.signerErrors.WithLabelValues(kind.String())
	}
	for _, result := range []string{resultOK, resultError} {
		m.identityRefreshes.WithLabelValues(result)
	}
	for _, result := range []string{cacheHit, cacheMiss} {
		m.identityCache.WithLabelValues(result)
	}
	for _, kind := range domain.GrantKinds() {
		m.rateLimited.WithLabelValues(string(domain.BudgetOf(kind)))
	}
	m.rateLimited.WithLabelValues(string(domain.BudgetAuthFailure))
	m.requestSeries = newSeries(func(l requestLabels) prometheus.Observer {
		return m.requests.WithLabelValues(l.route, l.method, strconv.Itoa(l.status))
	})
	m.grantSeries = newSeries(func(l grantLabels) prometheus.Counter {
		return m.grants.WithLabelValues(l.kind.String(), l.result)
	})
	m.cacheHits, m.cacheMisses = m.identityCache.WithLabelValues(cacheHit), m.identityCache.WithLabelValues(cacheMiss)
	return m
}

// Labels are label values only the inbound adapter knows: their series
// are declared at zero.
type Labels struct {
	// GrantResults are the results a grant attempt is counted under; each
	// grant kind gets each.
	GrantResults []string
	// AuthFailureReasons are the reasons a 401 or 403 is counted under.
	AuthFailureReasons []string
}

// Declare creates the series of l's values at zero.
func (m *Metrics) Declare(l Labels) {
	for _, kind := range domain.GrantKinds() {
		for _, result := range l.GrantResults {
			m.grants.WithLabelValues(kind.String(), result)
		}
	}
	for _, reason := range l.AuthFailureReasons {
		m.authFailures.WithLabelValues(reason)
	}
}

// buildLabels are the version, commit and Go version of the running
// binary, from its build information; "unknown" where it does not say.
func buildLabels() (version, commit, goVersion string) {
	version, commit, goVersion = "unknown", "unknown", runtime.Version()
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return version, commit, goVersion
	}
	if bi.Main.Version != "" {
		version = bi.Main.Version
	}
	if bi.GoVersion != "" {
		goVersion = bi.GoVersion
	}
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			commit = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if modified && commit != "unknown" {
		commit += "-dirty"
	}
	return version, commit, goVersion
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry is the registry, for tests.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// ObserveRequest records one HTTP request.
func (m *Metrics) ObserveRequest(route, method string, status int, elapsed time.Duration) {
	m.requestSeries.of(requestLabels{route, method, status}).Observe(elapsed.Seconds())
}

// GrantIssued counts one grant attempt.
func (m *Metrics) GrantIssued(kind domain.GrantKind, result string) {
	m.grantSeries.of(grantLabels{kind, result}).Inc()
}

// AuthFailure counts one request answered 401 or 403, by its reason.
func (m *Metrics) AuthFailure(reason string) {
	m.authFailures.WithLabelValues(reason).Inc()
}

// IdentityRefresh counts one fetch of the identity JWKS; a successful one
// is also the last refresh's time.
func (m *Metrics) IdentityRefresh(err error) {
	if err != nil {
		m.identityRefreshes.WithLabelValues(resultError).Inc()
		return
	}
	m.identityRefreshes.WithLabelValues(resultOK).Inc()
	m.identityRefreshed.Set(float64(m.now().UnixNano()) / 1e9)
}

// IdentityKeys makes count the source of gatepass_identity_keys_loaded,
// asked at every scrape.
func (m *Metrics) IdentityKeys(count func(context.Context) int) {
	m.keyCount.Store(&count)
}

func (m *Metrics) identityKeyCount() float64 {
	count := m.keyCount.Load()
	if count == nil {
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return float64((*count)(ctx))
}

// Revocations exports gatepass_revocations_active (active asked at every
// scrape) and gatepass_revocation_sync_age_seconds (syncAge; -1 before
// the first sync).
func (m *Metrics) Revocations(active func() int, syncAge func() (time.Duration, bool)) {
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gatepass_revocations_active", Help: "Revocations this replica enforces.",
		}, func() float64 { return float64(active()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gatepass_revocation_sync_age_seconds", Help: "Seconds since the revocation store last answered this replica's sync; -1 before the first.",
		}, func() float64 {
			if age, ok := syncAge(); ok {
				return age.Seconds()
			}
			return -1
		}),
	)
}

// RevocationFanout exports gatepass_revocation_fanout_total, each pair of
// transports and results at zero, and returns what counts one.
func (m *Metrics) RevocationFanout(transports []domain.Transport, results []string) func(domain.Transport, string) {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatepass_revocation_fanout_total",
		Help: "Revocation fan-out outcomes by transport and result: a final state (done, not_configured, needs_org, not_applicable, expires), each failed attempt (failed), and a transport given up after its retries (abandoned).",
	}, []string{"transport", "result"})
	m.reg.MustRegister(c)
	for _, t := range transports {
		for _, r := range results {
			c.WithLabelValues(string(t), r)
		}
	}
	return func(t domain.Transport, result string) { c.WithLabelValues(string(t), result).Inc() }
}

// IdentityCacheLookup counts one lookup in the verified-token cache.
func (m *Metrics) IdentityCacheLookup(hit bool) {
	if hit {
		m.cacheHits.Inc()
		return
	}
	m.cacheMisses.Inc()
}

// SigningKey names the key that signs office grants, and the signer that
// holds it (go, openssl, pkcs11).
func (m *Metrics) SigningKey(kid, algorithm, signer string) {
	m.signingKey.Reset()
	m.signingKey.WithLabelValues(kid, algorithm, signer).Set(1)
}

var _ domain.SignatureMeter = (*Metrics)(nil)

// MeterSignatures is the meter of kind's signatures, which the application
// wraps every grant kind's signer in: each is timed under
// gatepass_signer_duration_seconds and each failure counted under
// gatepass_signer_errors_total, both labelled with kind.
func (m *Metrics) MeterSignatures(kind domain.GrantKind) func(took time.Duration, err error) {
	duration, failures := m.signer.WithLabelValues(kind.String()), m.signerErrors.WithLabelValues(kind.String())
	return func(took time.Duration, err error) {
		duration.Observe(took.Seconds())
		if err != nil {
			failures.Inc()
		}
	}
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
	l.observe(ctx, limit.Budget, d, err)
	return d, err
}

func (l *limiter) observe(ctx context.Context, budget domain.Budget, d domain.Decision, err error) {
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
		l.m.rateLimited.WithLabelValues(string(budget)).Inc()
	}
}

// RateLimitRejections is the rejection counter of one limit, for tests.
func (m *Metrics) RateLimitRejections(budget domain.Budget) prometheus.Counter {
	return m.rateLimited.WithLabelValues(string(budget))
}

// LimiterErrors is the rate-limit store error counter, for tests.
func (m *Metrics) LimiterErrors() prometheus.Counter { return m.limiterErrors }
