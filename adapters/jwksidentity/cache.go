package jwksidentity

import (
	"context"
	"crypto/sha256"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/gatepass/gatepass/domain"
)

// cachedPrincipal is a verified principal and when the cache must forget it.
type cachedPrincipal struct {
	principal domain.Principal
	until     time.Time
	// exp is the token's own expiry.
	exp time.Time
}

// Cached is an IdentityVerifier that remembers successful verifications:
// a caller presents the same access token for minutes, and a cache hit
// skips the RSA verification. Only successes are cached, keyed by the
// SHA-256 of the token (never the token itself), and never past the token's
// exp nor past MaxAge, so a key dropped from the identity JWKS stops being
// honoured within MaxAge.
type Cached struct {
	verifier *Verifier
	cache    *lru.Cache[[sha256.Size]byte, cachedPrincipal]
	maxAge   time.Duration
	now      func() time.Time
	onLookup func(hit bool)
}

// CacheOption tunes a Cached verifier.
type CacheOption func(*Cached)

// OnLookup has f told of every lookup: hit when a cached principal
// answered, miss when the token was verified (or refused).
func OnLookup(f func(hit bool)) CacheOption {
	return func(c *Cached) { c.onLookup = f }
}

var (
	_ domain.IdentityVerifier         = (*Cached)(nil)
	_ domain.ExpiringIdentityVerifier = (*Cached)(nil)
)

// NewCached wraps v with a bounded LRU cache of size entries. now may be nil.
func NewCached(v *Verifier, size int, maxAge time.Duration, now func() time.Time, opts ...CacheOption) (*Cached, error) {
	cache, err := lru.New[[sha256.Size]byte, cachedPrincipal](size)
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	c := &Cached{verifier: v, cache: cache, maxAge: maxAge, now: now, onLookup: func(bool) {}}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// VerifyIdentity answers from the cache when it can, and verifies otherwise.
func (c *Cached) VerifyIdentity(ctx context.Context, bearer string) (domain.Principal, error) {
	p, _, err := c.VerifyIdentityUntil(ctx, bearer)
	return p, err
}

// VerifyIdentityUntil is VerifyIdentity that also tells the token's exp.
func (c *Cached) VerifyIdentityUntil(ctx context.Context, bearer string) (domain.Principal, time.Time, error) {
	// Hashed from a copy on the stack: []byte(bearer) would be a heap
	// copy of every token on every request. A rare token past the buffer
	// still works, through append's growth.
	var buf [2048]byte
	key := sha256.Sum256(append(buf[:0], bearer...))
	now := c.now()
	if hit, ok := c.cache.Get(key); ok {
		if now.Before(hit.until) {
			c.onLookup(true)
			return hit.principal, hit.exp, nil
		}
		c.cache.Remove(key)
	}
	c.onLookup(false)
	p, exp, err := c.verifier.verify(ctx, bearer)
	if err != nil {
		return domain.Principal{}, time.Time{}, err
	}
	until := now.Add(c.maxAge)
	if exp.Before(until) {
		until = exp
	}
	if now.Before(until) {
		c.cache.Add(key, cachedPrincipal{principal: p, until: until, exp: exp})
	}
	return p, exp, nil
}

// Len is the number of cached principals.
func (c *Cached) Len() int { return c.cache.Len() }
