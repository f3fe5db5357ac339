package jwksidentity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
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

// ErrKeysNotLoaded means the identity JWKS has not been fetched yet.
var ErrKeysNotLoaded = errors.New("identity keys are not loaded yet")

// RemoteOptions tune how the remote key set is fetched.
type RemoteOptions struct {
	// RefreshInterval is how often keys are fetched in the background.
	RefreshInterval time.Duration
	// UnknownKIDInterval is the least time between refreshes caused by a
	// token naming an unknown kid.
	UnknownKIDInterval time.Duration
	// HTTPTimeout bounds each fetch.
	HTTPTimeout time.Duration
	// RetryMin and RetryMax bound the backoff between start-up attempts
	// while the JWKS cannot be fetched.
	RetryMin, RetryMax time.Duration
	// OnRefresh, when set, is told of every fetch: nil on success.
	OnRefresh func(err error)
	Logger    *slog.Logger
}

func (o *RemoteOptions) defaults() {
	if o.RefreshInterval <= 0 {
		o.RefreshInterval = time.Hour
	}
	if o.UnknownKIDInterval <= 0 {
		o.UnknownKIDInterval = time.Minute
	}
	if o.HTTPTimeout <= 0 {
		o.HTTPTimeout = 10 * time.Second
	}
	if o.RetryMin <= 0 {
		o.RetryMin = 500 * time.Millisecond
	}
	if o.RetryMax < o.RetryMin {
		o.RetryMax = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.OnRefresh == nil {
		o.OnRefresh = func(error) {}
	}
}

// RemoteKeys is the identity provider's key set, fetched, cached and
// refreshed by jwkset and keyfunc. Two policies are added on top of the
// library: a set that cannot be fetched at start is retried with backoff
// (the service is not ready meanwhile), and a fetch that yields no usable
// key never replaces the keys in hand, so a broken JWKS endpoint cannot
// log every caller out.
type RemoteKeys struct {
	url string
	// logURL is url without a password, for logs.
	logURL string
	opts   RemoteOptions
	client *http.Client
	kf     atomic.Pointer[keyfunc.Keyfunc]
}

// NewRemoteKeys fetches the key set at jwksURL once, and keeps trying in
// the background with backoff when that fails. Fetching ends with ctx.
func NewRemoteKeys(ctx context.Context, jwksURL string, o RemoteOptions) (*RemoteKeys, error) {
	if err := CheckURL(jwksURL); err != nil {
		return nil, err
	}
	o.defaults()
	logURL := jwksURL
	if u, err := url.Parse(jwksURL); err == nil {
		logURL = u.Redacted()
	}
	r := &RemoteKeys{url: jwksURL, logURL: logURL, opts: o, client: &http.Client{
		Timeout: o.HTTPTimeout,
		// A JWKS endpoint that redirects elsewhere is not the configured one.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	if err := r.load(ctx); err != nil {
		o.Logger.WarnContext(ctx, "identity JWKS unavailable at start; retrying in the background", "url", r.logURL, "error", err)
		go r.retry(ctx)
	}
	return r, nil
}

func (r *RemoteKeys) retry(ctx context.Context) {
	wait := r.opts.RetryMin
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		err := r.load(ctx)
		if err == nil {
			r.opts.Logger.InfoContext(ctx, "identity JWKS loaded", "url", r.logURL)
			return
		}
		r.opts.Logger.WarnContext(ctx, "identity JWKS still unavailable", "url", r.logURL, "error", err, "retry_in", wait.String())
		wait = min(2*wait, r.opts.RetryMax)
	}
}

// load makes one attempt at fetching the set and, on success, installs a
// refreshing key function over it.
func (r *RemoteKeys) load(ctx context.Context) error {
	attempt, cancel := context.WithCancel(ctx)
	store := &nonEmptyStorage{Storage: jwkset.NewMemoryStorage(), onReplace: r.opts.OnRefresh}
	remote, err := jwkset.NewStorageFromHTTP(r.url, jwkset.HTTPClientStorageOptions{
		Client:          r.client,
		Ctx:             attempt,
		HTTPTimeout:     r.opts.HTTPTimeout,
		RefreshInterval: r.opts.RefreshInterval,
		Storage:         store,
		RefreshErrorHandler: func(ctx context.Context, err error) {
			r.opts.OnRefresh(err)
			r.opts.Logger.WarnContext(ctx, "identity JWKS refresh failed; keeping the keys in hand", "url", r.logURL, "error", err)
		},
	})
	if err != nil {
		cancel()
		r.opts.OnRefresh(err)
		return err
	}
	client, err := jwkset.NewHTTPClient(jwkset.HTTPClientOptions{
		HTTPURLs: map[string]jwkset.Storage{r.url: remote},
		// The wait budget also bounds the refresh it allows. A refresh the
		// limiter would delay past it is refused at once (rate.Limiter.Wait
		// does not sleep past a deadline), so a flood of unknown kids is
		// answered fast.
		RateLimitWaitMax:  r.opts.HTTPTimeout,
		RefreshUnknownKID: rate.NewLimiter(rate.Every(r.opts.UnknownKIDInterval), 1),
	})
	if err != nil {
		cancel()
		return err
	}
	kf, err := keyfunc.New(keyfunc.Options{Ctx: attempt, Storage: client})
	if err != nil {
		cancel()
		return err
	}
	// A loaded set refreshes until ctx ends; attempt is cancelled only
	// when the attempt fails.
	_ = cancel
	r.kf.Store(&kf)
	return nil
}

// KeyfuncCtx returns the key function; before the first successful fetch
// every key lookup fails with ErrKeysNotLoaded.
func (r *RemoteKeys) KeyfuncCtx(ctx context.Context) jwt.Keyfunc {
	kf := r.kf.Load()
	if kf == nil {
		return func(*jwt.Token) (any, error) { return nil, ErrKeysNotLoaded }
	}
	return (*kf).KeyfuncCtx(ctx)
}

// Ready reports how many keys are in hand, or why none are.
func (r *RemoteKeys) Ready(ctx context.Context) (string, error) {
	kf := r.kf.Load()
	if kf == nil {
		return "", ErrKeysNotLoaded
	}
	n, err := keyCount(ctx, *kf)
	if err != nil {
		return "", err
	}
	if n == 0 {
		return "", ErrKeysNotLoaded
	}
	return fmt.Sprintf("%d keys", n), nil
}

// ErrEmptyKeySet means a fetched JWKS held no usable key.
var ErrEmptyKeySet = errors.New("fetched JWKS holds no usable key; keeping the keys in hand")

// nonEmptyStorage refuses to replace its keys with an empty set.
type nonEmptyStorage struct {
	jwkset.Storage
	onReplace func(error)
}

func (s *nonEmptyStorage) KeyReplaceAll(ctx context.Context, given []jwkset.JWK) error {
	if len(given) == 0 {
		return ErrEmptyKeySet
	}
	if err := s.Storage.KeyReplaceAll(ctx, given); err != nil {
		return err
	}
	s.onReplace(nil)
	return nil
}

// NewStaticKeys returns a key set of the given JWK Set JSON (development).
func NewStaticKeys(setJSON []byte) (keyfunc.Keyfunc, error) {
	return keyfunc.NewJWKSetJSON(setJSON)
}

// keyCount reports how many keys the set holds now.
func keyCount(ctx context.Context, kf keyfunc.Keyfunc) (int, error) {
	all, err := kf.Storage().KeyReadAll(ctx)
	if err != nil {
		return 0, err
	}
	return len(all), nil
}
