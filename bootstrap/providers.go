package bootstrap

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gatepass/gatepass/adapters/devidentity"
	"github.com/gatepass/gatepass/adapters/ginhttp"
	"github.com/gatepass/gatepass/adapters/jwtsigner"
	"github.com/gatepass/gatepass/adapters/memorylimit"
	"github.com/gatepass/gatepass/adapters/prom"
	"github.com/gatepass/gatepass/adapters/redislimit"
	"github.com/gatepass/gatepass/adapters/statickeys"
	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
)

// Server is everything `gatepass serve` needs, built by InitializeServer.
type Server struct {
	Handler http.Handler
	// Admin serves /metrics, /healthz and /readyz on ADMIN_ADDR.
	Admin  http.Handler
	Office *jwtsigner.OfficeSigner
	// Backend names where the office key signs: go, openssl or pkcs11.
	Backend OfficeBackend
	// Dev is the development kit; nil unless callers are verified against
	// the local development identity key.
	Dev *DevKit
	// Lifecycle turns readiness off when a shutdown begins.
	Lifecycle *Lifecycle
	// PublicBase is the public base URL of the OAuth metadata.
	PublicBase *PublicBase
}

// PublicBase is the URL clients reach gatepass at, the issuer of its OAuth
// metadata: PUBLIC_BASE_URL, or in development the listener's address
// once it is known; empty otherwise.
type PublicBase struct {
	url atomic.Pointer[string]
}

// ProvidePublicBase starts from PUBLIC_BASE_URL.
func ProvidePublicBase(cfg Config) *PublicBase {
	b := &PublicBase{}
	b.Set(cfg.PublicBaseURL)
	return b
}

// Set replaces the URL.
func (b *PublicBase) Set(u string) { b.url.Store(&u) }

// Get is the URL, or "" when none is known.
func (b *PublicBase) Get() string {
	if u := b.url.Load(); u != nil {
		return *u
	}
	return ""
}

// DevKit mints development identity tokens the server accepts.
type DevKit struct {
	IdentityKey *rsa.PrivateKey
}

// IssueDevIdentity mints the development identity token of POST
// /dev/identity-token, through the same checks and defaults as `gatepass
// dev-token`.
func (k *DevKit) IssueDevIdentity(_ context.Context, req ginhttp.DevIdentityRequest) (string, time.Duration, error) {
	who := devidentity.Default
	for _, f := range []struct {
		from *string
		to   *string
	}{{req.User, &who.UserID}, {req.Org, &who.OrgID}, {req.Role, &who.Role}} {
		if f.from != nil {
			*f.to = *f.from
		}
	}
	token, err := devidentity.Issue(k.IdentityKey, who, time.Now(), devidentity.DefaultTTL)
	if fe := (*devidentity.FieldError)(nil); errors.As(err, &fe) {
		return "", 0, ginhttp.FieldError(fe.Field, fe.Reason)
	}
	return token, devidentity.DefaultTTL, err
}

// ProvideDevKit is the development kit; nil unless callers are verified
// against the local development identity key.
func ProvideDevKit(cfg Config) *DevKit {
	if cfg.DevIdentityKey == nil {
		return nil
	}
	return &DevKit{IdentityKey: cfg.DevIdentityKey}
}

// Limiter is the rate-limit store as the application sees it: the store
// (nil when limits are off) and, when the store is shared and can fail, the
// per-replica limiter that stands in for it while it fails open, and on a
// Redis Cluster the masters it fails by.
type Limiter struct {
	Limiter domain.RateLimiter
	Local   domain.RateLimiter
	Nodes   domain.RateLimitNodes
}

// ProvideLimiter is the rate-limit store: Redis when one is configured (one
// node, a cluster or a Sentinel master: one budget across replicas),
// memory otherwise.
func ProvideLimiter(cfg Config, metrics *prom.Metrics, logger *slog.Logger) (Limiter, func(), error) {
	if !cfg.RateLimit.Enabled {
		return Limiter{}, func() {}, nil
	}
	if cfg.Redis.Topology() == "" {
		return Limiter{Limiter: metrics.RateLimiter(memorylimit.New(nil, 0), logger, time.Minute)}, func() {}, nil
	}
	redislimit.RouteClientLogs(logger)
	l, closeFn, err := redislimit.Open(cfg.Redis)
	if err != nil {
		return Limiter{}, nil, fmt.Errorf("redis %s: cannot be used", cfg.Redis.Topology())
	}
	return Limiter{
		Limiter: metrics.RateLimiter(l, logger, time.Minute),
		Local:   metrics.RateLimiter(memorylimit.New(nil, 0), logger, time.Minute),
		Nodes:   l.Nodes(),
	}, func() { _ = closeFn() }, nil
}

// ProvideMetrics is the metrics registry, with a series at zero for every
// grant result and refusal reason the HTTP adapter can count.
func ProvideMetrics(cfg Config) *prom.Metrics {
	m := prom.NewWithBuild(prom.Build{Version: cfg.Build.Version, Commit: cfg.Build.Commit})
	m.Declare(prom.Labels{GrantResults: ginhttp.GrantResults(), AuthFailureReasons: ginhttp.RefusalReasons()})
	return m
}

// ProvidePorts gathers the application's ports.
func ProvidePorts(identity domain.IdentityVerifier, keys *statickeys.KeySet, l Limiter, m *prom.Metrics,
	rev *application.Revocations, fanout *application.EvictRevokedHandler) application.Ports {
	return application.Ports{
		Identity: identity,
		Clock:    systemClock,
		IDs:      randomIDs,
		Keys:     keys,
		Meter:    m,
		Limiter:  l.Limiter,
		// Failing open, budgets are kept per replica while Redis fails,
		// never not at all.
		LocalLimiter: l.Local,
		// On a cluster, one failing master fails only the budgets it holds.
		LimiterNodes: l.Nodes,
		Revocations:  rev,
		Fanout:       fanout,
	}
}

// Lifecycle is the process's own state that readiness reports: once a
// shutdown begins, the instance says it is not ready so load balancers
// stop sending to it while in-flight requests finish.
type Lifecycle struct {
	draining atomic.Bool
}

// ProvideLifecycle makes the Lifecycle.
func ProvideLifecycle() *Lifecycle { return &Lifecycle{} }

// Drain marks the start of a shutdown.
func (l *Lifecycle) Drain() { l.draining.Store(true) }

// Draining reports whether a shutdown has begun.
func (l *Lifecycle) Draining() bool { return l.draining.Load() }

func (l *Lifecycle) ready(context.Context) (string, error) {
	if l.draining.Load() {
		return "", errors.New("shutting down")
	}
	return "serving", nil
}

// ProvideReadinessChecks are the conditions /readyz reports; the
// application adds the rate limiter's.
func ProvideReadinessChecks(b OfficeBackend, s *jwtsigner.OfficeSigner, keys IdentityKeys, life *Lifecycle) []application.ReadinessCheck {
	signer := fmt.Sprintf("%s %s kid=%s (self-test passed at start)", b.Name, s.Algorithm(), s.KeyID())
	return []application.ReadinessCheck{
		{Name: "signer", Probe: func(context.Context) (string, error) { return signer, nil }},
		{Name: "identity_keys", Probe: keys.Ready},
		{Name: "lifecycle", Probe: life.ready},
	}
}

// ProvideApplication builds the use cases. GRANT_EXPIRY_BOUND=identity
// needs an identity verifier that tells each identity's expiry.
func ProvideApplication(cfg Config, p application.Ports, kinds TransportGrants, checks []application.ReadinessCheck) (*application.Application, error) {
	grants := application.Grants{Kinds: kinds, Policy: cfg.Policy}
	app, err := application.New(p, grants, cfg.RateLimit, checks)
	if err != nil {
		return nil, err
	}
	if cfg.GrantExpiryBound == application.ExpiryBoundIdentity && !app.AuthenticateCaller.CanTellIdentityExpiry() {
		return nil, errors.New("GRANT_EXPIRY_BOUND=identity: the identity verifier does not tell token expiry")
	}
	return app, nil
}

// ProvideRouter is the public HTTP API.
func ProvideRouter(app *application.Application, cfg Config, metrics *prom.Metrics, life *Lifecycle, base *PublicBase, dev *DevKit, logger *slog.Logger) (*PublicHandler, error) {
	o := ginhttp.Options{
		PublicBaseURL:  base.Get,
		Draining:       life.Draining,
		Logger:         logger,
		MaxBodyBytes:   cfg.HTTP.MaxBodyBytes,
		TrustedProxies: cfg.TrustedProxies,
		CORSOrigins:    cfg.CORSAllowedOrigins,
		Observer:       metrics,
		// In development the caller is the developer: say why.
		ExplainRefusals:     cfg.Development(),
		WorkOSWebhookSecret: cfg.Revocation.WorkOSSecret,
	}
	if dev != nil && cfg.Development() {
		// A page signs in as any development user; production has no
		// such route.
		o.DevIdentity = dev
	}
	h, err := ginhttp.NewRouter(app, o)
	return &PublicHandler{h}, err
}

// PublicHandler and AdminHandler tell the two listeners' handlers apart.
type (
	PublicHandler struct{ http.Handler }
	AdminHandler  struct{ http.Handler }
)

// ProvideAdminRouter is the admin listener's handler.
func ProvideAdminRouter(app *application.Application, cfg Config, metrics *prom.Metrics, logger *slog.Logger) *AdminHandler {
	return &AdminHandler{ginhttp.NewAdminRouter(app, metrics.Handler(), ginhttp.AdminOptions{Logger: logger, Token: cfg.Revocation.AdminToken})}
}

// ProvideServer assembles the Server; the background services run beside
// it.
func ProvideServer(public *PublicHandler, admin *AdminHandler, office *jwtsigner.OfficeSigner, b OfficeBackend, dev *DevKit, life *Lifecycle, base *PublicBase, _ *Background) *Server {
	return &Server{Handler: public.Handler, Admin: admin.Handler, Office: office, Backend: b, Dev: dev, Lifecycle: life, PublicBase: base}
}
