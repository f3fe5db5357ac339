package bootstrap

import (
	"errors"
	"net"
	"net/url"
	"strings"

	"github.com/gatepass/gatepass/adapters/jwtsigner"
	"github.com/gatepass/gatepass/adapters/yamlpolicy"
	"github.com/gatepass/gatepass/application"
)

// Development defaults of the transports: the servers' own development
// addresses on loopback.
const (
	DevLiveKitURL    = "ws://127.0.0.1:7880"
	DevLiveKitAPIKey = "devkey"
	DevCentrifugoURL = "ws://127.0.0.1:8000/connection/websocket"
)

// transportsFrom reads the policy and the LiveKit and Centrifugo settings.
// A transport is enabled by its URL; a partial setting is refused.
func transportsFrom(e environment, dev *devMaterial, cfg *Config, p *problems) {
	if e.PublicBaseURL != "" {
		if err := checkPublicBaseURL(e.PublicBaseURL); err != nil {
			p.add("PUBLIC_BASE_URL", "%v", err)
		}
		cfg.PublicBaseURL = strings.TrimSuffix(e.PublicBaseURL, "/")
	}
	cfg.Policy = application.DefaultPolicy()
	if e.PolicyFile != "" {
		rules, err := yamlpolicy.Load(e.PolicyFile)
		if err == nil {
			cfg.Policy, err = application.NewPolicy(rules)
		}
		if err != nil {
			p.add("GATEPASS_POLICY_FILE", "%v", err)
		}
	}
	lk := e.LiveKit
	if dev != nil && lk.URL == "" && lk.APIKey == "" && !lk.APISecret.Set() {
		lk.URL, lk.APIKey, lk.APISecret = DevLiveKitURL, DevLiveKitAPIKey, secret{value: dev.liveKitSecret}
	}
	if lk.URL != "" || lk.APIKey != "" || lk.APISecret.Set() {
		cfg.LiveKit = liveKitFrom(lk, cfg.GrantExpiryBound, p)
	}
	ce := e.Centrifugo
	// Development enables Centrifugo on its default address unless the
	// algorithm is one Centrifugo cannot verify (PS256).
	if dev != nil && ce.URL == "" && e.Office.Algorithm != jwtsigner.PS256 {
		ce.URL = DevCentrifugoURL
	}
	if ce.URL != "" {
		cfg.Centrifugo = centrifugoFrom(ce, cfg, p)
	}
}

func liveKitFrom(e liveKitEnv, bound application.GrantExpiryBound, p *problems) *LiveKitConfig {
	c := &LiveKitConfig{
		LiveKitPolicy: application.LiveKitPolicy{APIKey: e.APIKey, TTL: e.TokenTTL, URL: e.URL, ExpiryBound: bound},
		APISecret:     []byte(e.APISecret.value),
	}
	if e.URL == "" {
		p.add("LIVEKIT_URL", "is required when LIVEKIT_API_KEY or LIVEKIT_API_SECRET is set")
	} else if err := checkWebSocketURL(e.URL); err != nil {
		p.add("LIVEKIT_URL", "%v", err)
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
	}
	policy, err := application.NewLiveKitPolicy(c.LiveKitPolicy)
	p.addSettings(err, map[string]string{"TTL": "LIVEKIT_TOKEN_TTL"}, "LIVEKIT_TOKEN_TTL")
	if err == nil {
		c.LiveKitPolicy = policy
	}
	return c
}

func centrifugoFrom(e centrifugoEnv, cfg *Config, p *problems) *application.CentrifugoPolicy {
	c := &application.CentrifugoPolicy{
		Issuer: cfg.Office.Issuer, Audience: e.Audience, URL: e.URL,
		ConnectionTTL: e.TokenTTL, SubscriptionTTL: e.SubscriptionTTL, ExpiryBound: cfg.GrantExpiryBound,
	}
	if err := checkWebSocketURL(e.URL); err != nil {
		p.add("CENTRIFUGO_URL", "%v", err)
	}
	office := application.OfficePolicy{Issuer: cfg.Office.Issuer, Audience: cfg.Office.Audience, TTL: cfg.Office.TTL}
	policy, err := application.NewCentrifugoPolicy(*c, office)
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

var errWebSocketURL = errors.New("must be a wss:// URL (ws:// only on loopback)")

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

func loopbackHost(host string) bool {
	ip := net.ParseIP(host)
	return (ip != nil && ip.IsLoopback()) || strings.EqualFold(host, "localhost")
}

// checkWebSocketURL accepts wss://, and ws:// only to a loopback host.
func checkWebSocketURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return errWebSocketURL
	}
	switch u.Scheme {
	case "wss":
		return nil
	case "ws":
		if loopbackHost(u.Hostname()) {
			return nil
		}
	}
	return errWebSocketURL
}
