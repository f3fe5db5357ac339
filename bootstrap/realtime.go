package bootstrap

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/gatepass/gatepass/adapters/devidentity"
	"github.com/gatepass/gatepass/adapters/jwtsigner"
	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
)

// Supabase Realtime's settings block: its tokens are signed with the
// Supabase project's JWT secret, which is required (SUPABASE_JWT_*, declared
// in the environment: see environment.Realtime). In development the
// secret comes from the development folder.

// realtimeLimitsEnv is the Realtime token's budget.
type realtimeLimitsEnv struct {
	Rate   int           `env:"RATE_LIMIT_REALTIME_RATE" envDefault:"10"`
	Period time.Duration `env:"RATE_LIMIT_REALTIME_PERIOD" envDefault:"1m"`
	Burst  int           `env:"RATE_LIMIT_REALTIME_BURST" envDefault:"5"`
}

type realtime struct{}

// The block's registration.
var _ = registerTransport(domain.GrantRealtime, realtime{})

// Supabase Realtime's evictor: it cannot close a channel, which lasts
// until its token expires.
var _ = registerEvictor(domain.TransportSupabaseRealtime, realtimeEvictor)

func realtimeEvictor(cfg Config, _ EvictorDeps) (domain.Evictor, error) {
	return application.ExpiringEvictor{Of: domain.TransportSupabaseRealtime, TTL: cfg.Realtime.TTL}, nil
}

func (realtime) newEnv() any { return new(realtimeLimitsEnv) }

// devSecret is none of the transports' secrets: the development folder's
// Supabase secret comes with its identity key (devMaterial).
func (realtime) devSecret(environment) string { return "" }

func (realtime) prepareDevelopment(environment) error { return nil }

// configure reads the token's settings into cfg.Realtime; they are
// required, so the kind is never disabled.
func (realtime) configure(e environment, dev *devMaterial, cfg *Config, p *problems) {
	cfg.Realtime = realtimeFrom(e, dev, p)
}

// realtimeFrom reads the Supabase Realtime token's settings.
func realtimeFrom(e environment, dev *devMaterial, p *problems) RealtimeConfig {
	re := e.Realtime
	r := RealtimeConfig{Issuer: re.Issuer, TTL: re.TTL, Secret: []byte(re.Secret.value)}
	name := "SUPABASE_JWT_SECRET"
	if re.Secret.file != "" {
		name += fileSuffix
	}
	if len(r.Secret) == 0 && dev != nil {
		r.Secret = []byte(dev.supabaseSecret)
	}
	switch {
	case len(r.Secret) == 0:
		switch {
		case p.has("SUPABASE_JWT_SECRET") || p.has("SUPABASE_JWT_SECRET_FILE"):
		case re.Secret.file != "":
			p.add(name, "names an empty file (%s)", re.Secret.file)
		default:
			p.add(name, "is required (or SUPABASE_JWT_SECRET_FILE)")
		}
	case len(r.Secret) < jwtsigner.MinSecretBytes:
		p.add(name, "must be at least %d bytes", jwtsigner.MinSecretBytes)
	}
	if r.Issuer == "" {
		p.add("SUPABASE_JWT_ISSUER", "must not be empty")
	}
	// Reported here beside every other problem; the definition refuses
	// the same settings.
	_, err := domain.NewRealtimeSettings(domain.RealtimeSettings{Issuer: r.Issuer, TTL: r.TTL})
	p.addSettings(err, map[string]string{"TTL": "SUPABASE_JWT_TTL"}, "SUPABASE_JWT_TTL")
	return r
}

// RealtimeSecretFile is the file the Supabase Realtime secret was read
// from, for `gatepass token verify --secret-file`: SUPABASE_JWT_SECRET_FILE,
// or in development the development folder's file (devDir is the folder
// as the caller names it); "" when SUPABASE_JWT_SECRET gave it.
func (c Config) RealtimeSecretFile(devDir string) string {
	switch s := c.env.Realtime.Secret; {
	case s.file != "":
		return s.file
	case c.Development() && !s.Set():
		return filepath.Join(devDir, devidentity.SupabaseFile)
	}
	return ""
}

func (realtime) limits(e environment) map[domain.GrantKind]domain.Limit {
	r := envOf[realtimeLimitsEnv](e)
	return map[domain.GrantKind]domain.Limit{domain.GrantRealtime: grantLimit(domain.GrantRealtime, r.Rate, r.Period, r.Burst)}
}

// provide registers the Supabase Realtime token, signed with the
// project's JWT secret.
func (realtime) provide(cfg Config, _ *jwtsigner.OfficeSigner, _ *slog.Logger) ([]application.GrantRegistration, error) {
	s, err := jwtsigner.NewRealtimeSigner(cfg.Realtime.Secret)
	if err != nil {
		return nil, err
	}
	def, err := domain.RealtimeDefinition(domain.RealtimeSettings{Issuer: cfg.Realtime.Issuer, TTL: cfg.Realtime.TTL})
	if err != nil {
		return nil, err
	}
	return []application.GrantRegistration{application.RegisterGrant(def, cfg.GrantExpiryBound, s.SignRealtime)}, nil
}

func (realtime) banner(cfg Config, w Welcome) (string, BannerPlace) {
	secretFile := cfg.RealtimeSecretFile(w.DevDir)
	if secretFile == "" {
		secretFile = "FILE"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Supabase Realtime token. Get a token, verify it:\n")
	fmt.Fprintf(&b, "  curl -sS -X POST %s/api/v1/realtime/token -H 'Authorization: Bearer %s'\n", w.Base, w.Token)
	fmt.Fprintf(&b, "  bin/gatepass token verify --secret-file %s --issuer %s --audience %s TOKEN\n\n", secretFile, cfg.Realtime.Issuer, domain.RealtimeAudience)
	return b.String(), BannerWithGrants
}
