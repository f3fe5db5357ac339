package jwksidentity_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/adapters/jwksidentity"
)

// flakyIDP serves its JWKS in a mode the test switches.
type flakyIDP struct {
	*idp
	mode    atomic.Value // "ok", "down", "500", "invalid", "empty", "slow"
	fetches atomic.Int32
	srv     *httptest.Server
}

func newFlakyIDP(t *testing.T, mode string) *flakyIDP {
	f := &flakyIDP{idp: newIDP(t)}
	f.mode.Store(mode)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.fetches.Add(1)
		switch f.mode.Load().(string) {
		case "down", "500":
			http.Error(w, "unavailable", http.StatusInternalServerError)
		case "invalid":
			w.Write([]byte(`{"keys": [ {"kty": `))
		case "empty":
			w.Write([]byte(`{"keys": []}`))
		case "slow":
			select {
			case <-time.After(2 * time.Second):
			case <-r.Context().Done():
			}
			w.Write(f.set.Load().([]byte))
		default:
			w.Write(f.set.Load().([]byte))
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *flakyIDP) verifier(t *testing.T, keys *jwksidentity.RemoteKeys) *jwksidentity.Verifier {
	v, err := jwksidentity.New(keys, jwksidentity.Options{Issuer: issuer, Algorithms: []string{"RS256"}})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (f *flakyIDP) token(t *testing.T) string {
	return f.sign(t, jwt.MapClaims{"iss": issuer, "sub": "user_1", "exp": time.Now().Add(time.Hour).Unix()}, nil)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestJWKSDownAtStartThenUp(t *testing.T) {
	f := newFlakyIDP(t, "down")
	var failures, successes atomic.Int32
	keys, err := jwksidentity.NewRemoteKeys(t.Context(), f.srv.URL, jwksidentity.RemoteOptions{
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
	v := f.verifier(t, keys)
	if _, err := v.VerifyIdentity(context.Background(), f.token(t)); err == nil {
		t.Fatal("verified without keys")
	}
	waitFor(t, "several retries", func() bool { return f.fetches.Load() >= 3 })
	f.mode.Store("ok")
	waitFor(t, "ready", func() bool { _, err := keys.Ready(context.Background()); return err == nil })
	if _, err := v.VerifyIdentity(context.Background(), f.token(t)); err != nil {
		t.Fatalf("after the JWKS came up: %v", err)
	}
	if failures.Load() < 3 || successes.Load() < 1 {
		t.Fatalf("refresh reports: %d failures, %d successes", failures.Load(), successes.Load())
	}
}

func TestJWKSFaultsLaterKeepTheKeysInHand(t *testing.T) {
	for _, mode := range []string{"down", "500", "invalid", "empty", "slow"} {
		t.Run(mode, func(t *testing.T) {
			f := newFlakyIDP(t, "ok")
			keys, err := jwksidentity.NewRemoteKeys(t.Context(), f.srv.URL, jwksidentity.RemoteOptions{
				RefreshInterval: 30 * time.Millisecond, HTTPTimeout: 200 * time.Millisecond,
			})
			if err != nil {
				t.Fatal(err)
			}
			v := f.verifier(t, keys)
			if _, err := v.VerifyIdentity(context.Background(), f.token(t)); err != nil {
				t.Fatal(err)
			}
			f.mode.Store(mode)
			before := f.fetches.Load()
			waitFor(t, "refreshes against the faulty JWKS", func() bool { return f.fetches.Load() >= before+3 })
			if _, err := keys.Ready(context.Background()); err != nil {
				t.Fatalf("not ready after %s refreshes: %v", mode, err)
			}
			if _, err := v.VerifyIdentity(context.Background(), f.token(t)); err != nil {
				t.Fatalf("cached keys lost after %s refreshes: %v", mode, err)
			}
		})
	}
}
