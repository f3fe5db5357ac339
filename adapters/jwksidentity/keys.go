package jwksidentity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"golang.org/x/time/rate"
)

// ErrInsecureURL means a JWKS URL is not https:// and not on loopback.
var ErrInsecureURL = errors.New("JWKS URL must be https:// (http:// only for loopback hosts)")

// CheckURL accepts https:// URLs, and http:// only for loopback hosts.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%w: not an absolute URL", ErrInsecureURL)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if host == "localhost" {
			return nil
		}
		if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
			return nil
		}
	}
	return ErrInsecureURL
}

// RemoteOptions tune how the remote key set is fetched.
type RemoteOptions struct {
	// RefreshInterval is how often keys are fetched in the background.
	RefreshInterval time.Duration
	// UnknownKIDInterval is the least time between refreshes caused by a
	// token naming an unknown kid.
	UnknownKIDInterval time.Duration
	// HTTPTimeout bounds each fetch.
	HTTPTimeout time.Duration
	Logger      *slog.Logger
}

// NewRemoteKeys returns a cached, refreshing key set for jwksURL. The first
// fetch may fail: the set then refreshes in the background and on demand.
// Fetching ends when ctx ends.
func NewRemoteKeys(ctx context.Context, jwksURL string, o RemoteOptions) (keyfunc.Keyfunc, error) {
	if err := CheckURL(jwksURL); err != nil {
		return nil, err
	}
	if o.RefreshInterval <= 0 {
		o.RefreshInterval = time.Hour
	}
	if o.UnknownKIDInterval <= 0 {
		o.UnknownKIDInterval = time.Minute
	}
	if o.HTTPTimeout <= 0 {
		o.HTTPTimeout = 10 * time.Second
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	client := &http.Client{
		Timeout: o.HTTPTimeout,
		// A JWKS endpoint that redirects elsewhere is not the configured one.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return keyfunc.NewDefaultOverrideCtx(ctx, []string{jwksURL}, keyfunc.Override{
		Client:          client,
		HTTPTimeout:     o.HTTPTimeout,
		RefreshInterval: o.RefreshInterval,
		// The wait budget also bounds the refresh it allows. A refresh the
		// limiter would delay past it is refused at once (rate.Limiter.Wait
		// does not sleep past a deadline), so a flood of unknown kids is
		// answered fast.
		RateLimitWaitMax:  o.HTTPTimeout,
		RefreshUnknownKID: rate.NewLimiter(rate.Every(o.UnknownKIDInterval), 1),
		RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
			return func(ctx context.Context, err error) {
				logger.WarnContext(ctx, "identity JWKS refresh failed", "url", u, "error", err)
			}
		},
	})
}

// NewStaticKeys returns a key set of the given JWK Set JSON (development).
func NewStaticKeys(setJSON []byte) (keyfunc.Keyfunc, error) {
	return keyfunc.NewJWKSetJSON(setJSON)
}

// KeyCount reports how many keys the set holds now.
func KeyCount(ctx context.Context, kf keyfunc.Keyfunc) (int, error) {
	all, err := kf.Storage().KeyReadAll(ctx)
	if err != nil {
		return 0, err
	}
	return len(all), nil
}
