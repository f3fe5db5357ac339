package jwksidentity_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/adapters/jwksidentity"
	"github.com/gatepass/gatepass/test/kit"
)

func identityVerifier(t *testing.T, keys *jwksidentity.RemoteKeys) *jwksidentity.Verifier {
	t.Helper()
	v, err := jwksidentity.New(keys, jwksidentity.Options{Issuer: issuer, Algorithms: []string{"RS256"}})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func token(t *testing.T, p *kit.IdentityProvider) string {
	t.Helper()
	return p.Sign(t, jwt.MapClaims{"iss": issuer, "sub": "user_1", "exp": time.Now().Add(time.Hour).Unix()}, nil)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	if !kit.Eventually(10*time.Second, 20*time.Millisecond, cond) {
		t.Fatalf("timed out waiting for %s", what)
	}
}

func TestJWKSDownAtStartThenUp(t *testing.T) {
	f := kit.NewIdentityProvider(t)
	f.SetJWKS(kit.JWKSServerError)
	var failures, successes atomic.Int32
	keys, err := jwksidentity.NewRemoteKeys(t.Context(), f.JWKSURL(), jwksidentity.RemoteOptions{
		RetryMin: 20 * time.Millisecond, RetryMax: 100 * time.Millisecond, HTTPTimeout: time.Second,
		OnRefresh: func(err error) {
			if err != nil {
				failures.Add(1)
			} else {
				successes.Add(1)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Ready(context.Background()); !errors.Is(err, jwksidentity.ErrKeysNotLoaded) {
		t.Fatalf("ready while the JWKS is down: %v", err)
	}
	v := identityVerifier(t, keys)
	if _, err := v.VerifyIdentity(context.Background(), token(t, f)); err == nil {
		t.Fatal("verified without keys")
	}
	waitFor(t, "several retries", func() bool { return f.Fetches.Load() >= 3 })
	f.SetJWKS(kit.JWKSUp)
	waitFor(t, "ready", func() bool { _, err := keys.Ready(context.Background()); return err == nil })
	if _, err := v.VerifyIdentity(context.Background(), token(t, f)); err != nil {
		t.Fatalf("after the JWKS came up: %v", err)
	}
	if failures.Load() < 3 || successes.Load() < 1 {
		t.Fatalf("refresh reports: %d failures, %d successes", failures.Load(), successes.Load())
	}
}

func TestJWKSFaultsLaterKeepTheKeysInHand(t *testing.T) {
	faults := []struct {
		name string
		mode kit.JWKSMode
	}{
		{"down", kit.JWKSDown}, {"500", kit.JWKSServerError}, {"invalid", kit.JWKSMalformed}, {"empty", kit.JWKSEmpty}, {"slow", kit.JWKSSlow},
	}
	for _, fault := range faults {
		t.Run(fault.name, func(t *testing.T) {
			f := kit.NewIdentityProvider(t)
			keys, err := jwksidentity.NewRemoteKeys(t.Context(), f.JWKSURL(), jwksidentity.RemoteOptions{
				RefreshInterval: 30 * time.Millisecond, HTTPTimeout: 200 * time.Millisecond,
			})
			if err != nil {
				t.Fatal(err)
			}
			v := identityVerifier(t, keys)
			if _, err := v.VerifyIdentity(context.Background(), token(t, f)); err != nil {
				t.Fatal(err)
			}
			f.SetJWKS(fault.mode)
			before := f.Fetches.Load()
			waitFor(t, "refreshes against the faulty JWKS", func() bool { return f.Fetches.Load() >= before+3 })
			if _, err := keys.Ready(context.Background()); err != nil {
				t.Fatalf("not ready after %s refreshes: %v", fault.name, err)
			}
			if _, err := v.VerifyIdentity(context.Background(), token(t, f)); err != nil {
				t.Fatalf("cached keys lost after %s refreshes: %v", fault.name, err)
			}
		})
	}
}
