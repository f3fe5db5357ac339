package bootstrap

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/gatepass/gatepass/adapters/jwtsigner"
	"github.com/gatepass/gatepass/adapters/livekitapi"
	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
)

// LiveKit's settings block: the transport is enabled by any of its
// variables, and a partial setting is refused.

// Development defaults of LiveKit: livekit-server --dev on loopback.
const (
	DevLiveKitURL    = "ws://127.0.0.1:7880"
	DevLiveKitAPIKey = "devkey"
)

// liveKitSecretFile keeps the development LiveKit API secret, which
// `livekit-server --dev --keys "devkey: <secret>"` must be given.
const liveKitSecretFile = "livekit-secret"

type liveKitEnv struct {
	URL       string        `env:"LIVEKIT_URL"`
	APIKey    string        `env:"LIVEKIT_API_KEY"`
	APISecret secret        `env:"LIVEKIT_API_SECRET"`
	TokenTTL  time.Duration `env:"LIVEKIT_TOKEN_TTL" envDefault:"10m"`
	// APIURL is where gatepass calls the server's API; LIVEKIT_URL's
	// address when empty.
	APIURL string `env:"LIVEKIT_API_URL"`

	Rate   int           `env:"RATE_LIMIT_LIVEKIT_RATE" envDefault:"30"`
	Period time.Duration `env:"RATE_LIMIT_LIVEKIT_PERIOD" envDefault:"1m"`
	Burst  int           `env:"RATE_LIMIT_LIVEKIT_BURST" envDefault:"10"`
}

// unset reports whether none of the transport's own variables is set.
func (e liveKitEnv) unset() bool {
	return e.URL == "" && e.APIKey == "" && !e.APISecret.Set() && e.APIURL == ""
}

// LiveKitConfig is the LiveKit transport: where clients join, the API key
// and secret its tokens are signed with, and where gatepass calls the
// server's API to evict revoked participants.
type LiveKitConfig struct {
	domain.LiveKitSettings
	APISecret []byte
	// APIURL is the server's HTTP(S) API base: LIVEKIT_API_URL, or
	// LIVEKIT_URL with ws made http and wss https.
	APIURL string
}

type liveKit struct{}

// The block's registration.
var _ = registerTransport(domain.GrantLiveKit, liveKit{})

// LiveKit's evictor.
var _ = registerEvictor(domain.TransportLiveKit, liveKitEvictor)

// liveKitEvictor removes revoked users' participants through the server's
// RoomService API; nil while LiveKit is disabled.
func liveKitEvictor(cfg Config, _ EvictorDeps) (domain.Evictor, error) {
	if cfg.LiveKit() == nil {
		return nil, nil
	}
	return liveKitRooms(cfg.LiveKit())
}

// liveKitRooms is the client of the server's RoomService API.
func liveKitRooms(lk *LiveKitConfig) (*livekitapi.RoomService, error) {
	rooms, err := livekitapi.New(livekitapi.Config{URL: lk.APIURL, APIKey: lk.APIKey, APISecret: lk.APISecret})
	if err != nil {
		return nil, fmt.Errorf("LIVEKIT_API_URL: %w", err)
	}
	return rooms, nil
}

func (liveKit) newEnv() any { return new(liveKitEnv) }

// LiveKit is the LiveKit transport's configuration; nil while it is disabled.
func (c Config) LiveKit() *LiveKitConfig { return configOf[LiveKitConfig](c) }

func (liveKit) devSecret(e environment) string {
	if envOf[liveKitEnv](e).unset() {
		return liveKitSecretFile
	}
	return ""
}

// prepareDevelopment writes nothing: livekit-server --dev takes its key
// on the command line the banner prints.
func (liveKit) prepareDevelopment(environment) error { return nil }

func (liveKit) configure(e environment, dev *devMaterial, cfg *Config, p *problems) {
	lk := envOf[liveKitEnv](e)
	if dev != nil && lk.unset() {
		lk.URL, lk.APIKey, lk.APISecret = DevLiveKitURL, DevLiveKitAPIKey, secret{value: dev.secrets[liveKitSecretFile]}
	}
	if !lk.unset() {
		setConfig(cfg, liveKitFrom(lk, cfg.Development(), p))
	}
}

func liveKitFrom(e liveKitEnv, development bool, p *problems) *LiveKitConfig {
	c := &LiveKitConfig{
		LiveKitSettings: domain.LiveKitSettings{APIKey: e.APIKey, TTL: e.TokenTTL, URL: e.URL},
		APISecret:       []byte(e.APISecret.value),
	}
	if e.URL == "" {
		p.add("LIVEKIT_URL", "is required when LIVEKIT_API_KEY, LIVEKIT_API_SECRET or LIVEKIT_API_URL is set")
	} else if err := checkWebSocketURL(e.URL, development); err != nil {
		p.add("LIVEKIT_URL", "%v", err)
	} else if e.APIURL == "" {
		c.APIURL = liveKitAPIURL(e.URL)
	}
	if e.APIURL != "" {
		if err := checkAPIURL(e.APIURL, development); err != nil {
			p.add("LIVEKIT_API_URL", "%v", err)
		}
		c.APIURL = e.APIURL
	}
	if e.APIKey == "" {
		p.add("LIVEKIT_API_KEY", "is required with LIVEKIT_URL")
	}
	switch {
	case len(c.APISecret) == 0:
		if !p.has("LIVEKIT_API_SECRET") && !p.has("LIVEKIT_API_SECRET_FILE") {
			p.add("LIVEKIT_API_SECRET", "is required with LIVEKIT_URL (or LIVEKIT_API_SECRET_FILE)")
		}
	case len(c.APISecret) < jwtsigner.MinSecretBytes:
		p.add("LIVEKIT_API_SECRET", "must be at least %d bytes", jwtsigner.MinSecretBytes)
	case subtle.ConstantTimeCompare([]byte(e.APIKey), c.APISecret) == 1:
		// The key is every token's iss: it travels in the clear.
		p.add("LIVEKIT_API_KEY", "equals LIVEKIT_API_SECRET; the key is in every token, give the secret a value of its own")
	}
	settings, err := domain.NewLiveKitSettings(c.LiveKitSettings)
	p.addSettings(err, map[string]string{"TTL": "LIVEKIT_TOKEN_TTL"}, "LIVEKIT_TOKEN_TTL")
	if err == nil {
		c.LiveKitSettings = settings
	}
	return c
}

// liveKitAPIURL is the API's base at the address clients join: ws made
// http, wss https.
func liveKitAPIURL(wsURL string) string {
	if rest, ok := strings.CutPrefix(wsURL, "wss://"); ok {
		return "https://" + rest
	}
	return "http://" + strings.TrimPrefix(wsURL, "ws://")
}

// errAPIURL refuses an API URL: the API tokens it is sent go over it.
var errAPIURL = errors.New("must be an https:// URL (http:// only on loopback or in development)")

func checkAPIURL(raw string, development bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return errAPIURL
	}
	switch {
	case u.Scheme == "https", u.Scheme == "http" && clearTextAllowed(u.Hostname(), development):
		return nil
	}
	return errAPIURL
}

func (liveKit) limits(e environment) map[domain.GrantKind]domain.Limit {
	r := envOf[liveKitEnv](e)
	return map[domain.GrantKind]domain.Limit{
		domain.GrantLiveKit: grantLimit(domain.GrantLiveKit, r.Rate, r.Period, r.Burst),
	}
}

// provide registers LiveKit's grant, signed with the API secret, its
// room configurations checked with LiveKit's own library, with the
// webhook that removes revoked participants who join again; disabled
// without settings.
func (liveKit) provide(cfg Config, _ *jwtsigner.OfficeSigner, logger *slog.Logger) ([]application.GrantRegistration, error) {
	if cfg.LiveKit() == nil {
		return []application.GrantRegistration{application.RegisterDisabled(domain.GrantLiveKit)}, nil
	}
	s, err := jwtsigner.NewLiveKitSigner(cfg.LiveKit().APIKey, cfg.LiveKit().APISecret)
	if err != nil {
		return nil, fmt.Errorf("LIVEKIT_API_SECRET: %w", err)
	}
	if cfg.GrantExpiryBound == application.ExpiryBoundIdentity {
		warnLiveKitRefresh(logger)
	}
	lk := cfg.LiveKit()
	rooms, err := liveKitRooms(lk)
	if err != nil {
		return nil, err
	}
	hooks, err := livekitapi.NewWebhooks(lk.APIKey, lk.APISecret)
	if err != nil {
		return nil, fmt.Errorf("LIVEKIT_API_SECRET: %w", err)
	}
	def, err := domain.LiveKitDefinition(lk.LiveKitSettings, livekitapi.RoomConfigs{})
	if err != nil {
		return nil, err
	}
	reg := application.RegisterGrant(def, cfg.GrantExpiryBound, s.SignLiveKit)
	return []application.GrantRegistration{
		application.WithWebhook(reg, func(r *application.Revocations) application.WebhookReceiver {
			return application.NewRemoveRevokedParticipants(r, hooks, rooms)
		}),
	}, nil
}

// warnLiveKitRefresh says at start what GRANT_EXPIRY_BOUND=identity cannot
// bound: livekit-server sends a connected participant a token of its own,
// at join and every few minutes, signed with the API key and valid about
// ten minutes, and that token joins again after the identity has expired.
// gatepass bounds only the tokens it signs.
func warnLiveKitRefresh(logger *slog.Logger) {
	logger.Warn("GRANT_EXPIRY_BOUND=identity does not bound LiveKit's refreshed tokens",
		"grant_expiry_bound", string(application.ExpiryBoundIdentity),
		"exception", "livekit-server sends each connected participant a token it signs with the API key, at join and every few minutes, "+
			"valid about ten minutes: it can rejoin up to ten minutes after the identity expires or the participant is removed")
}

func (liveKit) banner(cfg Config, w Welcome) (string, BannerPlace) {
	lk := cfg.LiveKit()
	if lk == nil {
		return "", BannerWithGrants
	}
	secretFile := "FILE"
	switch e := envOf[liveKitEnv](cfg.env); {
	case e.unset():
		secretFile = filepath.Join(w.DevDir, liveKitSecretFile)
	case e.APISecret.file != "":
		secretFile = e.APISecret.file
	}
	var b strings.Builder
	fmt.Fprintf(&b, "LiveKit token (%s). Start the server, get a token, verify it:\n", lk.URL)
	if envOf[liveKitEnv](cfg.env).unset() {
		fmt.Fprintf(&b, "  livekit-server --dev --bind 127.0.0.1 --keys \"%s: $(cat %s)\"\n", lk.APIKey, secretFile)
	}
	fmt.Fprintf(&b, "  curl -sS -X POST %s/api/v1/livekit/token -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' -d '{\"room_name\":\"standup\"}'\n", w.Base, w.Token)
	// LiveKit's tokens name the API key as their issuer and carry no aud.
	fmt.Fprintf(&b, "  bin/gatepass token verify --secret-file %s --issuer %s --no-audience TOKEN\n\n", secretFile, lk.APIKey)
	return b.String(), BannerWithGrants
}
