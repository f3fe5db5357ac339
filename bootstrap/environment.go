package bootstrap

import (
	"fmt"
	"log/slog"
	"net/url"
	"reflect"
	"strings"
	"time"
)

// environment declares every variable gatepass reads, as the environment
// spells it, with its default. It is parsed once by Load into a Config;
// nothing else reads it, but for the start-up log, which it masks by its
// own declaration: a secret field's type masks it, a `log:"url"` tag
// redacts a URL's password. Every secret must differ from every other
// unless a `mayEqual` tag names the pair (see refuseSharedSecrets).
type environment struct {
	AppEnv   string `env:"APP_ENV" envDefault:"production"`
	LogLevel string `env:"LOG_LEVEL" envDefault:"info"`

	HTTP httpEnv `envPrefix:"HTTP_"`
	// Office is the office key, which signs the office-router's grants
	// and every other kind's signed with it, and which the JWKS publishes.
	Office officeEnv `envPrefix:"JWT_"`
	// Realtime is the Supabase project's JWT secret and the Realtime
	// tokens' issuer and lifetime; the rest of the Realtime token's
	// settings block is in realtime.go. Declared here, as the office key
	// is, so a secret given twice is named as it always was (see
	// refuseSharedSecrets).
	Realtime realtimeEnv `envPrefix:"SUPABASE_JWT_"`
	Auth     authEnv     `envPrefix:"AUTH_"`
	// OfficeRouter is the office-router's admin route (evictions).
	OfficeRouter officeRouterEnv `envPrefix:"OFFICE_ROUTER_"`
	// DevDir keeps development key material across restarts.
	DevDir string `env:"DEV_DIR" envDefault:".gatepass-dev"`
	// AdminAddr serves /metrics, /healthz and /readyz, off the public port.
	AdminAddr string       `env:"ADMIN_ADDR" envDefault:"127.0.0.1:9090"`
	PKCS11    pkcs11Env    `envPrefix:"PKCS11_"`
	RateLimit rateLimitEnv `envPrefix:"RATE_LIMIT_"`
	// RedisURL, when set, shares rate-limit budgets across replicas; it
	// may carry a password, so it is a secret.
	RedisURL secret `env:"REDIS_URL"`
	// RedisClusterAddrs, instead, are seed nodes (host:port) of a Redis
	// Cluster that keeps the budgets.
	RedisClusterAddrs []string `env:"REDIS_CLUSTER_ADDRS"`
	// RedisSentinelAddrs, instead, are Sentinels (host:port) watching the
	// master named RedisSentinelMaster.
	RedisSentinelAddrs  []string `env:"REDIS_SENTINEL_ADDRS"`
	RedisSentinelMaster string   `env:"REDIS_SENTINEL_MASTER"`
	// RedisPassword authenticates to the cluster's nodes or the Sentinel
	// master and replicas (or to REDIS_URL's node if its URL has none).
	RedisPassword secret `env:"REDIS_PASSWORD"`
	// TrustedProxies are CIDRs whose X-Forwarded-For is believed.
	TrustedProxies []string `env:"TRUSTED_PROXIES"`
	// GrantExpiryBound says whether a grant may outlive the caller's
	// identity token: none or identity.
	GrantExpiryBound string `env:"GRANT_EXPIRY_BOUND" envDefault:"none"`
	// CORSAllowedOrigins turns CORS on for exactly these origins.
	CORSAllowedOrigins []string `env:"CORS_ALLOWED_ORIGINS"`

	// PublicBaseURL is where clients reach gatepass: the issuer and the
	// endpoints of its OAuth metadata.
	PublicBaseURL string `env:"PUBLIC_BASE_URL"`
	// PolicyFile replaces the built-in transport policy.
	PolicyFile string `env:"GATEPASS_POLICY_FILE"`
	// StrictEnv refuses the start when a variable looks like gatepass's
	// but is not one (a typo), instead of warning about it.
	StrictEnv bool `env:"GATEPASS_STRICT_ENV" envDefault:"false"`
	// Revocation is how long revocations last and who may record them.
	Revocation revocationEnv `envPrefix:""`
	// Transports are the registered transports' variables, each block's
	// own struct naming them in full (see transports.go); the env parser
	// reads them apart, walkEnv where this field stands.
	Transports transportEnvs `env:"-" transports:""`
}

// DevHTTPAddr is the public listener in development when HTTP_ADDR is
// unset: loopback only, so a laptop's development server is not on the
// network.
const DevHTTPAddr = "127.0.0.1:8080"

type httpEnv struct {
	Addr              string        `env:"ADDR" envDefault:":8080"`
	ReadHeaderTimeout time.Duration `env:"READ_HEADER_TIMEOUT" envDefault:"5s"`
	ReadTimeout       time.Duration `env:"READ_TIMEOUT" envDefault:"10s"`
	WriteTimeout      time.Duration `env:"WRITE_TIMEOUT" envDefault:"15s"`
	IdleTimeout       time.Duration `env:"IDLE_TIMEOUT" envDefault:"60s"`
	ShutdownTimeout   time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"20s"`
	DrainDelay        time.Duration `env:"DRAIN_DELAY" envDefault:"0s"`
	MaxBodyBytes      int64         `env:"MAX_BODY_BYTES" envDefault:"4096"`
	// MaxConnections caps the public listener's open connections; 0 is
	// 80% of the open-file limit.
	MaxConnections int `env:"MAX_CONNECTIONS" envDefault:"0"`
}

type officeEnv struct {
	Issuer           string        `env:"ISSUER"`
	Audience         string        `env:"AUDIENCE"`
	TTL              time.Duration `env:"TTL" envDefault:"60s"`
	PrivateKey       secret        `env:"PRIVATE_KEY"`
	Signer           string        `env:"SIGNER" envDefault:"auto"`
	VerificationKeys secret        `env:"VERIFICATION_KEYS"`
	Algorithm        string        `env:"ALGORITHM" envDefault:"RS256"`
}

type realtimeEnv struct {
	Secret secret        `env:"SECRET"`
	Issuer string        `env:"ISSUER" envDefault:"qubital-backend"`
	TTL    time.Duration `env:"TTL" envDefault:"3600s"`
}

type authEnv struct {
	JWKSURL            string        `env:"JWKS_URL" log:"url"`
	Issuer             string        `env:"ISSUER"`
	Audience           string        `env:"AUDIENCE"`
	AudienceRequired   bool          `env:"AUDIENCE_REQUIRED" envDefault:"true"`
	PermissionsClaim   string        `env:"PERMISSIONS_CLAIM" envDefault:"permissions"`
	Algorithms         []string      `env:"ALGORITHMS" envDefault:"RS256"`
	Leeway             time.Duration `env:"LEEWAY" envDefault:"30s"`
	OrgClaim           string        `env:"ORG_CLAIM" envDefault:"org_id"`
	RoleClaim          string        `env:"ROLE_CLAIM" envDefault:"role"`
	JWKSRefresh        time.Duration `env:"JWKS_REFRESH_INTERVAL" envDefault:"5m"`
	JWKSUnknownKIDWait time.Duration `env:"JWKS_UNKNOWN_KID_INTERVAL" envDefault:"1m"`
	JWKSTimeout        time.Duration `env:"JWKS_TIMEOUT" envDefault:"5s"`
	CacheSize          int           `env:"CACHE_SIZE" envDefault:"10000"`
	CacheMaxAge        time.Duration `env:"CACHE_MAX_AGE" envDefault:"1m"`
}

type pkcs11Env struct {
	Module     string `env:"MODULE"`
	TokenLabel string `env:"TOKEN_LABEL"`
	PIN        secret `env:"PIN"`
	KeyLabel   string `env:"KEY_LABEL"`
}

// rateLimitEnv is how budgets are kept, and the authentication-failure
// budget; each grant kind's budget is declared in its settings block.
type rateLimitEnv struct {
	Enabled        bool          `env:"ENABLED" envDefault:"true"`
	FailureMode    string        `env:"FAILURE_MODE" envDefault:"open"`
	StoreTimeout   time.Duration `env:"STORE_TIMEOUT" envDefault:"100ms"`
	IPv6Prefix     int           `env:"IPV6_PREFIX" envDefault:"64"`
	AuthFailRate   int           `env:"AUTH_FAILURE_RATE" envDefault:"60"`
	AuthFailPeriod time.Duration `env:"AUTH_FAILURE_PERIOD" envDefault:"1m"`
	AuthFailBurst  int           `env:"AUTH_FAILURE_BURST" envDefault:"20"`
}

// Variable is one environment variable gatepass reads.
type Variable struct {
	Name       string
	Default    string
	HasDefault bool
	// Secret is true for values never logged: keys, secrets, PINs, and the
	// NAME_FILE twin of each.
	Secret bool
}

// Variables lists every variable gatepass reads, from the declaration
// itself, so a deployment can be checked against it.
func Variables() []Variable {
	var out []Variable
	walkEnv(reflect.ValueOf(&environment{Transports: newTransportEnvs()}).Elem(), "", func(name string, f reflect.Value, sf reflect.StructField) {
		def, has := sf.Tag.Lookup("envDefault")
		_, isSecret := f.Addr().Interface().(*secret)
		out = append(out, Variable{Name: name, Default: def, HasDefault: has, Secret: isSecret})
		if isSecret {
			out = append(out, Variable{Name: name + fileSuffix, Secret: true})
		}
	})
	return out
}

// walkEnv calls fn for every variable of the struct v, with its full name:
// a nested struct adds its envPrefix, as the env parser does.
func walkEnv(v reflect.Value, prefix string, fn func(name string, f reflect.Value, sf reflect.StructField)) {
	for i := range v.NumField() {
		sf, f := v.Type().Field(i), v.Field(i)
		if !sf.IsExported() {
			continue
		}
		if p, ok := sf.Tag.Lookup("envPrefix"); ok {
			walkEnv(f, prefix+p, fn)
			continue
		}
		if _, ok := sf.Tag.Lookup("transports"); ok {
			walkTransportEnvs(f, prefix, fn)
			continue
		}
		if name, _, _ := strings.Cut(sf.Tag.Get("env"), ","); name != "" {
			fn(prefix+name, f, sf)
		}
	}
}

// logValue is the environment as the start-up log shows it: every variable
// under its lower-case name, secrets masked, URLs without passwords.
func (e environment) logValue() slog.Value {
	var attrs []slog.Attr
	walkEnv(reflect.ValueOf(&e).Elem(), "", func(name string, f reflect.Value, sf reflect.StructField) {
		key := strings.ToLower(name)
		switch v := f.Interface().(type) {
		case secret:
			attrs = append(attrs, slog.String(key, v.String()))
		case time.Duration:
			attrs = append(attrs, slog.String(key, v.String()))
		case []string:
			attrs = append(attrs, slog.Any(key, v))
		case string:
			if sf.Tag.Get("log") == "url" {
				v = redactURL(v)
			}
			attrs = append(attrs, slog.String(key, v))
		default:
			attrs = append(attrs, slog.String(key, fmt.Sprint(v)))
		}
	})
	return slog.GroupValue(attrs...)
}

// redactURL hides a URL's password, should an operator put one in it.
func redactURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable)"
	}
	return u.Redacted()
}
