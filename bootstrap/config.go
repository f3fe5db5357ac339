// Package bootstrap is the one place that knows every concrete type: it
// reads the settings once into a typed, validated Config, and wires
// adapters to the application with Google Wire. Each transport's settings
// block is registered from a file of its own (transports.go keeps the
// list).
package bootstrap

import (
	"crypto"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gatepass/gatepass/adapters/devidentity"
	"github.com/gatepass/gatepass/adapters/pkcs11signer"
	"github.com/gatepass/gatepass/adapters/redislimit"
	"github.com/gatepass/gatepass/application"
)

// Env is the environment gatepass runs in.
type Env string

// Environments.
const (
	EnvProduction  Env = "production"
	EnvDevelopment Env = "development"
)

// SignerKind is where the office key signs (JWT_SIGNER).
type SignerKind string

// Signer backends.
const (
	SignerGo      SignerKind = "go"
	SignerOpenSSL SignerKind = "openssl"
	SignerPKCS11  SignerKind = "pkcs11"
	SignerAuto    SignerKind = "auto"
)

// Config is gatepass's whole configuration: read once from the
// environment, validated, and holding what the providers need already
// parsed (keys, secrets, enums, budgets). Providers consume it; nothing
// parses a setting twice.
type Config struct {
	Env       Env
	LogLevel  slog.Level
	HTTP      HTTPConfig
	AdminAddr string
	DevDir    string
	Office    OfficeConfig
	Realtime  RealtimeConfig
	Auth      AuthConfig
	RateLimit application.RateLimitPolicy
	// Redis is where budgets are shared across replicas: one node
	// (REDIS_URL), a cluster or a Sentinel master; the zero Target keeps
	// them in memory.
	Redis redislimit.Target
	// Revocation is how long revocations last and who may record them.
	Revocation RevocationConfig
	// TrustedProxies are the networks whose X-Forwarded-For is believed.
	TrustedProxies     []netip.Prefix
	GrantExpiryBound   application.GrantExpiryBound
	CORSAllowedOrigins []string
	// PublicBaseURL is where clients reach gatepass, without a trailing
	// slash; "" when not configured.
	PublicBaseURL string
	// Build is the running build as the binary was stamped; the caller
	// sets it, no variable does.
	Build BuildInfo
	// Policy decides every caller's rights on the transports.
	Policy *application.Policy
	// TransportConfigs are the registered transports' configurations,
	// each nil while its transport is disabled.
	TransportConfigs
	// DevIdentityKey verifies callers in development when no identity
	// provider is configured; nil otherwise.
	DevIdentityKey *rsa.PrivateKey
	// UnknownVariables are the variables that look like gatepass's but are
	// not read (see UnknownVariable); the start warns about them, or with
	// GATEPASS_STRICT_ENV=true refuses them.
	UnknownVariables []UnknownVariable

	env environment
}

// HTTPConfig is the public listener.
type HTTPConfig struct {
	Addr              string
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	ShutdownTimeout   time.Duration
	// DrainDelay is how long a shutdown keeps accepting requests, answering
	// not ready and closing keep-alive connections, before it stops
	// listening: time for a load balancer to notice.
	DrainDelay   time.Duration
	MaxBodyBytes int64
	// MaxConnections caps the public listener's open connections; 0 is
	// 80% of the open-file limit, found at start.
	MaxConnections int
}

// OfficeConfig is the office-router grant and its keys.
type OfficeConfig struct {
	Issuer    string
	Audience  string
	TTL       time.Duration
	URL       string
	Algorithm string
	Signer    SignerKind
	// Key is the signing key; nil with SignerPKCS11, where it stays in the
	// token.
	Key crypto.Signer
	// Published are public keys published beside the signing key but never
	// used to sign: a rotation's previous and next keys.
	Published []crypto.PublicKey
	PKCS11    pkcs11signer.Config
	// Admin is how revoked users are evicted from the office-router; nil
	// without OFFICE_ROUTER_ADMIN_URL.
	Admin *OfficeRouterAdmin
}

// RealtimeConfig is the Supabase Realtime token.
type RealtimeConfig struct {
	Issuer string
	TTL    time.Duration
	Secret []byte
}

// AuthConfig is how callers' access tokens are verified.
type AuthConfig struct {
	// JWKSURL is the identity provider's key set; empty with the local
	// development identity.
	JWKSURL  string
	Issuer   string
	Audience string
	// NoAudience says the provider's access tokens carry no aud, so a
	// token that carries one is refused (AUTH_AUDIENCE_REQUIRED=false).
	NoAudience         bool
	PermissionsClaim   string
	Algorithms         []string
	Leeway             time.Duration
	OrgClaim           string
	RoleClaim          string
	JWKSRefresh        time.Duration
	JWKSUnknownKIDWait time.Duration
	JWKSTimeout        time.Duration
	// CacheSize and CacheMaxAge bound the cache of verified access tokens;
	// either 0 turns it off.
	CacheSize   int
	CacheMaxAge time.Duration
}

// BuildInfo is the version and commit the binary was built from.
type BuildInfo struct {
	Version string
	Commit  string
}

// Load reads the configuration from environ (nil: the process
// environment) and checks all of it; every problem is reported at once.
// In development, what is not configured comes from the development
// folder, created on first use.
func Load(environ map[string]string) (Config, error) {
	return load(environ, loadServe)
}

// LoadKeys reads the same configuration as Load but checks only the
// office-router keys: what the `keys` commands need.
func LoadKeys(environ map[string]string) (Config, error) {
	return load(environ, loadKeys)
}

// LoadDev reads the configuration for the development tools, whose
// DevIdentityKey is the development identity key: it refuses anything but
// the development default with local identities.
// The server's development folder must exist already: a new identity key
// would mint tokens the running server refuses.
func LoadDev(environ map[string]string) (Config, error) {
	return load(environ, loadDev)
}

// loadMode is how much of the configuration a load reads and checks: all
// of it for the server, the office keys for the keys commands, the
// development identity key for the development tools.
type loadMode int

const (
	loadServe loadMode = iota
	loadKeys
	loadDev
)

func load(environ map[string]string, mode loadMode) (Config, error) {
	if environ == nil {
		environ = processEnvironment()
	} else {
		environ = maps.Clone(environ)
	}
	var p problems
	e := parseEnvironment(environ, &p)
	cfg := Config{env: e, DevDir: e.DevDir, UnknownVariables: unknownVariables(environ)}
	if e.StrictEnv {
		for _, u := range cfg.UnknownVariables {
			p.add(u.Name, "%s", unknownProblem(u))
		}
	}
	switch Env(e.AppEnv) {
	case EnvProduction, EnvDevelopment:
		cfg.Env = Env(e.AppEnv)
	default:
		p.add("APP_ENV", "must be %q or %q", EnvProduction, EnvDevelopment)
	}
	if mode == loadDev {
		// The development tools need the identity key alone, from the
		// folder the server made.
		if err := devToolsMayRun(cfg, e); err != nil {
			return Config{}, err
		}
		m, err := devidentity.Load(e.DevDir)
		if err != nil {
			return Config{}, devFolderError(err)
		}
		cfg.DevIdentityKey = m.IdentityKey
		return cfg, p.err()
	}
	var dev *devMaterial
	if cfg.Development() {
		// Development listens on loopback unless told otherwise, however
		// it is started; production keeps HTTP_ADDR's default.
		if environ["HTTP_ADDR"] == "" {
			e.HTTP.Addr = DevHTTPAddr
		}
		applyDevelopmentDefaults(&e)
		var err error
		if dev, err = loadDevMaterial(e, mode); err != nil {
			return Config{}, err
		}
	}
	cfg.Office = officeFrom(e, dev, &p)
	if mode == loadServe {
		cfg.Auth = authFrom(e, cfg.Development(), &p)
		serviceFrom(e, &cfg, &p)
		transportsFrom(e, dev, &cfg, &p)
		cfg.Office.Admin = officeRouterAdminFrom(e, cfg, &p)
		if dev != nil && cfg.Auth.JWKSURL == "" {
			cfg.DevIdentityKey = dev.identityKey
		}
	}
	cfg.env = e
	return cfg, p.err()
}

// devToolsMayRun refuses the development tools outside the development
// default, and before the server has made its folder.
func devToolsMayRun(cfg Config, e environment) error {
	if !cfg.Development() || e.Auth.JWKSURL != "" {
		return errors.New("this works only with APP_ENV=development and no AUTH_JWKS_URL (the default of make run): production identities come from the identity provider")
	}
	if _, err := os.Stat(filepath.Join(e.DevDir, devidentity.IdentityKeyFile)); err != nil {
		return fmt.Errorf("no development identity key in %s: start the server first (make run) from the same folder, or set DEV_DIR to its folder", e.DevDir)
	}
	return nil
}

func processEnvironment() map[string]string {
	out := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			out[k] = v
		}
	}
	return out
}

// Development reports whether the embedded development default is on.
func (c Config) Development() bool { return c.Env == EnvDevelopment }

// LocalIdentity reports whether callers are verified against the
// development identity key rather than a remote JWKS.
func (c Config) LocalIdentity() bool { return c.DevIdentityKey != nil }

// LogValue is the effective configuration as logged at start: every
// variable, with secrets and keys masked by their declaration.
func (c Config) LogValue() slog.Value { return c.env.logValue() }
