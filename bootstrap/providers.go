package bootstrap

import (
	"context"
	"crypto"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gatepass/gatepass/adapters/devidentity"
	"github.com/gatepass/gatepass/adapters/ginhttp"
	"github.com/gatepass/gatepass/adapters/gosigner"
	"github.com/gatepass/gatepass/adapters/jwksidentity"
	"github.com/gatepass/gatepass/adapters/jwtsigner"
	"github.com/gatepass/gatepass/adapters/memorylimit"
	"github.com/gatepass/gatepass/adapters/opensslsigner"
	"github.com/gatepass/gatepass/adapters/pemkey"
	"github.com/gatepass/gatepass/adapters/pkcs11signer"
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
}

// DevKit mints development identity tokens the server accepts.
type DevKit struct {
	IdentityKey *rsa.PrivateKey
}

// Material is the key material the signers and the identity verifier use.
type Material struct {
	// OfficeKey is the signing key as a Go key; nil with JWT_SIGNER=pkcs11,
	// where the key never leaves the token.
	OfficeKey crypto.Signer
	// Published are the extra verification keys of a rotation.
	Published      []crypto.PublicKey
	SupabaseSecret []byte
	Dev            *DevKit
}

// ProvideMaterial parses the configured keys; in development, whatever is
// not configured comes from the development folder.
func ProvideMaterial(cfg Config) (Material, error) {
	officePEM, secret := cfg.OfficeKeyPEM(), cfg.SupabaseSecret()
	pkcs11 := cfg.Office.Signer == SignerPKCS11
	var m Material
	if cfg.Development() && ((officePEM == "" && !pkcs11) || secret == "" || cfg.LocalIdentity()) {
		dev, err := devidentity.LoadOrCreate(cfg.DevDir)
		if err != nil {
			return Material{}, err
		}
		if officePEM == "" && !pkcs11 {
			if officePEM, err = devidentity.LoadOrCreateOfficeKey(cfg.DevDir, cfg.Office.Algorithm); err != nil {
				return Material{}, err
			}
		}
		if secret == "" {
			secret = dev.SupabaseSecret
		}
		if cfg.LocalIdentity() {
			m.Dev = &DevKit{IdentityKey: dev.IdentityKey}
		}
	}
	if !pkcs11 {
		key, err := gosigner.Load(officePEM)
		if err != nil {
			return Material{}, fmt.Errorf("office signing key: %w", err)
		}
		m.OfficeKey = key
	}
	m.SupabaseSecret = []byte(secret)
	if bundle := cfg.VerificationKeysPEM(); bundle != "" {
		pubs, err := pemkey.ParsePublicKeys(bundle)
		if err != nil {
			return Material{}, fmt.Errorf("verification keys: %w", err)
		}
		m.Published = pubs
	}
	return m, nil
}

// ProvideDevKit exposes the development kit of the material.
func ProvideDevKit(m Material) *DevKit { return m.Dev }

// OfficeBackend is the crypto.Signer that holds the office key, and its name.
type OfficeBackend struct {
	Signer crypto.Signer
	Name   string
}

// ProvideOfficeBackend chooses where the office key signs (JWT_SIGNER):
// Go's crypto, OpenSSL's libcrypto, or a PKCS#11 token; auto takes OpenSSL
// when libcrypto loads. The cleanup closes a token session.
func ProvideOfficeBackend(cfg Config, m Material, logger *slog.Logger) (OfficeBackend, func(), error) {
	nothing := func() {}
	switch cfg.Office.Signer {
	case SignerPKCS11:
		s, err := pkcs11signer.Open(pkcs11signer.Config{
			Module: cfg.PKCS11.Module, TokenLabel: cfg.PKCS11.TokenLabel, PIN: cfg.PKCS11PIN(), KeyLabel: cfg.PKCS11.KeyLabel,
		})
		if err != nil {
			return OfficeBackend{}, nil, fmt.Errorf("JWT_SIGNER=pkcs11: %w", err)
		}
		return OfficeBackend{Signer: s, Name: SignerPKCS11}, func() { _ = s.Close() }, nil
	case SignerOpenSSL:
		s, err := opensslsigner.New(m.OfficeKey)
		if err != nil {
			return OfficeBackend{}, nil, fmt.Errorf("JWT_SIGNER=openssl: %w", err)
		}
		return OfficeBackend{Signer: s, Name: SignerOpenSSL}, nothing, nil
	case SignerAuto:
		if err := opensslsigner.Available(); err != nil {
			logger.Info("OpenSSL libcrypto unavailable; signing with Go's crypto", "reason", err.Error())
			return OfficeBackend{Signer: m.OfficeKey, Name: SignerGo}, nothing, nil
		}
		s, err := opensslsigner.New(m.OfficeKey)
		if err != nil {
			logger.Warn("OpenSSL cannot take the office key; signing with Go's crypto", "reason", err.Error())
			return OfficeBackend{Signer: m.OfficeKey, Name: SignerGo}, nothing, nil
		}
		return OfficeBackend{Signer: s, Name: SignerOpenSSL}, nothing, nil
	default:
		return OfficeBackend{Signer: m.OfficeKey, Name: SignerGo}, nothing, nil
	}
}

// ProvideOfficeSigner signs office-router grants with the backend, after a
// check that its key fits JWT_ALGORITHM and a test signature that verifies:
// a signer that cannot sign fails the start, not the first request.
func ProvideOfficeSigner(cfg Config, b OfficeBackend) (*jwtsigner.OfficeSigner, error) {
	if err := jwtsigner.KeyMatches(cfg.Office.Algorithm, b.Signer.Public()); err != nil {
		return nil, fmt.Errorf("office key does not fit JWT_ALGORITHM=%s: %w", cfg.Office.Algorithm, err)
	}
	s, err := jwtsigner.NewOfficeSigner(b.Signer, cfg.Office.Algorithm)
	if err != nil {
		return nil, err
	}
	if err := s.SelfTest(context.Background()); err != nil {
		return nil, fmt.Errorf("office signer (%s) self-test: %w", b.Name, err)
	}
	return s, nil
}

// ProvideKeySet is the set of office-router keys the JWKS publishes.
func ProvideKeySet(cfg Config, b OfficeBackend, m Material) (*statickeys.KeySet, error) {
	return statickeys.New(b.Signer.Public(), cfg.Office.Algorithm, m.Published)
}

// ProvideRealtimeSigner signs Supabase Realtime tokens.
func ProvideRealtimeSigner(m Material) (*jwtsigner.RealtimeSigner, error) {
	return jwtsigner.NewRealtimeSigner(m.SupabaseSecret)
}

// InstrumentedSigners are the signers as the application sees them: timed.
type InstrumentedSigners struct {
	Office   domain.OfficeSigner
	Realtime domain.RealtimeSigner
}

// ProvideInstrumentedSigners wraps the signers with latency metrics.
func ProvideInstrumentedSigners(m *prom.Metrics, o *jwtsigner.OfficeSigner, r *jwtsigner.RealtimeSigner) InstrumentedSigners {
	return InstrumentedSigners{Office: m.OfficeSigner(o), Realtime: m.RealtimeSigner(r)}
}

// IdentityKeys is where caller tokens' keys come from, and whether they are
// in hand.
type IdentityKeys struct {
	Source jwksidentity.KeySource
	Ready  func(ctx context.Context) (string, error)
}

// ProvideIdentityKeys returns the identity provider's keys: the remote JWKS,
// or the development identity key. The cleanup stops background refreshes.
func ProvideIdentityKeys(ctx context.Context, cfg Config, m Material, metrics *prom.Metrics, logger *slog.Logger) (IdentityKeys, func(), error) {
	if m.Dev != nil {
		set, err := devidentity.KeySetJSON(m.Dev.IdentityKey)
		if err != nil {
			return IdentityKeys{}, nil, err
		}
		kf, err := jwksidentity.NewStaticKeys(set)
		if err != nil {
			return IdentityKeys{}, nil, err
		}
		return IdentityKeys{Source: kf, Ready: func(context.Context) (string, error) { return "development identity key", nil }}, func() {}, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	keys, err := jwksidentity.NewRemoteKeys(ctx, cfg.Auth.JWKSURL, jwksidentity.RemoteOptions{
		RefreshInterval:    cfg.Auth.JWKSRefresh,
		UnknownKIDInterval: cfg.Auth.JWKSUnknownKIDWait,
		HTTPTimeout:        cfg.Auth.JWKSTimeout,
		OnRefresh:          metrics.IdentityRefresh,
		Logger:             logger,
	})
	if err != nil {
		cancel()
		return IdentityKeys{}, nil, fmt.Errorf("identity keys: %w", err)
	}
	return IdentityKeys{Source: keys, Ready: keys.Ready}, cancel, nil
}

// ProvideIdentityVerifier verifies callers with the identity keys.
func ProvideIdentityVerifier(cfg Config, keys IdentityKeys) (*jwksidentity.Verifier, error) {
	return jwksidentity.New(keys.Source, jwksidentity.Options{
		Issuer:     cfg.Auth.Issuer,
		Audience:   cfg.Auth.Audience,
		Algorithms: cfg.Auth.Algorithms,
		Leeway:     cfg.Auth.Leeway,
		OrgClaim:   cfg.Auth.OrgClaim,
		RoleClaim:  cfg.Auth.RoleClaim,
	})
}

// ProvideCachedIdentity puts the cache of verified access tokens in front of
// the verifier, unless AUTH_CACHE_SIZE or AUTH_CACHE_MAX_AGE is 0.
func ProvideCachedIdentity(cfg Config, v *jwksidentity.Verifier) (domain.IdentityVerifier, error) {
	if cfg.Auth.CacheSize == 0 || cfg.Auth.CacheMaxAge == 0 {
		return v, nil
	}
	return jwksidentity.NewCached(v, cfg.Auth.CacheSize, cfg.Auth.CacheMaxAge, nil)
}

// Limiter is the rate limiter as the application sees it (nil when limits
// are off), and its readiness probe.
type Limiter struct {
	Limiter domain.RateLimiter
	Ready   func(ctx context.Context) (string, error)
}

// ProvideLimiter is the rate-limit store: Redis when REDIS_URL is set (one
// budget across replicas), memory otherwise.
func ProvideLimiter(cfg Config, metrics *prom.Metrics, logger *slog.Logger) (Limiter, func(), error) {
	if !cfg.RateLimit.Enabled {
		return Limiter{Ready: func(context.Context) (string, error) { return "rate limits off", nil }}, func() {}, nil
	}
	if cfg.RedisURL == "" {
		l := memorylimit.New(nil, 0)
		return Limiter{
			Limiter: metrics.RateLimiter(l, logger, time.Minute),
			Ready:   func(context.Context) (string, error) { return "memory", nil },
		}, func() {}, nil
	}
	redislimit.RouteClientLogs(logger)
	l, closeFn, err := redislimit.NewFromURL(string(cfg.RedisURL))
	if err != nil {
		return Limiter{}, nil, errors.New("REDIS_URL: cannot be used")
	}
	ready := func(ctx context.Context) (string, error) {
		if err := l.Ping(ctx); err != nil {
			if cfg.RateLimit.FailureMode == "open" {
				// Failing open, an unreachable Redis does not stop serving.
				return "redis unreachable, failing open", nil
			}
			// The cause names internal hosts; /readyz is on the public
			// port too, so it says only what fails (the log has the rest).
			logger.DebugContext(ctx, "readiness: redis unreachable", "error", err)
			return "", errors.New("redis unreachable, failing closed")
		}
		return "redis", nil
	}
	return Limiter{Limiter: metrics.RateLimiter(l, logger, time.Minute), Ready: ready}, func() { _ = closeFn() }, nil
}

// ProvidePorts gathers the application's ports.
func ProvidePorts(identity domain.IdentityVerifier, s InstrumentedSigners, keys *statickeys.KeySet, l Limiter) application.Ports {
	return application.Ports{
		Identity: identity,
		Office:   s.Office,
		Realtime: s.Realtime,
		Clock:    systemClock,
		IDs:      randomIDs,
		Keys:     keys,
		Limiter:  l.Limiter,
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

// ProvideReadinessChecks are the conditions /readyz reports.
func ProvideReadinessChecks(b OfficeBackend, s *jwtsigner.OfficeSigner, keys IdentityKeys, l Limiter, life *Lifecycle) []application.ReadinessCheck {
	signer := fmt.Sprintf("%s %s kid=%s (self-test passed at start)", b.Name, s.Algorithm(), s.KeyID())
	return []application.ReadinessCheck{
		{Name: "signer", Probe: func(context.Context) (string, error) { return signer, nil }},
		{Name: "identity_keys", Probe: keys.Ready},
		{Name: "rate_limiter", Probe: l.Ready},
		{Name: "lifecycle", Probe: life.ready},
	}
}

// ProvideApplication builds the use cases.
func ProvideApplication(cfg Config, p application.Ports, checks []application.ReadinessCheck) *application.Application {
	return application.New(p, ProvideOfficePolicy(cfg), ProvideRealtimePolicy(cfg), cfg.RateLimitPolicy(), checks)
}

// ProvideOfficePolicy is the office-router grant policy.
func ProvideOfficePolicy(cfg Config) application.OfficePolicy {
	return application.OfficePolicy{
		Issuer:   cfg.Office.Issuer,
		Audience: cfg.Office.Audience,
		TTL:      cfg.Office.TTL,
		URL:      cfg.WebSocketBaseURL,
	}
}

// ProvideRealtimePolicy is the Supabase Realtime token policy.
func ProvideRealtimePolicy(cfg Config) application.RealtimePolicy {
	return application.RealtimePolicy{Issuer: cfg.Realtime.Issuer, TTL: cfg.Realtime.TTL}
}

// ProvideRouter is the public HTTP API.
func ProvideRouter(app *application.Application, cfg Config, metrics *prom.Metrics, life *Lifecycle, logger *slog.Logger) (*PublicHandler, error) {
	h, err := ginhttp.NewRouter(app, ginhttp.Options{
		Draining:       life.Draining,
		Logger:         logger,
		MaxBodyBytes:   cfg.HTTP.MaxBodyBytes,
		TrustedProxies: cfg.TrustedProxies,
		CORSOrigins:    cfg.CORSAllowedOrigins,
		Observer:       metrics,
	})
	return &PublicHandler{h}, err
}

// PublicHandler and AdminHandler tell the two listeners' handlers apart.
type (
	PublicHandler struct{ http.Handler }
	AdminHandler  struct{ http.Handler }
)

// ProvideAdminRouter is the admin listener's handler.
func ProvideAdminRouter(app *application.Application, metrics *prom.Metrics) *AdminHandler {
	return &AdminHandler{ginhttp.NewAdminRouter(app, metrics.Handler())}
}

// ProvideServer assembles the Server.
func ProvideServer(public *PublicHandler, admin *AdminHandler, office *jwtsigner.OfficeSigner, b OfficeBackend, dev *DevKit, life *Lifecycle) *Server {
	return &Server{Handler: public.Handler, Admin: admin.Handler, Office: office, Backend: b, Dev: dev, Lifecycle: life}
}
