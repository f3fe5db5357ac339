// Package natscallout is the second inbound adapter of the NATS grant: a
// NATS auth callout service. A nats-server in operator mode asks it about
// every client that connects with the callout account's sentinel
// credentials; the client's identity provider access token is the
// connect's auth_token. The service verifies it as the HTTP adapter
// verifies a bearer (application.AuthenticateCaller, the failure budget
// keyed by the client address the server reports), issues the NATS grant
// through the same pipeline for the user key the server chose, and answers
// with an authorization response signed by the issuer key that carries the
// user JWT, or an error and never a JWT. Requests encrypted to the
// service's curve key (xkey) are opened, and their answers sealed.
//
// Settings are checked by NewConfig, which never connects; Start connects
// (nats.go reconnects on its own) and Stop drains.
package natscallout

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
)

// Subject is the subject nats-server sends its authorization requests to.
const Subject = "$SYS.REQ.USER.AUTH"

// queue is the queue group the services subscribe in, so that one of
// several gatepass replicas answers each request, and spends budgets once.
const queue = "gatepass"

// serverXKeyHeader carries the server's curve public key on an encrypted
// request.
const serverXKeyHeader = "Nats-Server-Xkey"

// requestAudience is the audience of every authorization request.
const requestAudience = "nats-authorization-request"

// maxToken bounds the auth_token, as the HTTP adapter bounds a bearer.
const maxToken = 8 << 10

// inFlight bounds the requests answered at once: one waiting for the
// identity provider's keys does not hold the others up.
const inFlight = 64

// Errors of NewConfig, each inside a *domain.SettingError naming the field
// (URL, CredsFile, IssuerKey, XKey).
var (
	ErrURL       = errors.New("not a nats:// or tls:// URL")
	ErrCreds     = errors.New("not a credentials file")
	ErrIssuerKey = errors.New("not an account seed")
	ErrXKey      = errors.New("not a curve seed")
)

// errRequest means a message on the callout subject that is not an
// authorization request this service can answer.
var errRequest = errors.New("unreadable authorization request")

// Config is the service's checked settings.
type Config struct {
	// URL is the server (or servers, comma-separated) the service connects to.
	URL string
	// CredsFile is the credentials file of the service's user, one of the
	// callout account's auth users.
	CredsFile string
	issuer    nkeys.KeyPair
	// xkey opens encrypted requests; nil when requests come in plain.
	xkey nkeys.KeyPair
}

// Settings are the service's settings as read.
type Settings struct {
	URL       string
	CredsFile string
	// IssuerSeed is the seed of the key that signs the responses: the
	// callout account's, or one of its signing keys (SA...).
	IssuerSeed []byte
	// XKeySeed is the service's curve seed (SX...); empty when the server
	// does not encrypt its requests.
	XKeySeed []byte
}

// NewConfig checks s: every problem is a *domain.SettingError naming its
// field (URL, CredsFile, IssuerKey, XKey), never quoting a seed.
func NewConfig(s Settings) (Config, error) {
	var errs []error
	bad := func(field string, err error, reason string) {
		errs = append(errs, &domain.SettingError{Field: field, Err: err, Reason: reason})
	}
	c := Config{URL: s.URL, CredsFile: s.CredsFile}
	if s.URL == "" {
		bad("URL", ErrURL, "is required")
	} else if !serverURLs(s.URL) {
		// The requests carry the callers' identity tokens.
		bad("URL", ErrURL, "must be comma-separated tls:// URLs (nats:// only on loopback) without credentials")
	}
	if s.CredsFile == "" {
		bad("CredsFile", ErrCreds, "is required")
	} else if err := checkCreds(s.CredsFile); err != nil {
		bad("CredsFile", ErrCreds, err.Error())
	}
	issuer, err := nkeys.FromSeed(bytes.TrimSpace(s.IssuerSeed))
	switch {
	case len(bytes.TrimSpace(s.IssuerSeed)) == 0:
		bad("IssuerKey", ErrIssuerKey, "is required")
	case err != nil || !prefixed(issuer, nkeys.PrefixByteAccount):
		bad("IssuerKey", ErrIssuerKey, "must be an account seed (SA...): the callout account's key or one of its signing keys")
	default:
		c.issuer = issuer
	}
	if x := bytes.TrimSpace(s.XKeySeed); len(x) > 0 {
		c.xkey, err = nkeys.FromCurveSeed(x)
		if err != nil {
			bad("XKey", ErrXKey, "must be a curve seed (SX...)")
		}
	}
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	return c, nil
}

// serverURLs reports whether list is comma-separated tls:// URLs, or
// nats:// URLs to loopback, without credentials.
func serverURLs(list string) bool {
	for _, raw := range strings.Split(list, ",") {
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil || u.Host == "" || u.User != nil {
			return false
		}
		switch host := u.Hostname(); {
		case u.Scheme == "tls":
		case u.Scheme == "nats" && (host == "localhost" || loopback(host)):
		default:
			return false
		}
	}
	return true
}

func loopback(host string) bool {
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// Encrypted reports whether the service opens encrypted requests.
func (c Config) Encrypted() bool { return c.xkey != nil }

// checkCreds reads path as a credentials file: a user JWT and a user seed.
func checkCreds(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return errors.New("cannot be read: " + reasonOf(err))
	}
	// ParseDecoratedJWT answers undecorated text as it is: decode it.
	token, err := jwt.ParseDecoratedJWT(b)
	if err == nil {
		_, err = jwt.DecodeUserClaims(token)
	}
	if err != nil {
		return errors.New("holds no user JWT")
	}
	kp, err := jwt.ParseDecoratedUserNKey(b)
	if err != nil || !prefixed(kp, nkeys.PrefixByteUser) {
		return errors.New("holds no user seed (SU...)")
	}
	return nil
}

// reasonOf is the operating system's word for a file that could not be read.
func reasonOf(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// prefixed reports whether kp's public key is of type p.
func prefixed(kp nkeys.KeyPair, p nkeys.PrefixByte) bool {
	pub, err := kp.PublicKey()
	if err != nil {
		return false
	}
	return nkeys.Prefix(pub) == p
}

// Observer counts what the service answers, in the HTTP adapter's terms:
// each connect is a grant attempt of kind domain.GrantNATS, and a refused
// identity an authentication failure by its reason.
type Observer interface {
	GrantIssued(kind domain.GrantKind, result string)
	AuthFailure(reason string)
}

// Service answers the server's authorization requests.
type Service struct {
	cfg  Config
	auth *application.AuthenticateCallerHandler
	use  application.GrantIssuer[domain.NATSRequest, domain.NATSGrant]
	obs  Observer
	log  *slog.Logger

	mu      sync.Mutex
	nc      *nats.Conn
	sub     *nats.Subscription
	slots   chan struct{}
	running sync.WaitGroup
}

// New builds the service over app's authentication and NATS grant;
// nothing connects until Start.
func New(cfg Config, app *application.Application, obs Observer, logger *slog.Logger) *Service {
	return &Service{
		cfg: cfg, auth: app.AuthenticateCaller, use: application.Issuer[domain.NATSRequest, domain.NATSGrant](app, domain.GrantNATS),
		obs: obs, log: logger, slots: make(chan struct{}, inFlight),
	}
}

// Start connects to the server with the service's credentials and serves
// the callout subject. A server that cannot be reached yet is retried in
// the background, as a lost connection is: the start does not wait for
// NATS, and the clients' connects wait for the service.
func (s *Service) Start(ctx context.Context) error {
	nc, err := nats.Connect(s.cfg.URL,
		nats.UserCredentials(s.cfg.CredsFile),
		nats.Name("gatepass auth callout"),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ConnectHandler(func(*nats.Conn) { s.log.InfoContext(ctx, "auth callout connected") }),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				s.log.WarnContext(ctx, "auth callout disconnected", "error", err)
			}
		}),
		nats.ReconnectHandler(func(*nats.Conn) { s.log.InfoContext(ctx, "auth callout reconnected") }),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			s.log.WarnContext(ctx, "auth callout error", "error", err)
		}),
	)
	if err != nil {
		return fmt.Errorf("auth callout: connect: %w", err)
	}
	sub, err := nc.QueueSubscribe(Subject, queue, func(m *nats.Msg) { s.dispatch(m) })
	if err != nil {
		nc.Close()
		return fmt.Errorf("auth callout: subscribe: %w", err)
	}
	if nc.IsConnected() {
		// The subscription is on the server before the start returns.
		_ = nc.Flush()
	}
	s.mu.Lock()
	s.nc, s.sub = nc, sub
	s.mu.Unlock()
	s.log.InfoContext(ctx, "auth callout started", "url", s.cfg.URL, "encrypted", s.cfg.Encrypted(), "connected", nc.IsConnected())
	return nil
}

// drainTimeout bounds the wait, on Stop, for the requests delivered to be
// taken up.
const drainTimeout = 5 * time.Second

// Stop stops taking requests, lets the requests delivered already be
// answered (at most drainTimeout to take them up), and closes the
// connection.
func (s *Service) Stop() {
	s.mu.Lock()
	nc, sub := s.nc, s.sub
	s.nc, s.sub = nil, nil
	s.mu.Unlock()
	if nc == nil {
		return
	}
	drained := sub.StatusChanged(nats.SubscriptionClosed)
	if err := sub.Drain(); err == nil {
		select {
		case <-drained:
		case <-time.After(drainTimeout):
		}
	}
	s.running.Wait()
	if nc.IsConnected() {
		_ = nc.FlushTimeout(time.Second)
	}
	nc.Close()
}

// dispatch answers m in a goroutine of its own, at most inFlight at once.
func (s *Service) dispatch(m *nats.Msg) {
	s.slots <- struct{}{}
	s.running.Add(1)
	go func() {
		defer func() {
			<-s.slots
			s.running.Done()
		}()
		s.answer(m)
	}()
}

// request is an authorization request as read.
type request struct {
	claims    *jwt.AuthorizationRequestClaims
	serverKey string // the server's curve key when the request was sealed
}

// answer reads one request, decides it and responds.
func (s *Service) answer(m *nats.Msg) {
	ctx := context.Background()
	req, err := s.read(m)
	if err != nil {
		// Nothing to answer to: the server times the connect out.
		s.log.WarnContext(ctx, "auth callout request refused", "error", err)
		return
	}
	// The user key the server made for this connect names the request in
	// gatepass's logs and in the server's.
	ctx = application.WithRequestInfo(ctx, &application.RequestInfo{RequestID: req.claims.UserNkey})
	if exp := req.claims.Expires; exp > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, time.Unix(exp, 0))
		defer cancel()
	}
	userJWT, err := s.decide(ctx, req.claims)
	res := jwt.NewAuthorizationResponseClaims(req.claims.UserNkey)
	res.Audience = req.claims.Server.ID
	if err != nil {
		res.Error = resultOf(err)
	} else {
		res.Jwt = userJWT
	}
	token, err := res.Encode(s.cfg.issuer)
	if err != nil {
		s.log.ErrorContext(ctx, "auth callout response", "error", err)
		return
	}
	out := []byte(token)
	if req.serverKey != "" {
		if out, err = s.cfg.xkey.Seal(out, req.serverKey); err != nil {
			s.log.ErrorContext(ctx, "auth callout response", "error", err)
			return
		}
	}
	if err := m.Respond(out); err != nil {
		s.log.WarnContext(ctx, "auth callout response", "error", err)
	}
}

// read opens and checks a request: signed by a server for a user key,
// for this audience, not expired.
func (s *Service) read(m *nats.Msg) (request, error) {
	data := m.Data
	var r request
	if serverKey := m.Header.Get(serverXKeyHeader); serverKey != "" {
		if s.cfg.xkey == nil {
			return r, fmt.Errorf("%w: encrypted, and no curve key is configured", errRequest)
		}
		opened, err := s.cfg.xkey.Open(data, serverKey)
		if err != nil {
			return r, fmt.Errorf("%w: cannot be opened with the configured curve key", errRequest)
		}
		data, r.serverKey = opened, serverKey
	}
	claims, err := jwt.DecodeAuthorizationRequestClaims(string(data))
	if err != nil {
		return r, fmt.Errorf("%w: %v", errRequest, err)
	}
	vr := jwt.CreateValidationResults()
	claims.Validate(vr)
	switch {
	case vr.IsBlocking(true):
		return r, fmt.Errorf("%w: %v", errRequest, vr.Errors()[0])
	case claims.Audience != requestAudience:
		return r, fmt.Errorf("%w: audience %q", errRequest, claims.Audience)
	case claims.Server.ID == "":
		return r, fmt.Errorf("%w: no server id", errRequest)
	}
	r.claims = claims
	return r, nil
}

// decide authenticates the connect's token and issues the grant, counting
// and logging the attempt as the HTTP adapter does a request.
func (s *Service) decide(ctx context.Context, req *jwt.AuthorizationRequestClaims) (string, error) {
	client, _ := netip.ParseAddr(req.ClientInformation.Host)
	token := req.ConnectOptions.Token
	var (
		id  application.Identity
		err error
	)
	if len(token) > maxToken {
		err = errors.Join(&domain.CredentialError{Reason: domain.ReasonMalformed}, s.auth.SpendFailure(ctx, client))
	} else {
		id, err = s.auth.Handle(ctx, application.AuthenticateCaller{Bearer: token, ClientIP: client})
	}
	var g domain.NATSGrant
	if err == nil {
		g, err = s.use.Handle(ctx, application.IssueGrant[domain.NATSRequest]{
			Caller: id.Principal, IdentityExpiresAt: id.ExpiresAt, Request: domain.NATSRequest{UserPublicKey: req.UserNkey},
		})
	}
	result := resultOf(err)
	s.obs.GrantIssued(domain.GrantNATS, result)
	attrs := []slog.Attr{slog.String("grant_kind", domain.GrantNATS.String()), slog.String("client_ip", client.String()), slog.String("result", result)}
	if p := id.Principal; p.UserID != "" {
		attrs = append(attrs, slog.String("user_id", p.UserID))
		if err == nil {
			attrs = append(attrs, slog.String("jti", g.ID), slog.String("org_id", p.OrgID), slog.String("role", p.Role))
		}
	}
	level := slog.LevelInfo
	if err != nil {
		if reason := reasonFor(err); reason != "" {
			s.obs.AuthFailure(reason)
			attrs = append(attrs, slog.String("reason", reason))
		}
		switch result {
		case "internal":
			level = slog.LevelError
			attrs = append(attrs, slog.Any("error", err))
		case "identity_unavailable", "rate_limiter_unavailable":
			level = slog.LevelWarn
		}
	}
	s.log.LogAttrs(ctx, level, "auth callout", attrs...)
	return g.Token, err
}

// results are the grant results (the HTTP adapter's problem codes) a
// refused connect is counted and answered under, in the order they are
// tried; an error matching none is "internal".
var results = []struct {
	err  error
	code string
	// refusal marks the codes of a refused caller (401 or 403), counted as
	// authentication failures.
	refusal bool
}{
	{application.ErrGrantKindDisabled, "transport_disabled", false},
	{domain.ErrRateLimited, "rate_limited", false},
	{domain.ErrLimiterUnavailable, "rate_limiter_unavailable", false},
	{application.ErrIdentityUnavailable, "identity_unavailable", false},
	{domain.ErrMissingCredentials, "missing_credentials", true},
	{domain.ErrInvalidCredentials, "invalid_token", true},
	{domain.ErrNoOrganization, "no_organization", true},
	{domain.ErrOrganizationMismatch, "organization_mismatch", true},
	{domain.ErrUnsupportedIdentifier, "unsupported_identifier", true},
	{domain.ErrTransportNotAllowed, "transport_not_allowed", true},
	{domain.ErrInvalidUserKey, "invalid_user_key", false},
	{domain.ErrRevoked, "revoked", true},
	{domain.ErrRevocationsUnavailable, "revocations_unavailable", false},
}

// resultOf is the result a connect is counted and answered under:
// "issued", or the code of why not.
func resultOf(err error) string {
	if err == nil {
		return "issued"
	}
	for _, r := range results {
		if errors.Is(err, r.err) {
			return r.code
		}
	}
	return "internal"
}

// reasonFor is the reason a refused caller is counted under: the
// verifier's reason for a refused token, the code for another refusal, ""
// when the caller was not refused (a budget, an outage).
func reasonFor(err error) string {
	for _, r := range results {
		if !errors.Is(err, r.err) {
			continue
		}
		if !r.refusal {
			return ""
		}
		if ce := (*domain.CredentialError)(nil); errors.As(err, &ce) {
			return string(ce.Reason)
		}
		return r.code
	}
	return ""
}

// Development files, written into the development folder.
const (
	// DevConfigFile is nats-server in operator mode with the development
	// account and a callout account that asks gatepass.
	DevConfigFile = "nats-server-callout.conf"
	// DevSentinelFile is the sentinel credentials clients connect with,
	// their identity token as the connect's auth_token.
	DevSentinelFile = "nats-sentinel.creds"
	// DevCredsFile is gatepass's own credentials, the callout account's
	// auth user.
	DevCredsFile = "nats-callout.creds"
	// DevURL is the development server, on loopback.
	DevURL = "nats://127.0.0.1:4222"
)

// Development is a callout setup for development: the callout account
// and its users, derived from a development secret so that every start
// finds the same keys, and reading settings writes nothing.
type Development struct {
	// IssuerSeed is the callout account's signing key seed, which signs
	// the answers.
	IssuerSeed                         []byte
	system, callout, service, sentinel nkeys.KeyPair
}

// NewDevelopment derives the development callout's keys from secret.
func NewDevelopment(secret string) (*Development, error) {
	derive := func(role string, prefix nkeys.PrefixByte) (nkeys.KeyPair, error) {
		raw := sha256.Sum256([]byte("gatepass development nats " + role + "\x00" + secret))
		return nkeys.FromRawSeed(prefix, raw[:])
	}
	var d Development
	issuer, err := derive("callout issuer", nkeys.PrefixByteAccount)
	if err != nil {
		return nil, err
	}
	seed, err := issuer.Seed()
	if err != nil {
		return nil, err
	}
	d.IssuerSeed = bytes.Clone(seed)
	for _, k := range []struct {
		kp     *nkeys.KeyPair
		role   string
		prefix nkeys.PrefixByte
	}{
		{&d.system, "system account", nkeys.PrefixByteAccount},
		{&d.callout, "callout account", nkeys.PrefixByteAccount},
		{&d.service, "callout service", nkeys.PrefixByteUser},
		{&d.sentinel, "sentinel", nkeys.PrefixByteUser},
	} {
		if *k.kp, err = derive(k.role, k.prefix); err != nil {
			return nil, err
		}
	}
	return &d, nil
}

// Files are the development files by name (DevConfigFile, DevSentinelFile,
// DevCredsFile) for the operator whose seed is operatorSeed and the
// account where the answers place users, whose signing key is
// signingKey: the server admits the HTTP endpoint's user JWTs too.
func (d *Development) Files(operatorSeed []byte, account, signingKey string) (map[string][]byte, error) {
	operator, err := nkeys.FromSeed(operatorSeed)
	if err != nil {
		return nil, err
	}
	defer operator.Wipe()
	pub := func(kp nkeys.KeyPair) string {
		p, _ := kp.PublicKey()
		return p
	}
	issuer, err := nkeys.FromSeed(d.IssuerSeed)
	if err != nil {
		return nil, err
	}
	encode := func(c jwt.Claims, kp nkeys.KeyPair) string {
		if err != nil {
			return ""
		}
		var token string
		token, err = c.Encode(kp)
		return token
	}
	creds := func(userJWT string, user nkeys.KeyPair) []byte {
		if err != nil {
			return nil
		}
		var seed, b []byte
		if seed, err = user.Seed(); err == nil {
			b, err = jwt.FormatUserConfig(userJWT, seed)
		}
		return b
	}
	oc := jwt.NewOperatorClaims(pub(operator))
	oc.Name = "gatepass-dev"
	sys := jwt.NewAccountClaims(pub(d.system))
	sys.Name = "SYS"
	app := jwt.NewAccountClaims(account)
	app.Name = "gatepass-dev"
	app.SigningKeys.Add(signingKey)
	auth := jwt.NewAccountClaims(pub(d.callout))
	auth.Name = "gatepass-callout"
	auth.SigningKeys.Add(pub(issuer))
	auth.EnableExternalAuthorization(pub(d.service))
	auth.Authorization.AllowedAccounts.Add(account)
	service := jwt.NewUserClaims(pub(d.service))
	service.Name = "gatepass-callout"
	sentinel := jwt.NewUserClaims(pub(d.sentinel))
	sentinel.Name = "sentinel"
	sentinel.BearerToken = true
	sentinel.Pub.Deny.Add(">")
	sentinel.Sub.Deny.Add(">")
	conf := fmt.Appendf(nil, `# Written by gatepass in development, again at every start: nats-server in
# operator mode that asks gatepass about every client connecting with the
# sentinel credentials (%s), their identity token as the connect's
# auth_token. The account gatepass places them in also admits the user JWTs
# of POST /api/v1/nats/token.
listen: "127.0.0.1:4222"
operator: %q
system_account: %s
resolver: MEMORY
resolver_preload: {
  %s: %q
  %s: %q
  %s: %q
}
websocket {
  listen: "127.0.0.1:4223"
  no_tls: true
}
`, DevSentinelFile, encode(oc, operator), pub(d.system),
		pub(d.system), encode(sys, operator), account, encode(app, operator), pub(d.callout), encode(auth, operator))
	files := map[string][]byte{
		DevConfigFile:   conf,
		DevCredsFile:    creds(encode(service, d.callout), d.service),
		DevSentinelFile: creds(encode(sentinel, d.callout), d.sentinel),
	}
	if err != nil {
		return nil, fmt.Errorf("development callout: %w", err)
	}
	return files, nil
}
