// Package bootstrap is the one place that knows every concrete type: it
// parses the configuration, checks it, and wires adapters to the
// application with Google Wire.
package bootstrap

import (
	"crypto"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"

	"github.com/gatepass/gatepass/adapters/devidentity"
	"github.com/gatepass/gatepass/adapters/gosigner"
	"github.com/gatepass/gatepass/adapters/jwksidentity"
	"github.com/gatepass/gatepass/adapters/jwtsigner"
	"github.com/gatepass/gatepass/adapters/pemkey"
	"github.com/gatepass/gatepass/adapters/redislimit"
	"github.com/gatepass/gatepass/adapters/statickeys"
	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
)

// Environments.
const (
	EnvProduction  = "production"
	EnvDevelopment = "development"
)

// Secret is a configuration value that is never printed: its String and
// LogValue say only whether it is set.
type Secret string

// String masks the secret.
func (s Secret) String() string {
	if s == "" {
		return "(unset)"
	}
	return "(set, masked)"
}

// LogValue masks the secret in structured logs.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText masks the secret when encoded.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Config is gatepass's whole configuration, read once from the environment.
type Config struct {
	// AppEnv is "production" (the default) or "development".
	AppEnv   string `env:"APP_ENV" envDefault:"production"`
	LogLevel string `env:"LOG_LEVEL" envDefault:"info"`

	HTTP     HTTPConfig     `envPrefix:"HTTP_"`
	Office   OfficeConfig   `envPrefix:"JWT_"`
	Realtime RealtimeConfig `envPrefix:"SUPABASE_JWT_"`
	Auth     AuthConfig     `envPrefix:"AUTH_"`
	// WebSocketBaseURL is the office-router URL returned with each grant.
	WebSocketBaseURL string `env:"WEBSOCKET_BASE_URL"`
	// DevDir keeps development key material across restarts.
	DevDir string `env:"DEV_DIR" envDefault:".gatepass-dev"`

	// AdminAddr serves /metrics, /healthz and /readyz, off the public port.
	AdminAddr string          `env:"ADMIN_ADDR" envDefault:"127.0.0.1:9090"`
	PKCS11    PKCS11Config    `envPrefix:"PKCS11_"`
	RateLimit RateLimitConfig `envPrefix:"RATE_LIMIT_"`
	// RedisURL, when set, shares rate-limit budgets across replicas.
	RedisURL Secret `env:"REDIS_URL"`
	// TrustedProxies are CIDRs whose X-Forwarded-For is believed.
	TrustedProxies []string `env:"TRUSTED_PROXIES"`
	// CORSAllowedOrigins turns CORS on for exactly these origins.
	CORSAllowedOrigins []string `env:"CORS_ALLOWED_ORIGINS"`
}

// PKCS11Config says which key of which PKCS#11 token signs (JWT_SIGNER=pkcs11).
type PKCS11Config struct {
	Module     string `env:"MODULE"`
	TokenLabel string `env:"TOKEN_LABEL"`
	PIN        Secret `env:"PIN"`
	PINFile    Secret `env:"PIN_FILE,file"`
	KeyLabel   string `env:"KEY_LABEL"`
}

// RateLimitConfig are the request budgets.
type RateLimitConfig struct {
	Enabled bool `env:"ENABLED" envDefault:"true"`
	// FailureMode is "open" (serve when Redis is unreachable) or "closed" (503).
	FailureMode string `env:"FAILURE_MODE" envDefault:"open"`

	OfficeRate     int           `env:"OFFICE_RATE" envDefault:"30"`
	OfficePeriod   time.Duration `env:"OFFICE_PERIOD" envDefault:"1m"`
	OfficeBurst    int           `env:"OFFICE_BURST" envDefault:"10"`
	RealtimeRate   int           `env:"REALTIME_RATE" envDefault:"10"`
	RealtimePeriod time.Duration `env:"REALTIME_PERIOD" envDefault:"1m"`
	RealtimeBurst  int           `env:"REALTIME_BURST" envDefault:"5"`
	AuthFailRate   int           `env:"AUTH_FAILURE_RATE" envDefault:"60"`
	AuthFailPeriod time.Duration `env:"AUTH_FAILURE_PERIOD" envDefault:"1m"`
	AuthFailBurst  int           `env:"AUTH_FAILURE_BURST" envDefault:"20"`
}

// HTTPConfig is the public listener.
type HTTPConfig struct {
	Addr              string        `env:"ADDR" envDefault:":8080"`
	ReadHeaderTimeout time.Duration `env:"READ_HEADER_TIMEOUT" envDefault:"5s"`
	ReadTimeout       time.Duration `env:"READ_TIMEOUT" envDefault:"10s"`
	WriteTimeout      time.Duration `env:"WRITE_TIMEOUT" envDefault:"15s"`
	IdleTimeout       time.Duration `env:"IDLE_TIMEOUT" envDefault:"60s"`
	ShutdownTimeout   time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"20s"`
	// DrainDelay is how long a shutdown keeps accepting requests, answering
	// not ready and closing keep-alive connections, before it stops
	// listening: time for a load balancer to notice.
	DrainDelay   time.Duration `env:"DRAIN_DELAY" envDefault:"0s"`
	MaxBodyBytes int64         `env:"MAX_BODY_BYTES" envDefault:"4096"`
}

// OfficeConfig is the office-router grant.
type OfficeConfig struct {
	Issuer         string        `env:"ISSUER"`
	Audience       string        `env:"AUDIENCE"`
	TTL            time.Duration `env:"TTL" envDefault:"60s"`
	PrivateKey     Secret        `env:"PRIVATE_KEY"`
	PrivateKeyFile Secret        `env:"PRIVATE_KEY_FILE,file"`
	// Signer is where the key signs: go, openssl, pkcs11 or auto.
	Signer string `env:"SIGNER" envDefault:"auto"`
	// VerificationKeys are PEM public keys published beside the signing
	// key but never used to sign: a rotation's previous and next keys.
	VerificationKeys     string `env:"VERIFICATION_KEYS"`
	VerificationKeysFile string `env:"VERIFICATION_KEYS_FILE,file"`
	Algorithm            string `env:"ALGORITHM" envDefault:"RS256"`
}

// RealtimeConfig is the Supabase Realtime token.
type RealtimeConfig struct {
	Secret     Secret        `env:"SECRET"`
	SecretFile Secret        `env:"SECRET_FILE,file"`
	Issuer     string        `env:"ISSUER" envDefault:"qubital-backend"`
	TTL        time.Duration `env:"TTL" envDefault:"3600s"`
}

// AuthConfig is how callers' access tokens are verified.
type AuthConfig struct {
	JWKSURL            string        `env:"JWKS_URL"`
	Issuer             string        `env:"ISSUER"`
	Audience           string        `env:"AUDIENCE"`
	Algorithms         []string      `env:"ALGORITHMS" envDefault:"RS256"`
	Leeway             time.Duration `env:"LEEWAY" envDefault:"30s"`
	OrgClaim           string        `env:"ORG_CLAIM" envDefault:"org_id"`
	RoleClaim          string        `env:"ROLE_CLAIM" envDefault:"role"`
	JWKSRefresh        time.Duration `env:"JWKS_REFRESH_INTERVAL" envDefault:"1h"`
	JWKSUnknownKIDWait time.Duration `env:"JWKS_UNKNOWN_KID_INTERVAL" envDefault:"1m"`
	JWKSTimeout        time.Duration `env:"JWKS_TIMEOUT" envDefault:"5s"`
	// CacheSize bounds the cache of verified access tokens; 0 turns it off.
	CacheSize int `env:"CACHE_SIZE" envDefault:"10000"`
	// CacheMaxAge is the longest a verified token is remembered (never past its exp).
	CacheMaxAge time.Duration `env:"CACHE_MAX_AGE" envDefault:"1m"`
}

// LoadConfig reads the configuration from environ (nil: the process
// environment) and checks all of it. Every problem is reported at once.
func LoadConfig(environ map[string]string) (Config, error) {
	cfg, err := parseConfig(environ)
	if err != nil {
		return Config{}, err
	}
	return cfg, cfg.Validate()
}

// LoadKeysConfig reads the same configuration as LoadConfig but checks only
// the office-router keys: what the `keys` commands need.
func LoadKeysConfig(environ map[string]string) (Config, error) {
	cfg, err := parseConfig(environ)
	if err != nil {
		return Config{}, err
	}
	if errs := cfg.validateKeys(); len(errs) > 0 {
		return Config{}, fmt.Errorf("invalid configuration:\n  %w", joinLines(errs))
	}
	return cfg, nil
}

func parseConfig(environ map[string]string) (Config, error) {
	// env reports a parse error by struct field, and quotes the value. The
	// variable being parsed is known from OnSet, which env calls just
	// before parsing each value; the parsers below name it, never the value.
	var current string
	named := func(what string, parse func(string) (any, error)) env.ParserFunc {
		return func(v string) (any, error) {
			out, err := parse(v)
			if err != nil {
				return nil, fmt.Errorf("%s: is not %s", current, what)
			}
			return out, nil
		}
	}
	opts := env.Options{
		OnSet: func(key string, _ any, _ bool) { current = key },
		FuncMap: map[reflect.Type]env.ParserFunc{
			reflect.TypeFor[time.Duration](): named("a duration such as 30s or 1m", func(v string) (any, error) { return time.ParseDuration(v) }),
			reflect.TypeFor[int64]():         named("a whole number", func(v string) (any, error) { return strconv.ParseInt(v, 10, 64) }),
			reflect.TypeFor[bool]():          named("true or false", func(v string) (any, error) { return strconv.ParseBool(v) }),
			reflect.TypeFor[int](): named("a whole number", func(v string) (any, error) {
				n, err := strconv.Atoi(v)
				return n, err
			}),
		},
	}
	if environ != nil {
		opts.Environment = environ
	}
	cfg, err := env.ParseAsWithOptions[Config](opts)
	if err != nil {
		return Config{}, fmt.Errorf("configuration: %w", redactEnvError(err))
	}
	if cfg.Development() {
		cfg.applyDevelopmentDefaults()
	}
	return cfg, nil
}

// redactEnvError keeps env's messages, which name variables, but never
// values: a parse error quotes the value it could not parse.
func redactEnvError(err error) error {
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return errors.New("cannot be parsed")
	}
	msgs := make([]string, 0, len(agg.Errors))
	for _, e := range agg.Errors {
		var pe env.ParseError
		var fe env.LoadFileContentError
		switch {
		case errors.As(e, &pe):
			msgs = append(msgs, pe.Err.Error())
		case errors.As(e, &fe):
			msgs = append(msgs, fmt.Sprintf("%s: cannot read the file it names", fe.Key))
		default:
			msgs = append(msgs, e.Error())
		}
	}
	return errors.New(strings.Join(msgs, "; "))
}

// Development defaults: what `make run` needs to serve with no settings.
const (
	DevOfficeIssuer   = "gatepass-dev"
	DevOfficeAudience = "office-router"
	DevWebSocketURL   = "ws://127.0.0.1:8787/ws"
)

func (c *Config) applyDevelopmentDefaults() {
	if c.Office.Issuer == "" {
		c.Office.Issuer = DevOfficeIssuer
	}
	if c.Office.Audience == "" {
		c.Office.Audience = DevOfficeAudience
	}
	if c.WebSocketBaseURL == "" {
		c.WebSocketBaseURL = DevWebSocketURL
	}
	if c.Auth.JWKSURL == "" && c.Auth.Issuer == "" {
		c.Auth.Issuer = devidentity.Issuer
	}
}

// LocalIdentity reports whether callers are verified against the
// development identity key rather than a remote JWKS.
func (c Config) LocalIdentity() bool { return c.Development() && c.Auth.JWKSURL == "" }

// Development reports whether the embedded development default is on.
func (c Config) Development() bool { return c.AppEnv == EnvDevelopment }

// OfficeKeyPEM is the configured signing key, from JWT_PRIVATE_KEY or the
// file named by JWT_PRIVATE_KEY_FILE.
func (c Config) OfficeKeyPEM() string {
	if c.Office.PrivateKey != "" {
		return string(c.Office.PrivateKey)
	}
	return string(c.Office.PrivateKeyFile)
}

// VerificationKeysPEM is the bundle of extra published keys.
func (c Config) VerificationKeysPEM() string {
	if c.Office.VerificationKeys != "" {
		return c.Office.VerificationKeys
	}
	return c.Office.VerificationKeysFile
}

// SupabaseSecret is the configured HMAC secret.
func (c Config) SupabaseSecret() string {
	if c.Realtime.Secret != "" {
		return string(c.Realtime.Secret)
	}
	return strings.TrimSpace(string(c.Realtime.SecretFile))
}

// Validate returns one error naming every missing or invalid setting. In
// development, keys, the secret and the identity provider may be absent:
// the development kit provides them.
func (c Config) Validate() error {
	var errs []error
	bad := problemsInto(&errs)
	dev := c.Development()
	if c.Office.Issuer == "" {
		bad("JWT_ISSUER", "is required")
	}
	if c.Office.Audience == "" {
		bad("JWT_AUDIENCE", "is required")
	}
	if c.Office.TTL < time.Second || c.Office.TTL > time.Hour {
		bad("JWT_TTL", "must be between 1s and 1h")
	}
	errs = append(errs, c.validateKeys()...)
	switch u, err := url.Parse(c.WebSocketBaseURL); {
	case c.WebSocketBaseURL == "":
		bad("WEBSOCKET_BASE_URL", "is required")
	case err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "":
		bad("WEBSOCKET_BASE_URL", "must be a ws:// or wss:// URL")
	}
	if c.Realtime.Secret != "" && c.Realtime.SecretFile != "" {
		bad("SUPABASE_JWT_SECRET", "and SUPABASE_JWT_SECRET_FILE are both set; give one")
	}
	if s := c.SupabaseSecret(); s == "" {
		if !dev {
			bad("SUPABASE_JWT_SECRET", "is required (or SUPABASE_JWT_SECRET_FILE)")
		}
	} else if len(s) < jwtsigner.MinSecretBytes {
		bad("SUPABASE_JWT_SECRET", "must be at least %d bytes", jwtsigner.MinSecretBytes)
	}
	if c.Realtime.Issuer == "" {
		bad("SUPABASE_JWT_ISSUER", "must not be empty")
	}
	if c.Realtime.TTL < time.Second || c.Realtime.TTL > 24*time.Hour {
		bad("SUPABASE_JWT_TTL", "must be between 1s and 24h")
	}
	errs = append(errs, c.validateAuth(dev)...)
	errs = append(errs, c.validateService()...)
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("invalid configuration:\n  %w", joinLines(errs))
}

// validateKeys checks the office-router signing and verification keys.
func (c Config) validateKeys() []error {
	var errs []error
	bad := problemsInto(&errs)
	switch c.AppEnv {
	case EnvProduction, EnvDevelopment:
	default:
		bad("APP_ENV", "must be %q or %q", EnvProduction, EnvDevelopment)
	}
	if !slices.Contains(jwtsigner.Algorithms(), c.Office.Algorithm) {
		bad("JWT_ALGORITHM", "must be one of %s", strings.Join(jwtsigner.Algorithms(), ", "))
	}
	switch c.Office.Signer {
	case SignerGo, SignerOpenSSL, SignerAuto:
		errs = append(errs, c.validatePEMKey()...)
	case SignerPKCS11:
		if c.Office.Algorithm == jwtsigner.EdDSA {
			bad("JWT_ALGORITHM", "EdDSA is not offered with JWT_SIGNER=pkcs11 (PKCS#11 tokens through crypto11 have no Ed25519); use RS256, PS256 or ES256")
		}
		errs = append(errs, c.validatePKCS11()...)
	default:
		bad("JWT_SIGNER", "must be go, openssl, pkcs11 or auto")
	}
	return errs
}

// Signer backends.
const (
	SignerGo      = "go"
	SignerOpenSSL = "openssl"
	SignerPKCS11  = "pkcs11"
	SignerAuto    = "auto"
)

// validatePEMKey checks the signing key given as PEM and the published
// verification keys against the algorithm.
func (c Config) validatePEMKey() []error {
	var errs []error
	bad := problemsInto(&errs)
	if c.Office.PrivateKey != "" && c.Office.PrivateKeyFile != "" {
		bad("JWT_PRIVATE_KEY", "and JWT_PRIVATE_KEY_FILE are both set; give one")
	}
	var signing crypto.PublicKey
	if keyPEM := c.OfficeKeyPEM(); keyPEM == "" {
		if !c.Development() {
			bad("JWT_PRIVATE_KEY", "is required (or JWT_PRIVATE_KEY_FILE)")
		}
	} else if n := countPEMBlocks(keyPEM); n != 1 {
		bad("JWT_PRIVATE_KEY", "must hold exactly one key, found %d PEM blocks (publish other keys with JWT_VERIFICATION_KEYS)", n)
	} else if key, err := gosigner.Load(keyPEM); err != nil {
		bad("JWT_PRIVATE_KEY", "%v", err)
	} else if err := jwtsigner.KeyMatches(c.Office.Algorithm, key.Public()); err != nil {
		bad("JWT_PRIVATE_KEY", "does not fit JWT_ALGORITHM=%s: %v", c.Office.Algorithm, err)
	} else {
		signing = key.Public()
	}
	return append(errs, c.validateVerificationKeys(signing)...)
}

// validatePKCS11 checks the token settings; the key itself is checked
// when the token is opened at start.
func (c Config) validatePKCS11() []error {
	var errs []error
	bad := problemsInto(&errs)
	if c.OfficeKeyPEM() != "" {
		bad("JWT_PRIVATE_KEY", "must not be set with JWT_SIGNER=pkcs11: the key lives in the token")
	}
	for name, v := range map[string]string{"PKCS11_MODULE": c.PKCS11.Module, "PKCS11_TOKEN_LABEL": c.PKCS11.TokenLabel, "PKCS11_KEY_LABEL": c.PKCS11.KeyLabel} {
		if v == "" {
			bad(name, "is required with JWT_SIGNER=pkcs11")
		}
	}
	switch {
	case c.PKCS11.PIN != "" && c.PKCS11.PINFile != "":
		bad("PKCS11_PIN", "and PKCS11_PIN_FILE are both set; give one")
	case c.PKCS11.PIN == "" && c.PKCS11.PINFile == "":
		bad("PKCS11_PIN", "is required with JWT_SIGNER=pkcs11 (or PKCS11_PIN_FILE)")
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return append(errs, c.validateVerificationKeys(nil)...)
}

// validateVerificationKeys checks the published keys; signing, when known,
// is the signing key's public half.
func (c Config) validateVerificationKeys(signing crypto.PublicKey) []error {
	var errs []error
	add := problemsInto(&errs)
	bad := func(format string, args ...any) { add("JWT_VERIFICATION_KEYS", format, args...) }
	if c.Office.VerificationKeys != "" && c.Office.VerificationKeysFile != "" {
		bad("and JWT_VERIFICATION_KEYS_FILE are both set; give one")
	}
	bundle := c.VerificationKeysPEM()
	if bundle == "" {
		return errs
	}
	if strings.Contains(bundle, "PRIVATE KEY") {
		bad("must hold public keys only; a private key was given")
		return errs
	}
	pubs, err := pemkey.ParsePublicKeys(bundle)
	if err != nil {
		bad("%v", err)
		return errs
	}
	for i, pub := range pubs {
		if _, err := jwtsigner.AlgorithmFor(pub, c.Office.Algorithm); err != nil {
			bad("key %d: %v", i+1, err)
		}
	}
	if signing != nil && len(errs) == 0 {
		if _, err := statickeys.New(signing, c.Office.Algorithm, pubs); err != nil {
			bad("%v", err)
		}
	}
	return errs
}

// PKCS11PIN is the configured token PIN.
func (c Config) PKCS11PIN() string {
	if c.PKCS11.PIN != "" {
		return string(c.PKCS11.PIN)
	}
	return strings.TrimSpace(string(c.PKCS11.PINFile))
}

// RateLimitPolicy is the configured request budgets.
func (c Config) RateLimitPolicy() application.RateLimitPolicy {
	r := c.RateLimit
	return application.RateLimitPolicy{
		Enabled:      r.Enabled,
		FailOpen:     r.FailureMode != "closed",
		Office:       domain.Limit{Rate: r.OfficeRate, Period: r.OfficePeriod, Burst: r.OfficeBurst},
		Realtime:     domain.Limit{Rate: r.RealtimeRate, Period: r.RealtimePeriod, Burst: r.RealtimeBurst},
		AuthFailures: domain.Limit{Rate: r.AuthFailRate, Period: r.AuthFailPeriod, Burst: r.AuthFailBurst},
	}
}

func (c Config) validateService() []error {
	var errs []error
	bad := problemsInto(&errs)
	switch c.RateLimit.FailureMode {
	case "open", "closed":
	default:
		bad("RATE_LIMIT_FAILURE_MODE", "must be open or closed")
	}
	p := c.RateLimitPolicy()
	for name, l := range map[string]domain.Limit{"RATE_LIMIT_OFFICE": p.Office, "RATE_LIMIT_REALTIME": p.Realtime, "RATE_LIMIT_AUTH_FAILURE": p.AuthFailures} {
		if !l.Valid() {
			bad(name+"_RATE/_PERIOD/_BURST", "must all be positive")
		}
	}
	if c.RedisURL != "" {
		if _, err := redislimit.ParseURL(string(c.RedisURL)); err != nil {
			bad("REDIS_URL", "is not a redis:// or rediss:// URL")
		}
	}
	for _, cidr := range c.TrustedProxies {
		if _, err := netip.ParsePrefix(cidr); err != nil {
			if _, err := netip.ParseAddr(cidr); err != nil {
				bad("TRUSTED_PROXIES", "%q is not a CIDR or an address", cidr)
			}
		}
	}
	for _, o := range c.CORSAllowedOrigins {
		if u, err := url.Parse(o); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Path != "" || o == "*" {
			bad("CORS_ALLOWED_ORIGINS", "%q is not an origin such as https://app.example.com", o)
		}
	}
	if c.HTTP.DrainDelay < 0 || c.HTTP.DrainDelay >= c.HTTP.ShutdownTimeout {
		bad("HTTP_DRAIN_DELAY", "must be at least 0s and shorter than HTTP_SHUTDOWN_TIMEOUT")
	}
	if c.HTTP.MaxBodyBytes < 64 || c.HTTP.MaxBodyBytes > 1<<20 {
		bad("HTTP_MAX_BODY_BYTES", "must be between 64 and 1048576")
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		bad("LOG_LEVEL", "must be debug, info, warn or error")
	}
	if c.AdminAddr == c.HTTP.Addr && !strings.HasSuffix(c.AdminAddr, ":0") {
		bad("ADMIN_ADDR", "must differ from HTTP_ADDR: metrics stay off the public port")
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errs
}

// problemsInto returns a function that appends "NAME: problem" to errs:
// every validator reports this way, so one message can name them all.
func problemsInto(errs *[]error) func(name, format string, args ...any) {
	return func(name, format string, args ...any) {
		*errs = append(*errs, fmt.Errorf("%s: "+format, append([]any{name}, args...)...))
	}
}

func countPEMBlocks(text string) int {
	rest, n := []byte(pemkey.Normalize(text)), 0
	for {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			return n
		}
		n++
	}
}

func (c Config) validateAuth(dev bool) []error {
	var errs []error
	bad := problemsInto(&errs)
	localIdentity := dev && c.LocalIdentity()
	if c.Auth.JWKSURL == "" && !localIdentity {
		bad("AUTH_JWKS_URL", "is required")
	} else if c.Auth.JWKSURL != "" {
		if err := jwksidentity.CheckURL(c.Auth.JWKSURL); err != nil {
			bad("AUTH_JWKS_URL", "%v", err)
		}
	}
	if c.Auth.Issuer == "" && !localIdentity {
		bad("AUTH_ISSUER", "is required")
	}
	if c.Auth.Issuer != "" && (c.Auth.Issuer == c.Office.Issuer || c.Auth.Issuer == c.Realtime.Issuer) {
		// gatepass's own tokens must never pass as a caller's identity.
		bad("AUTH_ISSUER", "must differ from JWT_ISSUER and SUPABASE_JWT_ISSUER")
	}
	if err := jwksidentity.CheckAlgorithms(c.Auth.Algorithms); err != nil {
		bad("AUTH_ALGORITHMS", "%v", err)
	}
	if c.Auth.Leeway < 0 || c.Auth.Leeway > 5*time.Minute {
		bad("AUTH_LEEWAY", "must be between 0s and 5m")
	}
	if c.Auth.CacheSize < 0 || c.Auth.CacheSize > 1_000_000 {
		bad("AUTH_CACHE_SIZE", "must be between 0 and 1000000")
	}
	if c.Auth.CacheMaxAge < 0 || c.Auth.CacheMaxAge > time.Hour {
		bad("AUTH_CACHE_MAX_AGE", "must be between 0s and 1h")
	}
	if c.Auth.OrgClaim == "" {
		bad("AUTH_ORG_CLAIM", "must not be empty")
	}
	if c.Auth.RoleClaim == "" {
		bad("AUTH_ROLE_CLAIM", "must not be empty")
	}
	return errs
}

type lineErrors []error

func (l lineErrors) Error() string {
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n  ")
}

func (l lineErrors) Unwrap() []error { return l }

func joinLines(errs []error) error { return lineErrors(errs) }

// redactURL hides a URL's password, should an operator put one in it.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable)"
	}
	return u.Redacted()
}

// LoadDevConfig reads the configuration for the development tools: it
// refuses anything but the development default with local identities.
func LoadDevConfig(environ map[string]string) (Config, error) {
	cfg, err := parseConfig(environ)
	if err != nil {
		return Config{}, err
	}
	if !cfg.LocalIdentity() {
		return Config{}, errors.New("this works only with APP_ENV=development and no AUTH_JWKS_URL (the default of make run): production identities come from the identity provider")
	}
	return cfg, cfg.Validate()
}

// LogValue is the effective configuration as logged at start: durations
// as text, secrets and keys masked.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("app_env", c.AppEnv),
		slog.String("http_addr", c.HTTP.Addr),
		slog.String("jwt_issuer", c.Office.Issuer),
		slog.String("jwt_audience", c.Office.Audience),
		slog.String("jwt_ttl", c.Office.TTL.String()),
		slog.String("jwt_algorithm", c.Office.Algorithm),
		slog.String("jwt_signer", c.Office.Signer),
		slog.String("jwt_private_key", Secret(c.OfficeKeyPEM()).String()),
		slog.Bool("jwt_verification_keys", c.VerificationKeysPEM() != ""),
		slog.String("websocket_base_url", c.WebSocketBaseURL),
		slog.String("supabase_jwt_issuer", c.Realtime.Issuer),
		slog.String("supabase_jwt_ttl", c.Realtime.TTL.String()),
		slog.String("supabase_jwt_secret", Secret(c.SupabaseSecret()).String()),
		slog.String("auth_jwks_url", redactURL(c.Auth.JWKSURL)),
		slog.String("auth_issuer", c.Auth.Issuer),
		slog.String("auth_audience", c.Auth.Audience),
		slog.Any("auth_algorithms", c.Auth.Algorithms),
		slog.String("auth_leeway", c.Auth.Leeway.String()),
		slog.Bool("local_identity", c.LocalIdentity()),
		slog.String("admin_addr", c.AdminAddr),
		slog.Bool("rate_limit_enabled", c.RateLimit.Enabled),
		slog.String("rate_limit_failure_mode", c.RateLimit.FailureMode),
		slog.String("rate_limit_store", map[bool]string{true: "redis", false: "memory"}[c.RedisURL != ""]),
		slog.Any("trusted_proxies", c.TrustedProxies),
		slog.Any("cors_allowed_origins", c.CORSAllowedOrigins),
	)
}
