package jwksidentity_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/adapters/jwksidentity"
	"github.com/gatepass/gatepass/domain"
	"github.com/gatepass/gatepass/test/kit"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestCachedVerifier(t *testing.T) {
	p := kit.NewIdentityProvider(t)
	clock := &fakeClock{t: time.Now()}
	keys, err := jwksidentity.NewRemoteKeys(t.Context(), p.JWKSURL(), jwksidentity.RemoteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	inner, err := jwksidentity.New(keys, jwksidentity.Options{Issuer: issuer, Algorithms: []string{"RS256"}, Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	c, err := jwksidentity.NewCached(inner, 2, time.Minute, clock.now)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	exp := clock.t.Add(30 * time.Second)
	tok := p.Sign(t, jwt.MapClaims{"iss": issuer, "sub": "user_1", "org_id": "org_1", "iat": clock.t.Unix(), "exp": exp.Unix()}, nil)

	if _, err := c.VerifyIdentity(ctx, tok); err != nil {
		t.Fatal(err)
	}
	fetches := p.Fetches.Load()
	// A cache hit does not depend on the key set any more: make the set
	// unusable and the cached principal still answers.
	p.Publish([]byte(`{"keys":[]}`))
	got, err := c.VerifyIdentity(ctx, tok)
	if err != nil || got.UserID != "user_1" || c.Len() != 1 {
		t.Fatalf("cache hit: %+v %v len %d", got, err, c.Len())
	}
	if p.Fetches.Load() != fetches {
		t.Fatal("a cache hit fetched the JWKS")
	}

	// Past exp the entry is gone and the token is verified again, and refused.
	clock.t = exp.Add(time.Second)
	if _, err := c.VerifyIdentity(ctx, tok); !errors.Is(err, domain.ErrInvalidCredentials) {
		t.Fatalf("expired token answered from cache: %v", err)
	}
	if c.Len() != 0 {
		t.Fatalf("expired entry kept: len %d", c.Len())
	}

	// Failures are never cached: a refused token is refused every time.
	bad := tok[:len(tok)-3] + "abc"
	for range 3 {
		if _, err := c.VerifyIdentity(ctx, bad); err == nil {
			t.Fatal("tampered token accepted")
		}
	}
	if c.Len() != 0 {
		t.Fatalf("a failure was cached: len %d", c.Len())
	}
}

func TestCachedVerifierMaxAge(t *testing.T) {
	p := kit.NewIdentityProvider(t)
	clock := &fakeClock{t: time.Now()}
	keys, err := jwksidentity.NewStaticKeys(p.Published())
	if err != nil {
		t.Fatal(err)
	}
	inner, _ := jwksidentity.New(keys, jwksidentity.Options{Issuer: issuer, Algorithms: []string{"RS256"}, Now: clock.now})
	var hits, misses int
	c, _ := jwksidentity.NewCached(inner, 16, time.Minute, clock.now, jwksidentity.OnLookup(func(hit bool) {
		if hit {
			hits++
		} else {
			misses++
		}
	}))
	tok := p.Sign(t, jwt.MapClaims{"iss": issuer, "sub": "user_1", "iat": clock.t.Unix(), "exp": clock.t.Add(time.Hour).Unix()}, nil)
	ctx := context.Background()
	if _, err := c.VerifyIdentity(ctx, tok); err != nil {
		t.Fatal(err)
	}
	// The identity key is dropped from the key set: within MaxAge the cache
	// still answers, after it the token is verified again and refused.
	if ok, err := keys.Storage().KeyDelete(ctx, p.KID); !ok || err != nil {
		t.Fatalf("delete key: %v %v", ok, err)
	}
	clock.t = clock.t.Add(30 * time.Second)
	if _, err := c.VerifyIdentity(ctx, tok); err != nil {
		t.Fatalf("within max age: %v", err)
	}
	clock.t = clock.t.Add(time.Minute)
	if _, err := c.VerifyIdentity(ctx, tok); !errors.Is(err, domain.ErrInvalidCredentials) {
		t.Fatalf("token honoured past the cache's max age after its key was dropped: %v", err)
	}
	// Verified, answered from the cache, then past max age verified again.
	if hits != 1 || misses != 2 {
		t.Fatalf("OnLookup told %d hits and %d misses, want 1 and 2", hits, misses)
	}
}
