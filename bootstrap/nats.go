package bootstrap

import (
	"cmp"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nkeys"

	"github.com/gatepass/gatepass/adapters/devidentity"
	"github.com/gatepass/gatepass/adapters/jwtsigner"
	"github.com/gatepass/gatepass/adapters/natscallout"
	"github.com/gatepass/gatepass/adapters/natsjwt"
	"github.com/gatepass/gatepass/adapters/prom"
	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
)

// NATS's settings block: the transport is enabled by any of its variables,
// and a partial setting is refused. Its user JWTs are signed with an
// account signing key, for a server in operator mode.

// Development defaults of NATS: the nats-server.conf the development
// folder holds, on loopback, for clients (4222) and browsers (4223).
const (
	DevNATSURL = "nats://127.0.0.1:4222,ws://127.0.0.1:4223"
	// NATSDevConfigFile is the nats-server configuration the development
	// folder holds.
	NATSDevConfigFile = "nats-server.conf"
)

// natsSecretFile keeps the development secret that the development
// operator, account and signing key are derived from, so that reading the
// settings writes nothing and every start finds the same keys.
const natsSecretFile = "nats-secret"

type natsEnv struct {
	URL        string        `env:"NATS_URL"`
	Account    string        `env:"NATS_ACCOUNT"`
	SigningKey secret        `env:"NATS_ACCOUNT_SIGNING_KEY"`
	TokenTTL   time.Duration `env:"NATS_TOKEN_TTL" envDefault:"10m"`

	// The auth callout (adapters/natscallout): off unless
	// NATS_AUTH_CALLOUT is true.
	Callout      bool   `env:"NATS_AUTH_CALLOUT" envDefault:"false"`
	CalloutURL   string `env:"NATS_CALLOUT_URL"`
	CalloutCreds string `env:"NATS_CALLOUT_CREDS_FILE"`
	// The issuer may be the account signing key, when the callout account
	// is the account its users are placed in.
	CalloutIssuer secret `env:"NATS_CALLOUT_ISSUER_KEY" mayEqual:"NATS_ACCOUNT_SIGNING_KEY"`
	CalloutXKey   secret `env:"NATS_CALLOUT_XKEY"`

	// SystemCreds are a system account user's credentials, with which
	// the evictor closes a revoked user's connections.
	SystemCreds string `env:"NATS_SYSTEM_CREDS_FILE"`

	Rate   int           `env:"RATE_LIMIT_NATS_RATE" envDefault:"30"`
	Period time.Duration `env:"RATE_LIMIT_NATS_PERIOD" envDefault:"1m"`
	Burst  int           `env:"RATE_LIMIT_NATS_BURST" envDefault:"10"`
}

// unset reports whether none of the transport's own variables is set.
func (e natsEnv) unset() bool { return e.URL == "" && !e.ownKeys() }

// ownKeys reports whether the account or its signing key is set: without
// either, development takes its own, also for a NATS_URL of its own (a
// development stack on other ports).
func (e natsEnv) ownKeys() bool { return e.Account != "" || e.SigningKey.Set() }

// NATSConfig is the NATS transport: the servers clients connect to, the
// account, and the account signing key's seed its user JWTs are signed
// with.
type NATSConfig struct {
	domain.NATSSettings
	SigningSeed []byte
	// Callout is the auth callout's; nil while it is off.
	Callout *natscallout.Config
	// SystemCreds is the system account user's credentials file; "" leaves
	// eviction off (not_configured).
	SystemCreds string
}

type natsTransport struct{}

// The block's registration, its evictor (natsEvictor), and how
// `gatepass token verify` checks its JWTs.
var (
	_ = registerTransport(domain.GrantNATS, natsTransport{})
	_ = registerEvictor(domain.TransportNATS, natsEvictor)
	_ = registerTokenVerifier(TokenVerifier{
		Flag:   "nats-account",
		Usage:  "NATS account public `key` (A...): verify a NATS user JWT's signature, account and expiry",
		Verify: natsjwt.VerifyUser,
	})
)

func (natsTransport) newEnv() any { return new(natsEnv) }

// NATS is the NATS transport's configuration; nil while it is disabled.
func (c Config) NATS() *NATSConfig { return configOf[NATSConfig](c) }

func (natsTransport) devSecret(e environment) string {
	if !envOf[natsEnv](e).ownKeys() {
		return natsSecretFile
	}
	return ""
}

func (natsTransport) configure(e environment, dev *devMaterial, cfg *Config, p *problems) {
	ne := envOf[natsEnv](e)
	if dev != nil && !ne.ownKeys() && dev.secrets[natsSecretFile] != "" {
		keys, err := natsDevKeys(dev.secrets[natsSecretFile])
		if err != nil {
			p.add("NATS_URL", "development keys: %v", err)
			return
		}
		ne.URL, ne.Account, ne.SigningKey = cmp.Or(ne.URL, DevNATSURL), keys.account.public, secret{value: string(keys.signing.seed)}
	}
	if !ne.unset() {
		setConfig(cfg, natsFrom(ne, cfg.Development(), p))
	} else if ne.SystemCreds != "" {
		p.add("NATS_SYSTEM_CREDS_FILE", "is set, but the NATS grant is off: set NATS_URL, NATS_ACCOUNT and NATS_ACCOUNT_SIGNING_KEY")
	}
	calloutFrom(e, dev, cfg, p)
}

func natsFrom(e natsEnv, development bool, p *problems) *NATSConfig {
	c := &NATSConfig{
		NATSSettings: domain.NATSSettings{Account: e.Account, TTL: e.TokenTTL},
		SigningSeed:  []byte(e.SigningKey.value),
		SystemCreds:  e.SystemCreds,
	}
	if e.SystemCreds != "" {
		if err := natsjwt.CheckCreds(e.SystemCreds); err != nil {
			p.add("NATS_SYSTEM_CREDS_FILE", "%v", err)
		}
	}
	if e.URL == "" {
		p.add("NATS_URL", "is required when NATS_ACCOUNT or NATS_ACCOUNT_SIGNING_KEY is set")
	} else {
		for _, u := range strings.Split(e.URL, ",") {
			u = strings.TrimSpace(u)
			if err := checkNATSURL(u, development); err != nil {
				p.add("NATS_URL", "%v", err)
				break
			}
			c.Servers = append(c.Servers, u)
		}
	}
	switch {
	case e.Account == "":
		p.add("NATS_ACCOUNT", "is required with NATS_URL")
	case natsjwt.CheckAccount(e.Account) != nil:
		p.add("NATS_ACCOUNT", "must be an account public key (A...)")
	}
	signing := e.SigningKey.source("NATS_ACCOUNT_SIGNING_KEY")
	switch {
	case !e.SigningKey.Set():
		if !p.has("NATS_ACCOUNT_SIGNING_KEY") && !p.has("NATS_ACCOUNT_SIGNING_KEY_FILE") {
			p.add("NATS_ACCOUNT_SIGNING_KEY", "is required with NATS_URL (or NATS_ACCOUNT_SIGNING_KEY_FILE)")
		}
	default:
		public, err := natsjwt.SigningKeyOf(c.SigningSeed)
		if err != nil {
			p.add(signing, "must be an account signing key seed (SA...)")
		}
		c.SigningKey = public
	}
	settings, err := domain.NewNATSSettings(c.NATSSettings)
	variables := map[string]string{"TTL": "NATS_TOKEN_TTL", "Servers": "NATS_URL", "Account": "NATS_ACCOUNT", "SigningKey": signing}
	for _, se := range application.SettingErrors(err) {
		// The missing ones are named above.
		if name := variables[se.Field]; !p.has(name) && !p.has(name+fileSuffix) {
			p.add(name, "%s", se.Reason)
		}
	}
	if err == nil {
		c.NATSSettings = settings
	}
	return c
}

var errNATSURL = fmt.Errorf("must be a comma-separated list of tls://, wss://, or (on loopback or in development only) nats:// and ws:// URLs")

// checkNATSURL accepts tls:// and wss://, and nats:// or ws:// only to a
// loopback host or in development: those travel in the clear.
func checkNATSURL(raw string, development bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return errNATSURL
	}
	switch u.Scheme {
	case "tls", "wss":
		return nil
	case "nats", "ws":
		if clearTextAllowed(u.Hostname(), development) {
			return nil
		}
	}
	return errNATSURL
}

func (natsTransport) limits(e environment) map[domain.GrantKind]domain.Limit {
	r := envOf[natsEnv](e)
	return map[domain.GrantKind]domain.Limit{
		domain.GrantNATS: grantLimit(domain.GrantNATS, r.Rate, r.Period, r.Burst),
	}
}

// provide registers NATS's grant without recording its keys.
func (t natsTransport) provide(cfg Config, _ *jwtsigner.OfficeSigner, _ *slog.Logger) ([]application.GrantRegistration, error) {
	return t.provideRecording(cfg, nil)
}

// provideRecording registers NATS's grant, signed with the account
// signing key, each user key kept in keys while its JWT lives (when
// eviction is on): the HTTP endpoint, the token exchange and the auth
// callout all sign through it. Disabled without settings.
func (natsTransport) provideRecording(cfg Config, keys domain.GrantKeyStore) ([]application.GrantRegistration, error) {
	c := cfg.NATS()
	if c == nil {
		return []application.GrantRegistration{application.RegisterDisabled(domain.GrantNATS)}, nil
	}
	s, err := natsjwt.NewSigner(c.Account, c.SigningSeed)
	if err != nil {
		return nil, fmt.Errorf("NATS_ACCOUNT_SIGNING_KEY: %w", err)
	}
	def, err := domain.NATSDefinition(c.NATSSettings, natsjwt.UserKeys{})
	if err != nil {
		return nil, err
	}
	sign := s.SignNATSUser
	if c.SystemCreds != "" {
		sign = natsjwt.Recording(keys, sign)
	}
	return []application.GrantRegistration{
		application.RegisterGrant(def, cfg.GrantExpiryBound, sign),
	}, nil
}

// natsEvictor kicks a revoked user's connections with the system
// account's credentials; none without NATS_SYSTEM_CREDS_FILE. It connects
// to the protocol URLs of NATS_URL (nats://, tls://), or to its WebSocket
// URLs when it lists only those.
func natsEvictor(cfg Config, d EvictorDeps) (domain.Evictor, error) {
	c := cfg.NATS()
	if c == nil || c.SystemCreds == "" {
		return nil, nil
	}
	var protocol, websocket []string
	for _, u := range c.Servers {
		if strings.HasPrefix(u, "ws://") || strings.HasPrefix(u, "wss://") {
			websocket = append(websocket, u)
		} else {
			protocol = append(protocol, u)
		}
	}
	if len(protocol) == 0 {
		protocol = websocket
	}
	e, err := natsjwt.NewEvictor(natsjwt.EvictorConfig{Account: c.Account, Servers: protocol, CredsFile: c.SystemCreds}, d.GrantKeys)
	if err != nil {
		return nil, fmt.Errorf("NATS_SYSTEM_CREDS_FILE: %w", err)
	}
	return e, nil
}

// natsKey is one development nkey: its seed and public key.
type natsKey struct {
	seed   []byte
	public string
}

// natsDevelopmentKeys are the development operator, account and account
// signing key.
type natsDevelopmentKeys struct {
	operator, account, signing natsKey
}

// natsDevKeys derives the development keys from the development secret:
// each is the seed hash of the secret and its role.
func natsDevKeys(devSecret string) (natsDevelopmentKeys, error) {
	derive := func(role string, prefix nkeys.PrefixByte) (natsKey, error) {
		raw := sha256.Sum256([]byte("gatepass development nats " + role + "\x00" + devSecret))
		kp, err := nkeys.FromRawSeed(prefix, raw[:])
		if err != nil {
			return natsKey{}, err
		}
		defer kp.Wipe()
		seed, err := kp.Seed()
		if err != nil {
			return natsKey{}, err
		}
		public, err := kp.PublicKey()
		// Wipe clears the seed Seed returned: keep a copy.
		return natsKey{seed: slices.Clone(seed), public: public}, err
	}
	var k natsDevelopmentKeys
	var err error
	if k.operator, err = derive("operator", nkeys.PrefixByteOperator); err != nil {
		return k, err
	}
	if k.account, err = derive("account", nkeys.PrefixByteAccount); err != nil {
		return k, err
	}
	k.signing, err = derive("signing key", nkeys.PrefixByteAccount)
	return k, err
}

// prepareDevelopment writes, when NATS takes the development defaults,
// the development operator, account and signing key seeds and
// NATSDevConfigFile: nats-server in operator mode on the development
// addresses, its memory resolver preloaded with the account, whose signing
// key is gatepass's. Again at every start: they follow from the secret.
func (natsTransport) prepareDevelopment(e environment) error {
	ne := envOf[natsEnv](e)
	if ne.ownKeys() {
		return nil
	}
	devSecret, err := devidentity.LoadSecret(e.DevDir, natsSecretFile)
	if err != nil {
		return fmt.Errorf("development NATS keys: %w", err)
	}
	keys, err := natsDevKeys(devSecret)
	if err != nil {
		return fmt.Errorf("development NATS keys: %w", err)
	}
	conf, err := natsDevConfig(keys, cmp.Or(ne.URL, DevNATSURL))
	if err != nil {
		return fmt.Errorf("development NATS configuration: %w", err)
	}
	for name, content := range map[string][]byte{
		"nats-operator.nk":    keys.operator.seed,
		"nats-account.nk":     keys.account.seed,
		"nats-signing-key.nk": keys.signing.seed,
		NATSDevConfigFile:     conf,
	} {
		if err := os.WriteFile(filepath.Join(e.DevDir, name), append(content, '\n'), 0o600); err != nil {
			return fmt.Errorf("development NATS configuration: %w", err)
		}
	}
	return prepareCalloutDevelopment(e.DevDir, keys, devSecret)
}

// natsDevListeners are where the development nats-server listens: the
// host and port of the first nats:// and the first ws:// URL of servers
// (the client port on the development default when none is nats://; no
// WebSocket listener when none is ws://).
func natsDevListeners(servers string) (client, websocket string) {
	client = "127.0.0.1:4222"
	clientSeen := false
	for _, raw := range strings.Split(servers, ",") {
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil || u.Port() == "" {
			continue
		}
		switch {
		case u.Scheme == "nats" && !clientSeen:
			client, clientSeen = u.Host, true
		case u.Scheme == "ws" && websocket == "":
			websocket = u.Host
		}
	}
	return client, websocket
}

// natsDevConfig is the development nats-server configuration, listening
// where servers (NATS_URL) says.
func natsDevConfig(k natsDevelopmentKeys, servers string) ([]byte, error) {
	operatorKey, err := nkeys.FromSeed(k.operator.seed)
	if err != nil {
		return nil, err
	}
	defer operatorKey.Wipe()
	oc := jwt.NewOperatorClaims(k.operator.public)
	oc.Name = "gatepass-dev"
	operatorJWT, err := oc.Encode(operatorKey)
	if err != nil {
		return nil, err
	}
	ac := jwt.NewAccountClaims(k.account.public)
	ac.Name = "gatepass-dev"
	ac.SigningKeys.Add(k.signing.public)
	accountJWT, err := ac.Encode(operatorKey)
	if err != nil {
		return nil, err
	}
	client, ws := natsDevListeners(servers)
	conf := fmt.Appendf(nil, `# Written by gatepass in development, again at every start: nats-server in
# operator mode whose account accepts gatepass's development user JWTs.
listen: %q
operator: %q
resolver: MEMORY
resolver_preload: {
  %s: %q
}`, client, operatorJWT, k.account.public, accountJWT)
	if ws != "" {
		conf = fmt.Appendf(conf, `
websocket {
  listen: %q
  no_tls: true
}`, ws)
	}
	return conf, nil
}

func (natsTransport) banner(cfg Config, w Welcome) (string, BannerPlace) {
	c := cfg.NATS()
	if c == nil {
		return "", BannerAfterExchange
	}
	var b strings.Builder
	fmt.Fprintf(&b, "NATS user JWT (%s). Start the server, get a user JWT, verify it:\n", strings.Join(c.Servers, ","))
	if !envOf[natsEnv](cfg.env).ownKeys() {
		fmt.Fprintf(&b, "  nats-server -c %s\n", filepath.Join(w.DevDir, NATSDevConfigFile))
	}
	fmt.Fprintf(&b, "  curl -sS -X POST %s/api/v1/nats/token -H 'Authorization: Bearer %s'\n", w.Base, w.Token)
	fmt.Fprintf(&b, "  bin/gatepass token verify --nats-account %s TOKEN\n\n", c.Account)
	b.WriteString(calloutBanner(cfg, w))
	return b.String(), BannerAfterExchange
}

// The auth callout (adapters/natscallout): its settings, its development
// files, and its start with the server.

// Development files of the auth callout, in the development folder.
const (
	NATSCalloutDevConfigFile = natscallout.DevConfigFile
	NATSSentinelDevFile      = natscallout.DevSentinelFile
)

// calloutFrom reads the auth callout's settings into the NATS
// configuration. In development with NATS's development defaults, the
// callout's unset settings are the development folder's. Any callout
// setting without NATS_AUTH_CALLOUT=true, or the callout without the NATS
// grant, is refused.
func calloutFrom(e environment, dev *devMaterial, cfg *Config, p *problems) {
	ne := envOf[natsEnv](e)
	issuerName, xkeyName := ne.CalloutIssuer.source("NATS_CALLOUT_ISSUER_KEY"), ne.CalloutXKey.source("NATS_CALLOUT_XKEY")
	if !ne.Callout {
		for name, set := range map[string]bool{"NATS_CALLOUT_URL": ne.CalloutURL != "", "NATS_CALLOUT_CREDS_FILE": ne.CalloutCreds != "",
			issuerName: ne.CalloutIssuer.Set(), xkeyName: ne.CalloutXKey.Set()} {
			if set {
				p.add(name, "is set, but NATS_AUTH_CALLOUT is not true")
			}
		}
		return
	}
	c := cfg.NATS()
	if c == nil {
		p.add("NATS_AUTH_CALLOUT", "is true, but the NATS grant is off: set NATS_URL, NATS_ACCOUNT and NATS_ACCOUNT_SIGNING_KEY")
		return
	}
	s := natscallout.Settings{URL: ne.CalloutURL, CredsFile: ne.CalloutCreds, IssuerSeed: []byte(ne.CalloutIssuer.value), XKeySeed: []byte(ne.CalloutXKey.value)}
	if dev != nil && ne.unset() && dev.secrets[natsSecretFile] != "" {
		d, err := natscallout.NewDevelopment(dev.secrets[natsSecretFile])
		if err != nil {
			p.add("NATS_AUTH_CALLOUT", "development keys: %v", err)
			return
		}
		s.URL = cmp.Or(s.URL, natscallout.DevURL)
		s.CredsFile = cmp.Or(s.CredsFile, filepath.Join(e.DevDir, natscallout.DevCredsFile))
		if len(s.IssuerSeed) == 0 {
			s.IssuerSeed = d.IssuerSeed
		}
	}
	callout, err := natscallout.NewConfig(s)
	p.addSettings(err, map[string]string{"URL": "NATS_CALLOUT_URL", "CredsFile": "NATS_CALLOUT_CREDS_FILE", "IssuerKey": issuerName, "XKey": xkeyName}, "NATS_AUTH_CALLOUT")
	if err == nil {
		c.Callout = &callout
	}
}

// The callout runs beside the server while it is configured.
var _ = registerBackground(func(cfg Config, app *application.Application, m *prom.Metrics, logger *slog.Logger) (backgroundService, error) {
	if c := cfg.NATS(); c != nil && c.Callout != nil {
		return natscallout.New(*c.Callout, app, m, logger), nil
	}
	return nil, nil
})

// prepareCalloutDevelopment writes the development callout's files: a
// callout-ready server configuration and the credentials of gatepass and
// of the sentinel.
func prepareCalloutDevelopment(dir string, k natsDevelopmentKeys, devSecret string) error {
	d, err := natscallout.NewDevelopment(devSecret)
	if err != nil {
		return fmt.Errorf("development NATS callout: %w", err)
	}
	files, err := d.Files(k.operator.seed, k.account.public, k.signing.public)
	if err != nil {
		return err
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o600); err != nil {
			return fmt.Errorf("development NATS callout: %w", err)
		}
	}
	return nil
}

// calloutBanner is the auth callout's part of the development banner: in
// development, how to run the callout-ready server and connect through it
// with the sentinel and the development token; "" while the callout is off.
func calloutBanner(cfg Config, w Welcome) string {
	c := cfg.NATS()
	if c == nil || c.Callout == nil {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "NATS auth callout (gatepass answers %s). Connect with the sentinel credentials and an identity token:\n", c.Callout.URL)
	if envOf[natsEnv](cfg.env).unset() {
		fmt.Fprintf(&b, "  nats-server -c %s\n", filepath.Join(w.DevDir, natscallout.DevConfigFile))
		fmt.Fprintf(&b, "  nats --server %s --creds %s --token %s sub 'org.org_dev_01.>'\n", natscallout.DevURL, filepath.Join(w.DevDir, natscallout.DevSentinelFile), w.Token)
	}
	b.WriteString("\n")
	return b.String()
}
