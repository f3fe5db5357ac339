// Package ginhttp is gatepass's inbound HTTP adapter on gin: it turns
// requests into application commands and results into JSON, and maps domain
// errors to RFC 9457 problem responses. No gin type crosses into application.
// The grant endpoints and the token exchange's audiences are the grant
// registrations (grants.go), one per transport in a file of its own.
package ginhttp

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
	"github.com/gatepass/gatepass/foundation/slogctx"
)

// Defaults of Options.
const (
	DefaultMaxBodyBytes   = 4 << 10
	DefaultMaxBearerBytes = 8 << 10
)

// Routes of the public API.
const (
	RouteHealth = "/healthz"
)

// Observer is told how requests and grants went; the metrics adapter
// implements it.
type Observer interface {
	ObserveRequest(route, method string, status int, elapsed time.Duration)
	GrantIssued(kind domain.GrantKind, result string)
	// AuthFailure is told the reason of every 401 and 403, one of
	// RefusalReasons: the reason the request log names.
	AuthFailure(reason string)
}

type nopObserver struct{}

func (nopObserver) ObserveRequest(string, string, int, time.Duration) {}
func (nopObserver) GrantIssued(domain.GrantKind, string)              {}
func (nopObserver) AuthFailure(string)                                {}

// Options tune the router.
type Options struct {
	Logger *slog.Logger
	// MaxBodyBytes bounds request bodies (413 past it).
	MaxBodyBytes int64
	// MaxBearerBytes bounds the Authorization header (401 past it).
	MaxBearerBytes int
	// TrustedProxies are the networks whose X-Forwarded-For is believed
	// when finding the client address (see ClientAddr); none by default.
	// Client addresses are compared unmapped: give IPv4 networks as IPv4.
	TrustedProxies []netip.Prefix
	// CORSOrigins are the browser origins allowed to call the API; CORS is
	// off when empty.
	CORSOrigins []string
	Observer    Observer
	// PublicBaseURL is the URL clients reach gatepass at, the issuer of
	// the OAuth metadata; nil or "" answers the metadata 404.
	PublicBaseURL func() string
	// Draining, when set and true, asks clients to close their connection
	// after each response: a shutdown has begun.
	Draining func() bool
	// ExplainRefusals adds to every 401 and 403 problem the reason the
	// request log names (unknown_key, wrong_issuer...): for development,
	// where the caller is the developer. A production caller learns no
	// more than the problem's code.
	ExplainRefusals bool
	// WorkOSWebhookSecret verifies the WorkOS webhook's signatures; empty
	// leaves the webhook unrouted (404).
	WorkOSWebhookSecret []byte
	// DevIdentity, in development with local identities only, serves
	// POST /dev/identity-token to callers on this machine; nil leaves it
	// unrouted (404), as production must.
	DevIdentity DevIdentityIssuer
}

// RouteReady answers whether the service is ready for traffic.
const RouteReady = "/readyz"

// NewRouter returns the public API handler.
func NewRouter(app *application.Application, o Options) (http.Handler, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.MaxBearerBytes <= 0 {
		o.MaxBearerBytes = DefaultMaxBearerBytes
	}
	if o.Observer == nil {
		o.Observer = nopObserver{}
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	// gin's own ClientIP is never used: ClientAddr finds the client once
	// per request, believing X-Forwarded-For only from trusted proxies.
	if err := r.SetTrustedProxies(nil); err != nil {
		return nil, fmt.Errorf("trusted proxies: %w", err)
	}

	h := &handlers{app: app, log: o.Logger, maxBody: o.MaxBodyBytes, maxBearer: o.MaxBearerBytes, obs: o.Observer,
		methods: map[string]bool{}, public: true, publicBase: o.PublicBaseURL, trusted: o.TrustedProxies}
	h.lines, _ = o.Logger.Handler().(slogctx.Handler)
	h.draining = o.Draining
	h.explain = o.ExplainRefusals
	h.audiences = enabledAudiences(app)
	h.isAudience = map[string]bool{}
	for _, a := range h.audiences {
		h.isAudience[a] = true
	}
	// frame first: it makes the request's state the others write to, and
	// it never answers, so the security headers are on every response.
	r.Use(h.frame)
	if len(o.CORSOrigins) > 0 {
		r.Use(corsFor(o.CORSOrigins))
	}
	r.NoRoute(func(c *gin.Context) { writeProblem(c, problemNotFound) })
	r.NoMethod(func(c *gin.Context) { writeProblem(c, problemMethodNotAllowed) })

	r.GET(RouteHealth, h.health)
	r.HEAD(RouteHealth, h.health)
	r.GET(RouteJWKS, h.jwks)
	r.GET(RouteOpenAPI, h.openapi)
	r.GET(RouteReady, h.ready)
	r.GET(RouteOAuthMetadata, h.metadata)
	r.POST(RouteTokenExchange, h.tokenExchange)
	if len(o.WorkOSWebhookSecret) > 0 && app.HandleIdentityEvent != nil {
		w := &workosWebhook{app: app, h: h, secret: o.WorkOSWebhookSecret, now: time.Now}
		r.POST(RouteWorkOSWebhook, w.receive)
	}
	if o.DevIdentity != nil {
		r.POST(RouteDevIdentityToken, devIdentity{h: h, issuer: o.DevIdentity}.issue)
	}
	for _, reg := range registrations() {
		for _, g := range reg.routes {
			if !app.Enabled(g.kind) {
				r.POST(g.path, h.grantKind(g.kind), transportDisabled)
				continue
			}
			r.POST(g.path, h.grantKind(g.kind), h.authenticate, g.handle(h))
		}
	}
	for _, wh := range webhookRoutes {
		if w, ok := app.Webhook(wh.kind); ok && app.Enabled(wh.kind) {
			r.POST(wh.path, wh.receive(h, w))
		}
	}
	// The method label of the metrics is one of the routed methods or
	// "other": a client must not mint a series per method it invents.
	for _, route := range r.Routes() {
		h.methods[route.Method] = true
	}
	if len(o.CORSOrigins) > 0 {
		h.methods[http.MethodOptions] = true
	}
	return r, nil
}

// NewAdminRouter returns the admin listener's handler: metrics, liveness
// and readiness, and with a token the admin API, kept off the public port.
func NewAdminRouter(app *application.Application, metrics http.Handler, o AdminOptions) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	h := &handlers{app: app, log: o.Logger, obs: nopObserver{}}
	r.Use(securityHeaders, h.recover)
	r.NoRoute(func(c *gin.Context) { writeProblem(c, problemNotFound) })
	r.GET(RouteHealth, h.health)
	r.GET(RouteReady, h.ready)
	if metrics != nil {
		r.GET("/metrics", gin.WrapH(metrics))
	}
	routeAdminAPI(r, app, o)
	return r
}
