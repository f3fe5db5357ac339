package jwksidentity

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
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

// Errors of fetching the identity JWKS.
var (
	// ErrKeysNotLoaded means the identity JWKS has not been fetched yet.
	ErrKeysNotLoaded = errors.New("identity keys are not loaded yet")
	// ErrEmptyKeySet means a fetched JWKS held no usable key.
	ErrEmptyKeySet = errors.New("fetched JWKS holds no usable key; keeping the keys in hand")
	// ErrRedirect means the JWKS endpoint answered with a redirect, which is
	// never followed: the keys come from the configured URL or not at all.
	ErrRedirect = errors.New("JWKS endpoint redirected; redirects are not followed")
	// ErrJWKSStatus means the JWKS endpoint answered with another status than 200.
	ErrJWKSStatus = errors.New("JWKS endpoint answered with an unexpected status")
	// ErrJWKSTooLarge means the JWKS answer is larger than MaxBytes.
	ErrJWKSTooLarge = errors.New("JWKS answer is too large")
	// ErrJWKSMalformed means the JWKS answer is not a JSON JWK Set.
	ErrJWKSMalformed = errors.New("JWKS answer is not a JWK Set")
)

// Defaults of RemoteOptions.
const (
	DefaultRefreshInterval    = 5 * time.Minute
	DefaultMinRefreshInterval = time.Minute
	DefaultUnknownKIDInterval = time.Minute
	DefaultHTTPTimeout        = 10 * time.Second
	DefaultMaxBytes           = 1 << 20
)

// RemoteOptions tune how the remote key set is fetched.
//
// How long a key the provider removed from its JWKS keeps verifying, at
// worst: RefreshInterval (5 minutes by default), or the provider's
// Cache-Control max-age when shorter but never less than
// MinRefreshInterval (1 minute), plus HTTPTimeout; a token verified just
// before may be answered by the Cached verifier for its MaxAge more. While
// the JWKS cannot be fetched, or answers with no usable key, the keys in
// hand stay trusted until a fetch succeeds.
type RemoteOptions struct {
	// RefreshInterval is the longest time between background fetches
	// (DefaultRefreshInterval when zero).
	RefreshInterval time.Duration
	// MinRefreshInterval is the shortest time between background fetches
	// that the provider's Cache-Control max-age can ask for
	// (DefaultMinRefreshInterval when zero). It does not bound
	// RefreshInterval.
	MinRefreshInterval time.Duration
	// UnknownKIDInterval is the least time between refreshes caused by a
	// token naming an unknown kid, whether they succeed or fail.
	UnknownKIDInterval time.Duration
	// HTTPTimeout bounds each fetch.
	HTTPTimeout time.Duration
	// MaxBytes is the largest JWKS answer read (DefaultMaxBytes, 1 MiB,
	// when zero); a larger one fails the fetch.
	MaxBytes int64
	// RetryMin and RetryMax bound the backoff between start-up attempts
	// while the JWKS cannot be fetched.
	RetryMin, RetryMax time.Duration
	// OnRefresh, when set, is told of every fetch: nil on success.
	OnRefresh func(err error)
	// OnKeySkipped, when set, is told of every key of a fetched set that is
	// left out, and why.
	OnKeySkipped func(reason SkipReason)
	Logger       *slog.Logger
}

func (o *RemoteOptions) defaults() {
	if o.RefreshInterval <= 0 {
		o.RefreshInterval = DefaultRefreshInterval
	}
	if o.MinRefreshInterval <= 0 {
		o.MinRefreshInterval = DefaultMinRefreshInterval
	}
	if o.UnknownKIDInterval <= 0 {
		o.UnknownKIDInterval = DefaultUnknownKIDInterval
	}
	if o.HTTPTimeout <= 0 {
		o.HTTPTimeout = DefaultHTTPTimeout
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
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
	if o.OnKeySkipped == nil {
		o.OnKeySkipped = func(SkipReason) {}
	}
}

// RemoteKeys is the identity provider's key set, fetched and refreshed in
// the background, keys parsed by jwkset and selected by keyfunc. Every fetch
// runs detached from any request, under its own timeout, and is shared: a
// token naming an unknown kid causes at most one fetch per
// UnknownKIDInterval (whether it succeeds or fails), its callers wait for
// that fetch or for their own context, and no caller leaving cancels it. A
// set that cannot be fetched at start is retried with backoff (the service
// is not ready meanwhile), and a fetch that yields no usable key never
// replaces the keys in hand, so a broken JWKS endpoint cannot log every
// caller out. Keys unfit to verify signatures are left out (see
// SkipReason); answers are read up to MaxBytes; redirects are refused.
type RemoteKeys struct {
	url string
	// logURL is url without a password, for logs.
	logURL string
	opts   RemoteOptions
	client *http.Client
	// kf selects keys from one jwkset.Storage, whose keys every good fetch
	// replaces; loaded is set by the first.
	kf     keyfunc.Keyfunc
	loaded atomic.Bool
	// life is the context given to NewRemoteKeys: fetches run under it,
	// never under a caller's.
	life context.Context
	mu   sync.Mutex
	// inflight is the fetch under way, nil when none is.
	inflight *fetchCall
	// lastUnknownKID is when an unknown kid last started a fetch.
	lastUnknownKID time.Time
	// next is the wait before the next background fetch.
	next time.Duration
}

// fetchCall is one shared fetch; err is set before done is closed.
type fetchCall struct {
	done chan struct{}
	err  error
}

// NewRemoteKeys fetches the key set at jwksURL once, and keeps trying in
// the background with backoff when that fails. Fetching ends with ctx.
func NewRemoteKeys(ctx context.Context, jwksURL string, o RemoteOptions) (*RemoteKeys, error) {
	r, err := newRemote(ctx, jwksURL, o)
	if err != nil {
		return nil, err
	}
	first := r.startFetch(false)
	select {
	case <-first.done:
	case <-ctx.Done():
		return r, nil
	}
	if first.err != nil {
		r.opts.Logger.WarnContext(ctx, "identity JWKS unavailable at start; retrying in the background", "url", r.logURL, "error", first.err)
	}
	go r.run(ctx, first.err == nil)
	return r, nil
}

func newRemote(ctx context.Context, jwksURL string, o RemoteOptions) (*RemoteKeys, error) {
	if err := CheckURL(jwksURL); err != nil {
		return nil, err
	}
	o.defaults()
	logURL := jwksURL
	if u, err := url.Parse(jwksURL); err == nil {
		logURL = u.Redacted()
	}
	kf, err := keyfuncOf(nil)
	if err != nil {
		return nil, err
	}
	return &RemoteKeys{url: jwksURL, logURL: logURL, opts: o, life: ctx, kf: kf, next: o.RefreshInterval, client: &http.Client{
		Timeout: o.HTTPTimeout,
		// A JWKS endpoint that redirects elsewhere is not the configured one.
		CheckRedirect: func(*http.Request, []*http.Request) error { return ErrRedirect },
	}}, nil
}

// run retries the first fetch with backoff until it succeeds, then
// refreshes the set in the background until ctx ends.
func (r *RemoteKeys) run(ctx context.Context, loaded bool) {
	wait := r.opts.RetryMin
	for !loaded {
		if !sleep(ctx, wait) {
			return
		}
		err, ok := r.fetchAndWait(ctx)
		if !ok {
			return
		}
		if err == nil {
			r.opts.Logger.InfoContext(ctx, "identity JWKS loaded", "url", r.logURL)
			loaded = true
			break
		}
		r.opts.Logger.WarnContext(ctx, "identity JWKS still unavailable", "url", r.logURL, "error", err, "retry_in", wait.String())
		wait = min(2*wait, r.opts.RetryMax)
	}
	for {
		if !sleep(ctx, r.nextRefresh()) {
			return
		}
		if _, ok := r.fetchAndWait(ctx); !ok {
			return
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// fetchAndWait starts or joins a fetch and waits for it; ok is false when
// ctx ended first.
func (r *RemoteKeys) fetchAndWait(ctx context.Context) (err error, ok bool) {
	c := r.startFetch(false)
	select {
	case <-c.done:
		return c.err, true
	case <-ctx.Done():
		return ctx.Err(), false
	}
}

// nextRefresh is the wait before the next background fetch.
func (r *RemoteKeys) nextRefresh() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.next
}

// startFetch joins the fetch under way or starts one. For an unknown kid it
// starts one only when the last such fetch is UnknownKIDInterval old, and
// returns nil otherwise.
func (r *RemoteKeys) startFetch(unknownKID bool) *fetchCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.inflight != nil {
		return r.inflight
	}
	if unknownKID {
		if !r.lastUnknownKID.IsZero() && time.Since(r.lastUnknownKID) < r.opts.UnknownKIDInterval {
			return nil
		}
		r.lastUnknownKID = time.Now()
	}
	c := &fetchCall{done: make(chan struct{})}
	r.inflight = c
	go func() {
		c.err = r.refresh()
		r.mu.Lock()
		r.inflight = nil
		r.mu.Unlock()
		close(c.done)
	}()
	return c
}

// refresh fetches the set under its own timeout and installs it.
func (r *RemoteKeys) refresh() error {
	ctx, cancel := context.WithTimeout(r.life, r.opts.HTTPTimeout)
	defer cancel()
	jwks, maxAge, err := r.fetch(ctx)
	if err == nil {
		if err = r.kf.Storage().KeyReplaceAll(ctx, jwks); err == nil {
			r.loaded.Store(true)
			r.mu.Lock()
			r.next = refreshAfter(maxAge, r.opts)
			r.mu.Unlock()
		}
	}
	r.opts.OnRefresh(err)
	if err != nil {
		r.opts.Logger.WarnContext(ctx, "identity JWKS fetch failed; keeping the keys in hand", "url", r.logURL, "error", err)
	}
	return err
}

// refreshAfter is the wait before the next background fetch: the
// provider's max-age when it is known and shorter than RefreshInterval, but
// not under MinRefreshInterval.
func refreshAfter(maxAge time.Duration, o RemoteOptions) time.Duration {
	if maxAge < 0 || maxAge >= o.RefreshInterval {
		return o.RefreshInterval
	}
	return min(o.RefreshInterval, max(maxAge, o.MinRefreshInterval))
}

// fetch GETs the set and returns its usable keys and how long the answer
// may be cached (-1 when it does not say).
func (r *RemoteKeys) fetch(ctx context.Context) ([]jwkset.JWK, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return nil, -1, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, -1, fmt.Errorf("fetch JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			return nil, -1, ErrRedirect
		}
		return nil, -1, fmt.Errorf("%w: %d", ErrJWKSStatus, resp.StatusCode)
	}
	if resp.ContentLength > r.opts.MaxBytes {
		return nil, -1, fmt.Errorf("%w: %d bytes announced, at most %d read", ErrJWKSTooLarge, resp.ContentLength, r.opts.MaxBytes)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, r.opts.MaxBytes+1))
	if err != nil {
		return nil, -1, fmt.Errorf("fetch JWKS: %w", err)
	}
	if int64(len(body)) > r.opts.MaxBytes {
		return nil, -1, fmt.Errorf("%w: more than %d bytes", ErrJWKSTooLarge, r.opts.MaxBytes)
	}
	jwks, err := parseSet(body, func(kid string, reason SkipReason, cause error) {
		r.opts.OnKeySkipped(reason)
		r.opts.Logger.WarnContext(ctx, "identity JWKS key skipped", "url", r.logURL, "kid", kid, "reason", string(reason), "error", cause)
	})
	if err != nil {
		return nil, -1, err
	}
	return jwks, maxAge(resp.Header), nil
}

// maxAge is how long an answer with header h may be cached: its
// Cache-Control max-age less its Age, 0 for no-cache or no-store, -1 when
// it does not say.
func maxAge(h http.Header) time.Duration {
	age := time.Duration(0)
	if s, err := strconv.ParseInt(strings.TrimSpace(h.Get("Age")), 10, 64); err == nil && s > 0 {
		age = time.Duration(min(s, 1<<31)) * time.Second
	}
	found := time.Duration(-1)
	for _, line := range h.Values("Cache-Control") {
		for _, directive := range strings.Split(line, ",") {
			name, value, _ := strings.Cut(strings.TrimSpace(directive), "=")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "no-cache", "no-store":
				return 0
			case "max-age":
				s, err := strconv.ParseInt(strings.Trim(strings.TrimSpace(value), `"`), 10, 64)
				if err != nil || s < 0 {
					continue
				}
				d := time.Duration(min(s, 1<<31)) * time.Second
				if found < 0 || d < found {
					found = d
				}
			}
		}
	}
	if found < 0 {
		return -1
	}
	return max(found-age, 0)
}

// KeyfuncCtx returns the key function; before the first successful fetch
// every key lookup fails with ErrKeysNotLoaded. A kid not in the set starts
// (or joins) a shared fetch when the unknown-kid interval allows, and waits
// for it or for ctx.
func (r *RemoteKeys) KeyfuncCtx(ctx context.Context) jwt.Keyfunc {
	return func(t *jwt.Token) (any, error) {
		if !r.loaded.Load() {
			return nil, ErrKeysNotLoaded
		}
		key, err := r.kf.KeyfuncCtx(ctx)(t)
		if err == nil || !errors.Is(err, jwkset.ErrKeyNotFound) {
			return key, err
		}
		c := r.startFetch(true)
		if c == nil {
			return nil, err
		}
		select {
		case <-c.done:
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: gave up waiting for the key set: %w", err, ctx.Err())
		}
		return r.kf.KeyfuncCtx(ctx)(t)
	}
}

// Ready reports how many keys are in hand, or why none are.
func (r *RemoteKeys) Ready(ctx context.Context) (string, error) {
	n := r.KeyCount(ctx)
	if n == 0 {
		return "", ErrKeysNotLoaded
	}
	return fmt.Sprintf("%d keys", n), nil
}

// KeyCount is how many keys are in hand: 0 before the first successful
// fetch.
func (r *RemoteKeys) KeyCount(ctx context.Context) int {
	return CountKeys(ctx, r.kf)
}

// CountKeys is how many keys kf holds (0 when its store cannot tell).
func CountKeys(ctx context.Context, kf keyfunc.Keyfunc) int {
	all, err := kf.Storage().KeyReadAll(ctx)
	if err != nil {
		return 0
	}
	return len(all)
}

// FetchKeys fetches the key set at jwksURL once, with the rules of
// RemoteKeys (https or loopback, no redirect, MaxBytes, unfit keys left
// out), and returns its keys; for tools that verify one token.
func FetchKeys(ctx context.Context, jwksURL string, o RemoteOptions) (keyfunc.Keyfunc, error) {
	r, err := newRemote(ctx, jwksURL, o)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, r.opts.HTTPTimeout)
	defer cancel()
	jwks, _, err := r.fetch(ctx)
	if err != nil {
		return nil, err
	}
	return keyfuncOf(jwks)
}

// NewStaticKeys returns a key set of the given JWK Set JSON (development),
// with the rules of a fetched set: unfit keys are left out, and a set with
// no usable key is refused.
func NewStaticKeys(setJSON []byte) (keyfunc.Keyfunc, error) {
	jwks, err := parseSet(setJSON, func(string, SkipReason, error) {})
	if err != nil {
		return nil, err
	}
	return keyfuncOf(jwks)
}

func keyfuncOf(jwks []jwkset.JWK) (keyfunc.Keyfunc, error) {
	store := jwkset.NewMemoryStorage()
	if err := store.KeyReplaceAll(context.Background(), jwks); err != nil {
		return nil, err
	}
	return keyfunc.New(keyfunc.Options{Storage: store})
}
