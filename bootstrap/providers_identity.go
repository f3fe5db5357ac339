package bootstrap

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/gatepass/gatepass/adapters/devidentity"
	"github.com/gatepass/gatepass/adapters/jwksidentity"
	"github.com/gatepass/gatepass/adapters/prom"
	"github.com/gatepass/gatepass/domain"
)

// IdentityKeys is where caller tokens' keys come from, and whether they are
// in hand.
type IdentityKeys struct {
	Source jwksidentity.KeySource
	Ready  func(ctx context.Context) (string, error)
}

// ProvideIdentityKeys returns the identity provider's keys: the remote JWKS,
// or the development identity key. The cleanup stops background refreshes.
func ProvideIdentityKeys(ctx context.Context, cfg Config, metrics *prom.Metrics, logger *slog.Logger) (IdentityKeys, func(), error) {
	if cfg.DevIdentityKey != nil {
		set, err := devidentity.KeySetJSON(cfg.DevIdentityKey)
		if err != nil {
			return IdentityKeys{}, nil, err
		}
		kf, err := jwksidentity.NewStaticKeys(set)
		if err != nil {
			return IdentityKeys{}, nil, err
		}
		// The development key is loaded once, at start, and never refreshed.
		metrics.IdentityKeys(func(ctx context.Context) int { return jwksidentity.CountKeys(ctx, kf) })
		metrics.IdentityRefresh(nil)
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
	metrics.IdentityKeys(keys.KeyCount)
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
		NoAudience: cfg.Auth.NoAudience,

		PermissionsClaim: cfg.Auth.PermissionsClaim,
	})
}

// ProvideCachedIdentity puts the cache of verified access tokens in front of
// the verifier, unless AUTH_CACHE_SIZE or AUTH_CACHE_MAX_AGE is 0.
func ProvideCachedIdentity(cfg Config, v *jwksidentity.Verifier, metrics *prom.Metrics) (domain.IdentityVerifier, error) {
	if cfg.Auth.CacheSize == 0 || cfg.Auth.CacheMaxAge == 0 {
		return v, nil
	}
	return jwksidentity.NewCached(v, cfg.Auth.CacheSize, cfg.Auth.CacheMaxAge, nil, jwksidentity.OnLookup(metrics.IdentityCacheLookup))
}
