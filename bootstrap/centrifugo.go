package bootstrap

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gatepass/gatepass/adapters/centrifugoapi"
	"github.com/gatepass/gatepass/adapters/jwtsigner"
	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
	"github.com/gatepass/gatepass/foundation/jwa"
)

// Centrifugo's settings block: the transport is enabled by its URL. Its
// tokens are signed with the office key, so Centrifugo verifies them
// through gatepass's JWKS.

// DevCentrifugoURL is Centrifugo's development address: its default
// client WebSocket endpoint on loopback.
const DevCentrifugoURL = "ws://127.0.0.1:8000/connection/websocket"

type centrifugoEnv struct {
	URL             string        `env:"CENTRIFUGO_URL"`
	Audience        string        `env:"CENTRIFUGO_AUDIENCE" envDefault:"centrifugo"`
	TokenTTL        time.Duration `env:"CENTRIFUGO_TOKEN_TTL" envDefault:"10m"`
	SubscriptionTTL time.Duration `env:"CENTRIFUGO_SUBSCRIPTION_TTL" envDefault:"10m"`
	// APIURL and APIKey reach Centrifugo's server API, which disconnects
	// revoked users.
	APIURL string `env:"CENTRIFUGO_API_URL"`
	APIKey secret `env:"CENTRIFUGO_API_KEY"`

	ConnectionRate     int           `env:"RATE_LIMIT_CENTRIFUGO_CONNECTION_RATE" envDefault:"30"`
	ConnectionPeriod   time.Duration `env:"RATE_LIMIT_CENTRIFUGO_CONNECTION_PERIOD" envDefault:"1m"`
	ConnectionBurst    int           `env:"RATE_LIMIT_CENTRIFUGO_CONNECTION_BURST" envDefault:"10"`
	SubscriptionRate   int           `env:"RATE_LIMIT_CENTRIFUGO_SUBSCRIPTION_RATE" envDefault:"120"`
	SubscriptionPeriod time.Duration `env:"RATE_LIMIT_CENTRIFUGO_SUBSCRIPTION_PERIOD" envDefault:"1m"`
	SubscriptionBurst  int           `env:"RATE_LIMIT_CENTRIFUGO_SUBSCRIPTION_BURST" envDefault:"60"`
}

type centrifugo struct{}

// The block's registration.
var _ = registerTransport(domain.GrantCentrifugoConnection, centrifugo{})

// Centrifugo's evictor.
var _ = registerEvictor(domain.TransportCentrifugo, centrifugoEvictor)

// centrifugoAPI is how gatepass reaches Centrifugo's server API; absent
// from the configuration without CENTRIFUGO_API_URL.
type centrifugoAPI struct {
	URL string
	Key []byte
}

// centrifugoEvictor disconnects revoked users through the server API;
// none without it.
func centrifugoEvictor(cfg Config, _ EvictorDeps) (domain.Evictor, error) {
	api := configOf[centrifugoAPI](cfg)
	if cfg.Centrifugo() == nil || api == nil {
		return nil, nil
	}
	return centrifugoapi.New(api.URL, string(api.Key), nil), nil
}

// centrifugoAPIFrom checks the server API's settings: an http(s) URL, and
// a key that is not guessable whenever the URL is set.
func centrifugoAPIFrom(e centrifugoEnv, p *problems) *centrifugoAPI {
	keyVar := e.APIKey.source("CENTRIFUGO_API_KEY")
	if e.APIURL == "" {
		if e.APIKey.Set() {
			p.add(keyVar, "is set without CENTRIFUGO_API_URL")
		}
		return nil
	}
	if u, err := url.Parse(e.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.add("CENTRIFUGO_API_URL", "must be the http:// or https:// base of Centrifugo's server API, including /api")
	}
	switch {
	case !e.APIKey.Set():
		p.add("CENTRIFUGO_API_KEY", "is required with CENTRIFUGO_API_URL (or CENTRIFUGO_API_KEY_FILE)")
	case len(e.APIKey.value) < jwtsigner.MinSecretBytes:
		p.add(keyVar, "must be at least %d bytes", jwtsigner.MinSecretBytes)
	}
	return &centrifugoAPI{URL: e.APIURL, Key: []byte(e.APIKey.value)}
}

func (centrifugo) newEnv() any { return new(centrifugoEnv) }

// Centrifugo is the Centrifugo transport's configuration; nil while it is disabled.
func (c Config) Centrifugo() *domain.CentrifugoSettings {
	return configOf[domain.CentrifugoSettings](c)
}

func (centrifugo) devSecret(environment) string { return "" }

// configure enables Centrifugo on its development address in development,
// unless the office algorithm is one Centrifugo cannot verify (PS256).
func (centrifugo) configure(e environment, dev *devMaterial, cfg *Config, p *problems) {
	ce := envOf[centrifugoEnv](e)
	if dev != nil && ce.URL == "" && e.Office.Algorithm != jwa.PS256 {
		ce.URL = DevCentrifugoURL
	}
	if ce.URL != "" {
		setConfig(cfg, centrifugoFrom(ce, cfg, p))
		setConfig(cfg, centrifugoAPIFrom(ce, p))
	} else if ce.APIURL != "" {
		p.add("CENTRIFUGO_API_URL", "is set without CENTRIFUGO_URL")
	}
}

func centrifugoFrom(e centrifugoEnv, cfg *Config, p *problems) *domain.CentrifugoSettings {
	c := &domain.CentrifugoSettings{
		Issuer: cfg.Office.Issuer, Audience: e.Audience, URL: e.URL,
		ConnectionTTL: e.TokenTTL, SubscriptionTTL: e.SubscriptionTTL,
	}
	if err := checkWebSocketURL(e.URL, cfg.Development()); err != nil {
		p.add("CENTRIFUGO_URL", "%v", err)
	}
	policy, err := domain.NewCentrifugoSettings(*c, cfg.Office.Audience)
	for _, se := range application.SettingErrors(err) {
		if errors.Is(se, application.ErrAudienceShared) {
			// Neither verifier may accept the other's grants.
			se.Reason = "must differ from JWT_AUDIENCE"
		}
	}
	p.addSettings(err, map[string]string{
		"Audience": "CENTRIFUGO_AUDIENCE", "ConnectionTTL": "CENTRIFUGO_TOKEN_TTL", "SubscriptionTTL": "CENTRIFUGO_SUBSCRIPTION_TTL",
	}, "CENTRIFUGO_URL")
	if err == nil {
		*c = policy
	}
	if err := jwtsigner.CentrifugoVerifies(cfg.Office.Algorithm); err != nil {
		p.add("JWT_ALGORITHM", "%s cannot be used with CENTRIFUGO_URL: %v", cfg.Office.Algorithm, err)
	}
	return c
}

// CentrifugoDevConfigFile is the Centrifugo configuration that the
// development folder holds: Centrifugo on its development address,
// verifying gatepass's development grants through gatepass's JWKS.
const CentrifugoDevConfigFile = "centrifugo.json"

// prepareDevelopment writes CentrifugoDevConfigFile when Centrifugo is on
// in development, again at every start: gatepass's address, issuer and the
// Centrifugo audience may have changed, and it holds no secret.
func (centrifugo) prepareDevelopment(e environment) error {
	ce := envOf[centrifugoEnv](e)
	if ce.URL == "" {
		if e.Office.Algorithm == jwa.PS256 {
			return nil
		}
		ce.URL = DevCentrifugoURL
	}
	server, ok := centrifugoDevServer(ce.URL)
	if !ok {
		// Not a development server on this machine: not ours to configure.
		return nil
	}
	doc := map[string]any{
		"http_server": server,
		"client": map[string]any{
			"token": map[string]any{
				"jwks_public_endpoint": "http://" + devPublicAddr(e) + "/.well-known/jwks.json",
				// Without both, Centrifugo would check neither, and an
				// office-router grant would connect.
				"audience": ce.Audience,
				"issuer":   e.Office.Issuer,
			},
		},
		// Subscriptions to org: channels need a subscription token.
		"channel": map[string]any{"namespaces": []map[string]any{{"name": "org"}}},
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(e.DevDir, CentrifugoDevConfigFile)
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("development Centrifugo configuration: %w", err)
	}
	return nil
}

// centrifugoDevServer is the http_server section of a Centrifugo serving
// clients at url on this machine; false when url is not on loopback.
func centrifugoDevServer(raw string) (map[string]any, bool) {
	u, err := url.Parse(raw)
	if err != nil || !loopbackHost(u.Hostname()) {
		return nil, false
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		return nil, false
	}
	return map[string]any{"address": u.Hostname(), "port": port}, true
}

// devPublicAddr is where a development gatepass listens, as a client on
// the same machine reaches it.
func devPublicAddr(e environment) string {
	host, port, err := net.SplitHostPort(e.HTTP.Addr)
	if err != nil {
		return DevHTTPAddr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

func (centrifugo) limits(e environment) map[domain.GrantKind]domain.Limit {
	r := envOf[centrifugoEnv](e)
	return map[domain.GrantKind]domain.Limit{
		domain.GrantCentrifugoConnection:   grantLimit(domain.GrantCentrifugoConnection, r.ConnectionRate, r.ConnectionPeriod, r.ConnectionBurst),
		domain.GrantCentrifugoSubscription: grantLimit(domain.GrantCentrifugoSubscription, r.SubscriptionRate, r.SubscriptionPeriod, r.SubscriptionBurst),
	}
}

// provide registers Centrifugo's connection and subscription grants,
// signed with the office key; disabled without settings.
func (centrifugo) provide(cfg Config, office *jwtsigner.OfficeSigner, _ *slog.Logger) ([]application.GrantRegistration, error) {
	settings := cfg.Centrifugo()
	if settings == nil {
		return []application.GrantRegistration{
			application.RegisterDisabled(domain.GrantCentrifugoConnection),
			application.RegisterDisabled(domain.GrantCentrifugoSubscription),
		}, nil
	}
	s, err := jwtsigner.NewCentrifugoSigner(office)
	if err != nil {
		return nil, fmt.Errorf("centrifugo signer: %w", err)
	}
	connect, err := domain.CentrifugoConnectionDefinition(*settings, cfg.Office.Audience)
	if err != nil {
		return nil, err
	}
	subscribe, err := domain.CentrifugoSubscriptionDefinition(*settings, cfg.Office.Audience)
	if err != nil {
		return nil, err
	}
	return []application.GrantRegistration{
		application.RegisterGrant(connect, cfg.GrantExpiryBound, s.SignCentrifugoConnection),
		application.RegisterGrant(subscribe, cfg.GrantExpiryBound, s.SignCentrifugoSubscription),
	}, nil
}

func (centrifugo) banner(cfg Config, w Welcome) (string, BannerPlace) {
	cf := cfg.Centrifugo()
	if cf == nil {
		return "", BannerAfterExchange
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Centrifugo connection and subscription tokens (%s). Start the server, get tokens, verify them:\n", cf.URL)
	if _, ok := centrifugoDevServer(cf.URL); ok && cfg.Development() {
		fmt.Fprintf(&b, "  centrifugo --config %s\n", filepath.Join(w.DevDir, CentrifugoDevConfigFile))
	}
	fmt.Fprintf(&b, "  curl -sS -X POST %s/api/v1/centrifugo/connection-token -H 'Authorization: Bearer %s'\n", w.Base, w.Token)
	fmt.Fprintf(&b, "  curl -sS -X POST %s/api/v1/centrifugo/subscription-token -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' -d '{\"channel\":\"org:org_dev_01\"}'\n", w.Base, w.Token)
	fmt.Fprintf(&b, "  bin/gatepass token verify --jwks %s/.well-known/jwks.json --issuer %s --audience %s TOKEN\n\n", w.Base, cf.Issuer, cf.Audience)
	return b.String(), BannerAfterExchange
}
