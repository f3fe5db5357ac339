// Package ginhttp is gatepass's inbound HTTP adapter on gin: it turns
// requests into application commands and results into JSON, and maps domain
// errors to RFC 9457 problem responses. No gin type crosses into application.
package ginhttp

import (
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/gatepass/gatepass/application"
)

// Defaults of Options.
const (
	DefaultMaxBodyBytes   = 4 << 10
	DefaultMaxBearerBytes = 8 << 10
)

// Routes of the public API.
const (
	RouteHealth        = "/healthz"
	RouteOfficeAccess  = "/api/v1/cloudflare/request-access"
	RouteRealtimeToken = "/api/v1/realtime/token"
)

// Options tune the router.
type Options struct {
	Logger *slog.Logger
	// MaxBodyBytes bounds request bodies (413 past it).
	MaxBodyBytes int64
	// MaxBearerBytes bounds the Authorization header (401 past it).
	MaxBearerBytes int
}

// NewRouter returns the public API handler.
func NewRouter(app *application.Application, o Options) http.Handler {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.MaxBearerBytes <= 0 {
		o.MaxBearerBytes = DefaultMaxBearerBytes
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	// No proxy is trusted unless configured: X-Forwarded-For is not believed.
	_ = r.SetTrustedProxies(nil)

	h := &handlers{app: app, log: o.Logger, maxBody: o.MaxBodyBytes, maxBearer: o.MaxBearerBytes}
	r.Use(h.requestLog, h.recover)
	r.NoRoute(func(c *gin.Context) { writeProblem(c, problemNotFound) })
	r.NoMethod(func(c *gin.Context) { writeProblem(c, problemMethodNotAllowed) })

	r.GET(RouteHealth, h.health)
	r.HEAD(RouteHealth, h.health)
	r.GET(RouteJWKS, h.jwks)
	r.GET(RouteOpenAPI, h.openapi)
	api := r.Group("/", h.authenticate)
	api.POST(RouteOfficeAccess, h.requestOfficeAccess)
	api.POST(RouteRealtimeToken, h.issueRealtimeToken)
	return r
}
