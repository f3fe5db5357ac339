package bootstrap

import (
	"errors"
	"log/slog"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/gatepass/gatepass/adapters/jwksidentity"
	"github.com/gatepass/gatepass/adapters/redislimit"
	"github.com/gatepass/gatepass/adapters/yamlpolicy"
	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
)

// authFrom reads how callers are verified. In development without
// AUTH_JWKS_URL, callers are verified against the local development
// identity key.
func authFrom(e environment, dev bool, p *problems) AuthConfig {
	a := e.Auth
	c := AuthConfig{
		JWKSURL: a.JWKSURL, Issuer: a.Issuer, Audience: a.Audience, NoAudience: !a.AudienceRequired, PermissionsClaim: a.PermissionsClaim,
		Algorithms: a.Algorithms, Leeway: a.Leeway,
		OrgClaim: a.OrgClaim, RoleClaim: a.RoleClaim, JWKSRefresh: a.JWKSRefresh, JWKSUnknownKIDWait: a.JWKSUnknownKIDWait,
		JWKSTimeout: a.JWKSTimeout, CacheSize: a.CacheSize, CacheMaxAge: a.CacheMaxAge,
	}
	local := dev && c.JWKSURL == ""
	if c.JWKSURL == "" && !local {
		p.add("AUTH_JWKS_URL", "is required")
	} else if c.JWKSURL != "" {
		if err := jwksidentity.CheckURL(c.JWKSURL); err != nil {
			p.add("AUTH_JWKS_URL", "%v", err)
		}
	}
	if c.Issuer == "" && !local {
		p.add("AUTH_ISSUER", "is required")
	}
	switch {
	case c.Audience != "" && c.NoAudience:
		p.add("AUTH_AUDIENCE_REQUIRED", "is false, but AUTH_AUDIENCE is set: give one")
	case c.Audience == "" && !c.NoAudience && !dev:
		// Without either, a token of the same provider for any other
		// audience would be accepted.
		p.add("AUTH_AUDIENCE", "is required; or set AUTH_AUDIENCE_REQUIRED=false when the provider's access tokens carry no aud (WorkOS AuthKit without an audience)")
	}
	if c.PermissionsClaim == "" {
		p.add("AUTH_PERMISSIONS_CLAIM", "must not be empty")
	}
	if c.Issuer != "" && (c.Issuer == e.Office.Issuer || c.Issuer == e.Realtime.Issuer) {
		// gatepass's own tokens must never pass as a caller's identity.
		p.add("AUTH_ISSUER", "must differ from JWT_ISSUER and SUPABASE_JWT_ISSUER")
	}
	if err := jwksidentity.CheckAlgorithms(c.Algorithms); err != nil {
		p.add("AUTH_ALGORITHMS", "%v", err)
	}
	if c.Leeway < 0 || c.Leeway > 5*time.Minute {
		p.add("AUTH_LEEWAY", "must be between 0s and 5m")
	}
	if c.CacheSize < 0 || c.CacheSize > 1_000_000 {
		p.add("AUTH_CACHE_SIZE", "must be between 0 and 1000000")
	}
	if c.CacheMaxAge < 0 || c.CacheMaxAge > time.Hour {
		p.add("AUTH_CACHE_MAX_AGE", "must be between 0s and 1h")
	}
	if c.OrgClaim == "" {
		p.add("AUTH_ORG_CLAIM", "must not be empty")
	}
	if c.RoleClaim == "" {
		p.add("AUTH_ROLE_CLAIM", "must not be empty")
	}
	return c
}

// serviceFrom reads the listeners, limits, proxies, CORS, logging, the
// public base URL and the transport policy.
func serviceFrom(e environment, cfg *Config, p *problems) {
	cfg.AdminAddr = e.AdminAddr
	cfg.HTTP = HTTPConfig(e.HTTP)
	cfg.RateLimit = rateLimitsFrom(e, p)
	cfg.Redis = redisFrom(e, p)
	cfg.RateLimit.Store = redisStoreNames[cfg.Redis.Topology()]
	cfg.Revocation = revocationFrom(e, p)
	cfg.TrustedProxies = trustedProxiesFrom(e.TrustedProxies, p)
	if err := cfg.GrantExpiryBound.UnmarshalText([]byte(e.GrantExpiryBound)); err != nil {
		p.add("GRANT_EXPIRY_BOUND", "must be none or identity")
	}
	if cfg.HTTP.MaxConnections < 0 {
		p.add("HTTP_MAX_CONNECTIONS", "must be 0 (80%% of the open-file limit) or a positive number")
	}
	cfg.CORSAllowedOrigins = e.CORSAllowedOrigins
	for _, o := range e.CORSAllowedOrigins {
		if u, err := url.Parse(o); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Path != "" || o == "*" {
			p.add("CORS_ALLOWED_ORIGINS", "%q is not an origin such as https://app.example.com", o)
		}
	}
	if h := cfg.HTTP; h.DrainDelay < 0 || h.DrainDelay >= h.ShutdownTimeout {
		p.add("HTTP_DRAIN_DELAY", "must be at least 0s and shorter than HTTP_SHUTDOWN_TIMEOUT")
	}
	if n := cfg.HTTP.MaxBodyBytes; n < 64 || n > 1<<20 {
		p.add("HTTP_MAX_BODY_BYTES", "must be between 64 and 1048576")
	}
	if err := cfg.LogLevel.UnmarshalText([]byte(e.LogLevel)); err != nil {
		p.add("LOG_LEVEL", "must be debug, info, warn or error")
		cfg.LogLevel = slog.LevelInfo
	}
	if cfg.AdminAddr == cfg.HTTP.Addr && !strings.HasSuffix(cfg.AdminAddr, ":0") {
		p.add("ADMIN_ADDR", "must differ from HTTP_ADDR: metrics stay off the public port")
	}
	if e.PublicBaseURL != "" {
		if err := checkPublicBaseURL(e.PublicBaseURL); err != nil {
			p.add("PUBLIC_BASE_URL", "%v", err)
		}
		cfg.PublicBaseURL = strings.TrimSuffix(e.PublicBaseURL, "/")
	}
	cfg.Policy = policyFrom(e.PolicyFile, p)
}

// policyFrom is the transport policy: GATEPASS_POLICY_FILE's, or the
// built-in one.
func policyFrom(path string, p *problems) *application.Policy {
	if path == "" {
		return application.DefaultPolicy()
	}
	rules, err := yamlpolicy.Load(path)
	if err != nil {
		p.add("GATEPASS_POLICY_FILE", "%v", err)
		return application.DefaultPolicy()
	}
	policy, err := application.NewPolicy(rules)
	if err != nil {
		p.add("GATEPASS_POLICY_FILE", "%v", err)
		return application.DefaultPolicy()
	}
	return policy
}

var errPublicBaseURL = errors.New("must be an https:// URL (http:// only on loopback) without query or fragment")

// checkPublicBaseURL accepts https://, and http:// only to a loopback host.
func checkPublicBaseURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return errPublicBaseURL
	}
	switch {
	case u.Scheme == "https", u.Scheme == "http" && loopbackHost(u.Hostname()):
		return nil
	}
	return errPublicBaseURL
}

// redisStoreNames name the rate-limit store in readiness details.
var redisStoreNames = map[redislimit.Topology]string{
	"":                          "memory",
	redislimit.TopologyNode:     "redis",
	redislimit.TopologyCluster:  "redis cluster",
	redislimit.TopologySentinel: "redis sentinel",
}

// redisFrom reads where budgets are shared: exactly one of REDIS_URL,
// REDIS_CLUSTER_ADDRS and REDIS_SENTINEL_ADDRS (with REDIS_SENTINEL_MASTER),
// or none for budgets in memory. REDIS_PASSWORD serves whichever is set.
func redisFrom(e environment, p *problems) redislimit.Target {
	var set []string
	if e.RedisURL.Set() {
		set = append(set, "REDIS_URL")
	}
	if len(e.RedisClusterAddrs) > 0 {
		set = append(set, "REDIS_CLUSTER_ADDRS")
	}
	if len(e.RedisSentinelAddrs) > 0 {
		set = append(set, "REDIS_SENTINEL_ADDRS")
	}
	password, passwordName := e.RedisPassword.value, "REDIS_PASSWORD"
	if e.RedisPassword.file != "" {
		passwordName += fileSuffix
	}
	if e.RedisSentinelMaster != "" && len(e.RedisSentinelAddrs) == 0 {
		p.add("REDIS_SENTINEL_MASTER", "is set without REDIS_SENTINEL_ADDRS")
	}
	switch len(set) {
	case 0:
		if password != "" {
			p.add(passwordName, "is set, but no Redis is: set one of REDIS_URL, REDIS_CLUSTER_ADDRS or REDIS_SENTINEL_ADDRS")
		}
		return redislimit.Target{}
	case 1:
	default:
		p.add(strings.Join(set, " and "), "are all set; set exactly one Redis: REDIS_URL, REDIS_CLUSTER_ADDRS or REDIS_SENTINEL_ADDRS")
		return redislimit.Target{}
	}
	var (
		target redislimit.Target
		err    error
	)
	switch set[0] {
	case "REDIS_URL":
		target, err = redislimit.NodeTarget(e.RedisURL.value, password)
		if errors.Is(err, redislimit.ErrTwoPasswords) {
			p.add(passwordName, "is set, and REDIS_URL carries a password too; give one")
		} else if err != nil {
			p.add("REDIS_URL", "is not a redis:// or rediss:// URL")
		}
	case "REDIS_CLUSTER_ADDRS":
		target, err = redislimit.ClusterTarget(e.RedisClusterAddrs, password)
		if err != nil {
			p.add("REDIS_CLUSTER_ADDRS", "must be comma-separated host:port addresses")
		}
	default:
		target, err = redislimit.SentinelTarget(e.RedisSentinelAddrs, e.RedisSentinelMaster, password)
		switch {
		case errors.Is(err, redislimit.ErrNoMasterName):
			p.add("REDIS_SENTINEL_MASTER", "is required with REDIS_SENTINEL_ADDRS")
		case err != nil:
			p.add("REDIS_SENTINEL_ADDRS", "must be comma-separated host:port addresses")
		}
	}
	return target
}

// trustedProxiesFrom parses the proxies' CIDRs; a bare address is a
// network of one. IPv4-mapped IPv6 networks become the IPv4 networks they
// stand for, since client addresses are compared unmapped.
func trustedProxiesFrom(list []string, p *problems) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		s = strings.TrimSpace(s)
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil || a.Zone() != "" {
				p.add("TRUSTED_PROXIES", "%q is not a CIDR or an address", s)
				continue
			}
			pfx = netip.PrefixFrom(a, a.BitLen())
		}
		if a := pfx.Addr(); a.Is4In6() {
			if pfx.Bits() < 96 {
				p.add("TRUSTED_PROXIES", "%q mixes IPv4-mapped and other IPv6 addresses", s)
				continue
			}
			pfx = netip.PrefixFrom(a.Unmap(), pfx.Bits()-96)
		}
		out = append(out, pfx.Masked())
	}
	return out
}

// rateLimitsFrom is the request budgets as the application enforces them.
func rateLimitsFrom(e environment, p *problems) application.RateLimitPolicy {
	r := e.RateLimit
	policy := application.RateLimitPolicy{
		Enabled:      r.Enabled,
		StoreTimeout: r.StoreTimeout,
		IPv6Prefix:   r.IPv6Prefix,
		AuthFailures: domain.Limit{Budget: domain.BudgetAuthFailure, Rate: r.AuthFailRate, Period: r.AuthFailPeriod, Burst: r.AuthFailBurst},
		Grants:       transportLimits(e),
	}
	if err := policy.FailureMode.UnmarshalText([]byte(r.FailureMode)); err != nil {
		p.add("RATE_LIMIT_FAILURE_MODE", "must be open or closed")
	}
	if r.StoreTimeout < 10*time.Millisecond || r.StoreTimeout > 5*time.Second {
		p.add("RATE_LIMIT_STORE_TIMEOUT", "must be between 10ms and 5s")
	}
	if r.IPv6Prefix < 32 || r.IPv6Prefix > 128 {
		p.add("RATE_LIMIT_IPV6_PREFIX", "must be between 32 and 128")
	}
	if !policy.AuthFailures.Valid() {
		p.add("RATE_LIMIT_AUTH_FAILURE_RATE/_PERIOD/_BURST", "must all be positive")
	}
	for _, kind := range domain.GrantKinds() {
		if !policy.Grants[kind].Valid() {
			p.add("RATE_LIMIT_"+strings.ToUpper(kind.String())+"_RATE/_PERIOD/_BURST", "must all be positive")
		}
	}
	return policy
}

func grantLimit(kind domain.GrantKind, rate int, period time.Duration, burst int) domain.Limit {
	return domain.Limit{Budget: domain.BudgetOf(kind), Rate: rate, Period: period, Burst: burst}
}
