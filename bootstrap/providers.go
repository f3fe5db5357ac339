package bootstrap

import (
	"context"
	"crypto"
	"crypto/rsa"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/MicahParks/keyfunc/v3"

	"github.com/gatepass/gatepass/adapters/devidentity"
	"github.com/gatepass/gatepass/adapters/ginhttp"
	"github.com/gatepass/gatepass/adapters/jwksidentity"
	"github.com/gatepass/gatepass/adapters/jwtsigner"
	"github.com/gatepass/gatepass/adapters/pemkey"
	"github.com/gatepass/gatepass/adapters/statickeys"
	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
)

// Server is everything `gatepass serve` needs, built by InitializeServer.
type Server struct {
	Handler http.Handler
	Office  *jwtsigner.OfficeSigner
	// Dev is the development kit; nil unless callers are verified against
	// the local development identity key.
	Dev *DevKit
}

// DevKit mints development identity tokens the server accepts.
type DevKit struct {
	IdentityKey *rsa.PrivateKey
}

// Material is the key material the signers and the identity verifier use.
type Material struct {
	OfficeKey *rsa.PrivateKey
	// Published are the extra verification keys of a rotation.
	Published      []crypto.PublicKey
	SupabaseSecret []byte
	Dev            *DevKit
}

// ProvideMaterial parses the configured keys; in development, whatever is
// not configured comes from the development folder.
func ProvideMaterial(cfg Config) (Material, error) {
	officePEM, secret := cfg.OfficeKeyPEM(), cfg.SupabaseSecret()
	var m Material
	if cfg.Development() && (officePEM == "" || secret == "" || cfg.LocalIdentity()) {
		dev, err := devidentity.LoadOrCreate(cfg.DevDir)
		if err != nil {
			return Material{}, err
		}
		if officePEM == "" {
			officePEM = dev.OfficeKeyPEM
		}
		if secret == "" {
			secret = dev.SupabaseSecret
		}
		if cfg.LocalIdentity() {
			m.Dev = &DevKit{IdentityKey: dev.IdentityKey}
		}
	}
	key, err := pemkey.ParsePrivateRSA(officePEM)
	if err != nil {
		return Material{}, fmt.Errorf("office signing key: %w", err)
	}
	m.OfficeKey, m.SupabaseSecret = key, []byte(secret)
	if bundle := cfg.VerificationKeysPEM(); bundle != "" {
		pubs, err := pemkey.ParsePublicRSAs(bundle)
		if err != nil {
			return Material{}, fmt.Errorf("verification keys: %w", err)
		}
		m.Published = publicKeys(pubs)
	}
	return m, nil
}

// ProvideDevKit exposes the development kit of the material.
func ProvideDevKit(m Material) *DevKit { return m.Dev }

// ProvideOfficeSigner signs office-router grants with the active key.
func ProvideOfficeSigner(cfg Config, m Material) (*jwtsigner.OfficeSigner, error) {
	return jwtsigner.NewOfficeSigner(m.OfficeKey, cfg.Office.Algorithm)
}

// ProvideKeySet is the set of office-router keys the JWKS publishes.
func ProvideKeySet(cfg Config, m Material) (*statickeys.KeySet, error) {
	return statickeys.New(&m.OfficeKey.PublicKey, cfg.Office.Algorithm, m.Published)
}

// ProvideRealtimeSigner signs Supabase Realtime tokens.
func ProvideRealtimeSigner(m Material) (*jwtsigner.RealtimeSigner, error) {
	return jwtsigner.NewRealtimeSigner(m.SupabaseSecret)
}

// ProvideIdentityKeys returns the identity provider's keys: the remote JWKS,
// or the development identity key. The cleanup stops background refreshes.
func ProvideIdentityKeys(ctx context.Context, cfg Config, m Material, logger *slog.Logger) (keyfunc.Keyfunc, func(), error) {
	if m.Dev != nil {
		set, err := devidentity.KeySetJSON(m.Dev.IdentityKey)
		if err != nil {
			return nil, nil, err
		}
		kf, err := jwksidentity.NewStaticKeys(set)
		return kf, func() {}, err
	}
	ctx, cancel := context.WithCancel(ctx)
	kf, err := jwksidentity.NewRemoteKeys(ctx, cfg.Auth.JWKSURL, jwksidentity.RemoteOptions{
		RefreshInterval:    cfg.Auth.JWKSRefresh,
		UnknownKIDInterval: cfg.Auth.JWKSUnknownKIDWait,
		HTTPTimeout:        cfg.Auth.JWKSTimeout,
		Logger:             logger,
	})
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("identity keys: %w", err)
	}
	return kf, cancel, nil
}

// ProvideIdentityVerifier verifies callers with the identity keys.
func ProvideIdentityVerifier(cfg Config, keys keyfunc.Keyfunc) (*jwksidentity.Verifier, error) {
	return jwksidentity.New(keys, jwksidentity.Options{
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
func ProvideRouter(app *application.Application, cfg Config, logger *slog.Logger) http.Handler {
	return ginhttp.NewRouter(app, ginhttp.Options{Logger: logger, MaxBodyBytes: cfg.HTTP.MaxBodyBytes})
}
