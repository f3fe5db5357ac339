package bootstrap

import (
	"crypto"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/gatepass/gatepass/adapters/cryptorand"
	"github.com/gatepass/gatepass/adapters/devidentity"
	"github.com/gatepass/gatepass/adapters/gosigner"
	"github.com/gatepass/gatepass/adapters/jwtsigner"
	"github.com/gatepass/gatepass/adapters/officerouter"
	"github.com/gatepass/gatepass/adapters/pkcs11signer"
	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
	"github.com/gatepass/gatepass/foundation/jwa"
	"github.com/gatepass/gatepass/foundation/pemkey"
)

// Development defaults: what `make run` needs to serve with no settings.
const (
	DevOfficeIssuer   = "gatepass-dev"
	DevOfficeAudience = "office-router"
	DevWebSocketURL   = "ws://127.0.0.1:8787/ws"
)

// The office-router's settings: the office key (JWT_*, PKCS11_*), read
// before every transport as the JWKS publishes it and other kinds sign
// with it, and the office grant's own block (officeGrants), registered as
// every transport's is.

// The office grant's block, and the office-router's evictor.
var (
	_ = registerTransport(domain.GrantOffice, officeGrants{})
	_ = registerEvictor(domain.TransportOfficeRouter, officeRouterEvictor)
)

// officeGrantsEnv are the office grant's own variables.
type officeGrantsEnv struct {
	// WebSocketBaseURL is the office-router URL returned with each grant.
	WebSocketBaseURL string `env:"WEBSOCKET_BASE_URL"`

	Rate   int           `env:"RATE_LIMIT_OFFICE_RATE" envDefault:"30"`
	Period time.Duration `env:"RATE_LIMIT_OFFICE_PERIOD" envDefault:"1m"`
	Burst  int           `env:"RATE_LIMIT_OFFICE_BURST" envDefault:"10"`
}

// officeGrants is the office-router grant's settings block: its issuer,
// audience and lifetime are the office key's JWT_ISSUER, JWT_AUDIENCE and
// JWT_TTL, required as its URL is, so the kind is never disabled.
type officeGrants struct{}

func (officeGrants) newEnv() any { return new(officeGrantsEnv) }

func (officeGrants) devSecret(environment) string { return "" }

func (officeGrants) prepareDevelopment(environment) error { return nil }

// configure checks what the office grants say besides their keys, and
// the URL they return, in development the office-router Worker's.
func (officeGrants) configure(e environment, _ *devMaterial, cfg *Config, p *problems) {
	o := &cfg.Office
	o.URL = envOf[officeGrantsEnv](e).WebSocketBaseURL
	if o.Issuer == "" {
		p.add("JWT_ISSUER", "is required")
	}
	if o.Audience == "" {
		p.add("JWT_AUDIENCE", "is required")
	}
	// Reported here beside every other problem; the definition refuses
	// the same settings.
	_, err := domain.NewOfficeSettings(officeSettings(*o))
	p.addSettings(err, map[string]string{"TTL": "JWT_TTL"}, "JWT_TTL")
	switch u, err := url.Parse(o.URL); {
	case o.URL == "":
		p.add("WEBSOCKET_BASE_URL", "is required")
	case err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "":
		p.add("WEBSOCKET_BASE_URL", "must be a ws:// or wss:// URL")
	}
}

// officeSettings are the office grants' settings in o.
func officeSettings(o OfficeConfig) domain.OfficeSettings {
	return domain.OfficeSettings{Issuer: o.Issuer, Audience: o.Audience, TTL: o.TTL, URL: o.URL}
}

func (officeGrants) limits(e environment) map[domain.GrantKind]domain.Limit {
	r := envOf[officeGrantsEnv](e)
	return map[domain.GrantKind]domain.Limit{domain.GrantOffice: grantLimit(domain.GrantOffice, r.Rate, r.Period, r.Burst)}
}

// provide registers the office-router grant, signed with the office key.
func (officeGrants) provide(cfg Config, office *jwtsigner.OfficeSigner, _ *slog.Logger) ([]application.GrantRegistration, error) {
	def, err := domain.OfficeDefinition(officeSettings(cfg.Office))
	if err != nil {
		return nil, err
	}
	return []application.GrantRegistration{application.RegisterGrant(def, cfg.GrantExpiryBound, office.SignOffice)}, nil
}

func (officeGrants) banner(cfg Config, w Welcome) (string, BannerPlace) {
	var b strings.Builder
	fmt.Fprintf(&b, "Office-router grant. Start the Worker, get a grant, verify it:\n")
	if worker := officeRouterDev(cfg, w.Base); worker != "" {
		fmt.Fprintf(&b, "  %s\n", worker)
	}
	fmt.Fprintf(&b, "  curl -sS -X POST %s/api/v1/cloudflare/request-access -H 'Authorization: Bearer %s'\n", w.Base, w.Token)
	fmt.Fprintf(&b, "  bin/gatepass token verify --jwks %s/.well-known/jwks.json --issuer %s --audience %s TOKEN\n\n", w.Base, cfg.Office.Issuer, cfg.Office.Audience)
	return b.String(), BannerWithGrants
}

// officeRouterDev is the command that runs the office-router Worker on
// this machine trusting this gatepass, when WEBSOCKET_BASE_URL is on
// loopback; "" otherwise.
func officeRouterDev(cfg Config, base string) string {
	u, err := url.Parse(cfg.Office.URL)
	if err != nil || u.Port() == "" || (u.Hostname() != "127.0.0.1" && u.Hostname() != "localhost") {
		return ""
	}
	return fmt.Sprintf("(cd deploy/office-router && npm ci && npx wrangler dev --ip %s --port %s --var CONN_JWT_ISSUER:%s --var CONN_JWT_AUDIENCE:%s --var CONN_JWKS_URL:%s/.well-known/jwks.json)",
		u.Hostname(), u.Port(), cfg.Office.Issuer, cfg.Office.Audience, base)
}

func applyDevelopmentDefaults(e *environment) {
	for _, v := range e.Transports {
		if o, ok := v.(*officeGrantsEnv); ok && o.WebSocketBaseURL == "" {
			o.WebSocketBaseURL = DevWebSocketURL
		}
	}
	if e.Office.Issuer == "" {
		e.Office.Issuer = DevOfficeIssuer
	}
	if e.Office.Audience == "" {
		e.Office.Audience = DevOfficeAudience
	}
	if e.Auth.JWKSURL == "" && e.Auth.Issuer == "" {
		e.Auth.Issuer = devidentity.Issuer
	}
}

// devMaterial is what the development folder supplies for settings left
// unset.
type devMaterial struct {
	officeKeyPEM   string
	supabaseSecret string
	identityKey    *rsa.PrivateKey
	// secrets are the transports' secrets, by the name of their file in
	// the development folder (see transport.devSecret).
	secrets map[string]string
}

// loadDevMaterial reads the development keys that the settings leave
// unset, from the folder PrepareDevelopment filled: parsing writes nothing.
func loadDevMaterial(e environment, mode loadMode) (*devMaterial, error) {
	return devMaterialFrom(e, mode, false)
}

// PrepareDevelopment creates, in the development folder (the folder 0700,
// files 0600), the keys and secrets that Load then reads there for
// settings left unset, and keeps those already made. The development start
// path (serve, and the keys commands) calls it once before loading; outside
// APP_ENV=development it does nothing. environ nil is the process
// environment. Settings it cannot parse are left for Load to report.
func PrepareDevelopment(environ map[string]string) error {
	if environ == nil {
		environ = processEnvironment()
	}
	var p problems
	e := parseEnvironment(maps.Clone(environ), &p)
	if Env(e.AppEnv) != EnvDevelopment {
		return nil
	}
	if _, err := devMaterialFrom(e, loadServe, true); err != nil {
		return err
	}
	// As Load sees them: the development listener and defaults.
	if environ["HTTP_ADDR"] == "" {
		e.HTTP.Addr = DevHTTPAddr
	}
	applyDevelopmentDefaults(&e)
	for _, t := range registeredTransports {
		if err := t.prepareDevelopment(e); err != nil {
			return err
		}
	}
	return nil
}

// devMaterialFrom reads, and with create first makes, the development
// material that e leaves unset.
func devMaterialFrom(e environment, mode loadMode, create bool) (*devMaterial, error) {
	officeKey, material, secret := devidentity.LoadOfficeKey, devidentity.Load, devidentity.LoadSecret
	if create {
		officeKey, material, secret = devidentity.LoadOrCreateOfficeKey, devidentity.LoadOrCreate, devidentity.LoadOrCreateSecret
	}
	m := devMaterial{secrets: map[string]string{}}
	var err error
	if !e.Office.PrivateKey.Set() && SignerKind(e.Office.Signer) != SignerPKCS11 && slices.Contains(jwa.Algorithms(), e.Office.Algorithm) {
		if m.officeKeyPEM, err = officeKey(e.DevDir, e.Office.Algorithm); err != nil {
			return nil, devFolderError(err)
		}
	}
	if mode == loadServe && (!e.Realtime.Secret.Set() || e.Auth.JWKSURL == "") {
		dev, err := material(e.DevDir)
		if err != nil {
			return nil, devFolderError(err)
		}
		m.supabaseSecret, m.identityKey = dev.SupabaseSecret, dev.IdentityKey
	}
	for _, t := range registeredTransports {
		if file := t.devSecret(e); mode == loadServe && file != "" {
			if m.secrets[file], err = secret(e.DevDir, file); err != nil {
				return nil, devFolderError(err)
			}
		}
	}
	return &m, nil
}

// devFolderError says how to fill a development folder that lacks a file.
func devFolderError(err error) error {
	if errors.Is(err, devidentity.ErrNotPrepared) {
		return fmt.Errorf("%w: start the server in development (make run) to create it", err)
	}
	return err
}

// officeFrom reads the office key's settings: the office grants' issuer,
// audience and lifetime, and the key (the office grant's own block,
// officeGrants, checks the first three).
func officeFrom(e environment, dev *devMaterial, p *problems) OfficeConfig {
	o := OfficeConfig{
		Issuer: e.Office.Issuer, Audience: e.Office.Audience, TTL: e.Office.TTL,
		Algorithm: e.Office.Algorithm, Signer: SignerKind(e.Office.Signer),
	}
	if !slices.Contains(jwa.Algorithms(), o.Algorithm) {
		p.add("JWT_ALGORITHM", "must be one of %s", strings.Join(jwa.Algorithms(), ", "))
	}
	switch o.Signer {
	case SignerGo, SignerOpenSSL, SignerAuto:
		o.Key = signingKeyFrom(e, dev, p)
	case SignerPKCS11:
		o.PKCS11 = pkcs11From(e, p)
		if o.Algorithm == jwa.EdDSA {
			p.add("JWT_ALGORITHM", "EdDSA is not offered with JWT_SIGNER=pkcs11 (PKCS#11 tokens through crypto11 have no Ed25519); use RS256, PS256 or ES256")
		}
	default:
		p.add("JWT_SIGNER", "must be go, openssl, pkcs11 or auto")
	}
	o.Published = publishedKeysFrom(e, p)
	if o.Key != nil {
		refuseSigningKeyPublished(o.Key.Public(), o.Published, e, p)
	}
	return o
}

// refuseSigningKeyPublished says so when a verification key is the signing
// key's own public key: the JWKS publishes the signing key already, and
// JWT_VERIFICATION_KEYS is for the others of a rotation.
func refuseSigningKeyPublished(signing crypto.PublicKey, published []crypto.PublicKey, e environment, p *problems) {
	eq, ok := signing.(interface{ Equal(crypto.PublicKey) bool })
	if !ok {
		return
	}
	for i, pub := range published {
		if eq.Equal(pub) {
			p.add(e.Office.VerificationKeys.source("JWT_VERIFICATION_KEYS"),
				"key %d is the signing key's public key (%s), which the JWKS publishes already; list only a rotation's other keys",
				i+1, e.Office.PrivateKey.source("JWT_PRIVATE_KEY"))
		}
	}
}

// signingKeyFrom parses the signing key given as PEM and checks it against
// JWT_ALGORITHM.
func signingKeyFrom(e environment, dev *devMaterial, p *problems) crypto.Signer {
	keyPEM := e.Office.PrivateKey.value
	if keyPEM == "" && dev != nil {
		keyPEM = dev.officeKeyPEM
	}
	name := "JWT_PRIVATE_KEY"
	if e.Office.PrivateKey.file != "" {
		name += fileSuffix
	}
	switch {
	case keyPEM == "":
		// A variable or file already refused is the one problem to report.
		switch {
		case p.has("JWT_PRIVATE_KEY") || p.has("JWT_PRIVATE_KEY_FILE"):
		case e.Office.PrivateKey.file != "":
			p.add(name, "names an empty file (%s)", e.Office.PrivateKey.file)
		default:
			p.add(name, "is required (or JWT_PRIVATE_KEY_FILE)")
		}
		return nil
	case countPEMBlocks(keyPEM) != 1:
		p.add(name, "must hold exactly one key, found %d PEM blocks (publish other keys with JWT_VERIFICATION_KEYS)", countPEMBlocks(keyPEM))
		return nil
	}
	key, err := gosigner.Load(keyPEM)
	if err != nil {
		p.add(name, "%v", err)
		return nil
	}
	if slices.Contains(jwa.Algorithms(), e.Office.Algorithm) {
		if err := jwa.KeyMatches(e.Office.Algorithm, key.Public()); err != nil {
			p.add(name, "does not fit JWT_ALGORITHM=%s: %v", e.Office.Algorithm, err)
			return nil
		}
	}
	return key
}

// pkcs11From checks the token settings; the key itself is checked when the
// token is opened at start.
func pkcs11From(e environment, p *problems) pkcs11signer.Config {
	if e.Office.PrivateKey.Set() {
		p.add("JWT_PRIVATE_KEY", "must not be set with JWT_SIGNER=pkcs11: the key lives in the token")
	}
	c := pkcs11signer.Config{Module: e.PKCS11.Module, TokenLabel: e.PKCS11.TokenLabel, KeyLabel: e.PKCS11.KeyLabel, PIN: e.PKCS11.PIN.value}
	for name, v := range map[string]string{"PKCS11_MODULE": c.Module, "PKCS11_TOKEN_LABEL": c.TokenLabel, "PKCS11_KEY_LABEL": c.KeyLabel} {
		if v == "" {
			p.add(name, "is required with JWT_SIGNER=pkcs11")
		}
	}
	if c.PIN == "" && !p.has("PKCS11_PIN") && !p.has("PKCS11_PIN_FILE") {
		p.add("PKCS11_PIN", "is required with JWT_SIGNER=pkcs11 (or PKCS11_PIN_FILE)")
	}
	return c
}

// publishedKeysFrom parses the public keys published beside the signing
// key. Duplicates are refused when the key set is built at start.
func publishedKeysFrom(e environment, p *problems) []crypto.PublicKey {
	bundle := e.Office.VerificationKeys.value
	if bundle == "" {
		return nil
	}
	name := "JWT_VERIFICATION_KEYS"
	if strings.Contains(bundle, "PRIVATE KEY") {
		p.add(name, "must hold public keys only; a private key was given")
		return nil
	}
	pubs, err := pemkey.ParsePublicKeys(bundle)
	if err != nil {
		p.add(name, "%v", err)
		return nil
	}
	for i, pub := range pubs {
		if _, err := jwa.AlgorithmFor(pub, e.Office.Algorithm); err != nil {
			p.add(name, "key %d: %v", i+1, err)
		}
	}
	return pubs
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

// officeRouterEnv is the office-router's admin route: where gatepass
// sends revocations, and the audience of the grants it signs for it.
type officeRouterEnv struct {
	AdminURL      string `env:"ADMIN_URL" log:"url"`
	AdminAudience string `env:"ADMIN_AUDIENCE" envDefault:"office-router-admin"`
}

// OfficeRouterAdmin is how revoked users are evicted from the
// office-router: the admin route's settings, and the other audiences the
// office key signs for, which its audience must differ from (the
// evictor's constructor checks them again).
type OfficeRouterAdmin struct {
	domain.OfficeRouterAdminSettings
	Others []domain.NamedAudience
}

var errAdminURL = errors.New("must be an https:// URL (http:// only on loopback or in development) without credentials, query or fragment")

// officeRouterAdminFrom reads the office-router's admin route; nil while
// OFFICE_ROUTER_ADMIN_URL is unset. Its audience must differ from every
// other *_AUDIENCE variable, which is how each grant kind names its own.
func officeRouterAdminFrom(e environment, cfg Config, p *problems) *OfficeRouterAdmin {
	if e.OfficeRouter.AdminURL == "" {
		return nil
	}
	if err := checkAdminURL(e.OfficeRouter.AdminURL, cfg.Development()); err != nil {
		p.add("OFFICE_ROUTER_ADMIN_URL", "%v", err)
	}
	a := &OfficeRouterAdmin{
		OfficeRouterAdminSettings: domain.OfficeRouterAdminSettings{
			URL: e.OfficeRouter.AdminURL, Issuer: cfg.Office.Issuer, Audience: e.OfficeRouter.AdminAudience, GrantTTL: cfg.Office.TTL,
		},
		Others: otherAudiences(e, "OFFICE_ROUTER_ADMIN_AUDIENCE"),
	}
	_, err := domain.NewOfficeRouterAdminSettings(a.OfficeRouterAdminSettings, a.Others...)
	// Issuer and GrantTTL are JWT_ISSUER's and JWT_TTL's, reported there.
	for _, se := range application.SettingErrors(err) {
		if se.Field == "Audience" {
			p.add("OFFICE_ROUTER_ADMIN_AUDIENCE", "%s", se.Reason)
		}
	}
	return a
}

// otherAudiences are the values of every *_AUDIENCE variable but self,
// by name.
func otherAudiences(e environment, self string) []domain.NamedAudience {
	var out []domain.NamedAudience
	walkEnv(reflect.ValueOf(&e).Elem(), "", func(name string, f reflect.Value, _ reflect.StructField) {
		if name != self && strings.HasSuffix(name, "_AUDIENCE") && f.Kind() == reflect.String && f.String() != "" {
			out = append(out, domain.NamedAudience{Name: name, Audience: f.String()})
		}
	})
	return out
}

// checkAdminURL accepts https://, and http:// on loopback or in
// development.
func checkAdminURL(raw string, development bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return errAdminURL
	}
	switch {
	case u.Scheme == "https", u.Scheme == "http" && (development || loopbackHost(u.Hostname())):
		return nil
	}
	return errAdminURL
}

// officeRouterAdminTimeout bounds one call of the office-router's admin
// route; a call that fails is retried by the fan-out.
const officeRouterAdminTimeout = 5 * time.Second

// officeRouterEvictor is the office-router's evictor, signing its admin
// grants with the office signer; nil without OFFICE_ROUTER_ADMIN_URL.
func officeRouterEvictor(cfg Config, d EvictorDeps) (domain.Evictor, error) {
	a := cfg.Office.Admin
	if a == nil {
		return nil, nil
	}
	e, err := officerouter.New(officerouter.Config{
		Settings: a.OfficeRouterAdminSettings, Others: a.Others, Signer: d.Office,
		Client: &http.Client{Timeout: officeRouterAdminTimeout}, Clock: d.Clock, IDs: cryptorand.IDs{},
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}
