package resilience_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/test/inproc"
	"github.com/gatepass/gatepass/test/kit"
)

// noCache makes every request reach the identity verifier.
var noCache = map[string]string{"AUTH_CACHE_SIZE": "0"}

func TestIdentityJWKSDownAtStart(t *testing.T) {
	t.Parallel()
	idp := kit.NewIdentityProvider(t)
	idp.SetJWKS(kit.JWKSDown)
	// gatepass serves while it keeps trying to fetch the keys.
	p := inproc.Serve(t, productionEnv(t, idp, noCache))
	alice := idp.Token(t, "user_alice", "org_1", "member", 10*time.Minute)

	status, body := kit.Ready(t, p.AdminURL)
	if status != http.StatusServiceUnavailable || body.Status != "not_ready" || body.Checks["identity_keys"].Status != "failing" ||
		body.Checks["signer"].Status != "ok" {
		t.Fatalf("admin /readyz with the JWKS down: %d %+v, want 503 with identity_keys failing", status, body)
	}
	// The public port says only that it is not ready.
	if status, body := kit.Ready(t, p.URL); status != http.StatusServiceUnavailable || body.Status != "not_ready" || len(body.Checks) != 0 {
		t.Fatalf("public /readyz with the JWKS down: %d %+v, want 503 not_ready without checks", status, body)
	}
	// Not the caller's fault: 503 with Retry-After, never 401 (test/deploy
	// pins that no failed-authentication budget is spent).
	for _, path := range []string{kit.OfficePath, kit.RealtimePath} {
		r := kit.Post(t, p.URL+path, kit.Bearer(alice))
		kit.WantProblem(t, path+" without identity keys", r, http.StatusServiceUnavailable, "identity_unavailable")
		if got := r.Header.Get("Retry-After"); got != "5" {
			t.Errorf("%s without identity keys: Retry-After %q, want 5", path, got)
		}
	}
	// Let a retry or two fail before the provider comes back.
	if !kit.Eventually(5*time.Second, 50*time.Millisecond, func() bool { return idp.Fetches.Load() >= 2 }) {
		t.Fatalf("gatepass fetched the JWKS %d times in 5s while it was down, want retries", idp.Fetches.Load())
	}

	idp.SetJWKS(kit.JWKSUp)
	up := time.Now()
	// Retries back off 0.5s doubling; after about a second down the next
	// one comes within a few seconds. The bound is generous for a loaded
	// machine.
	if !kit.Eventually(15*time.Second, 100*time.Millisecond, func() bool {
		status, _ := kit.Ready(t, p.AdminURL)
		return status == http.StatusOK
	}) {
		_, body := kit.Ready(t, p.AdminURL)
		t.Fatalf("not ready 15s after the JWKS came back: %+v\n%s", body, p.Logs())
	}
	t.Logf("ready %s after the JWKS came back", time.Since(up).Round(time.Millisecond))
	kit.WantStatus(t, "office once the keys are in", kit.Post(t, p.URL+kit.OfficePath, kit.Bearer(alice)), http.StatusOK)
	kit.WantStatus(t, "realtime once the keys are in", kit.Post(t, p.URL+kit.RealtimePath, kit.Bearer(alice)), http.StatusOK)
}

func TestIdentityJWKSDownLaterKeepsKeys(t *testing.T) {
	t.Parallel()
	idp := kit.NewIdentityProvider(t)
	p := inproc.Serve(t, productionEnv(t, idp, noCache, map[string]string{"AUTH_JWKS_REFRESH_INTERVAL": "200ms"}))
	alice := idp.Token(t, "user_alice", "org_1", "member", 10*time.Minute)
	kit.WantStatus(t, "office with the JWKS up", kit.Post(t, p.URL+kit.OfficePath, kit.Bearer(alice)), http.StatusOK)

	idp.SetJWKS(kit.JWKSDown)
	down := idp.Fetches.Load()
	// Several background refreshes must fail while down.
	if !kit.Eventually(10*time.Second, 50*time.Millisecond, func() bool { return idp.Fetches.Load() >= down+3 }) {
		t.Fatalf("only %d refreshes in 10s at a 200ms interval", idp.Fetches.Load()-down)
	}
	if !kit.Eventually(5*time.Second, 100*time.Millisecond, func() bool {
		return kit.Scrape(t, p.AdminURL+"/metrics").Sum("gatepass_identity_key_refreshes_total", "result", "error") >= 1
	}) {
		t.Errorf("no failed refresh counted in gatepass_identity_key_refreshes_total{result=\"error\"}")
	}
	for i := range 5 {
		// A fresh token each time: nothing but the keys in hand verifies it.
		bob := idp.Token(t, fmt.Sprintf("user_bob_%d", i), "org_1", "member", 10*time.Minute)
		kit.WantStatus(t, fmt.Sprintf("office with the JWKS down #%d", i+1), kit.Post(t, p.URL+kit.OfficePath, kit.Bearer(bob)), http.StatusOK)
		kit.WantStatus(t, fmt.Sprintf("realtime with the JWKS down #%d", i+1), kit.Post(t, p.URL+kit.RealtimePath, kit.Bearer(bob)), http.StatusOK)
	}
	if status, body := kit.Ready(t, p.AdminURL); status != http.StatusOK || body.Checks["identity_keys"].Status != "ok" {
		t.Errorf("/readyz with the JWKS down after start: %d %+v, want ready on the cached keys", status, body)
	}
	idp.SetJWKS(kit.JWKSUp)
	kit.WantStatus(t, "office after the JWKS came back", kit.Post(t, p.URL+kit.OfficePath, kit.Bearer(alice)), http.StatusOK)
}

func TestUnknownKIDFloodRefreshesAtMostOnce(t *testing.T) {
	t.Parallel()
	idp := kit.NewIdentityProvider(t)
	// Failed authentications are limited per address; this test counts
	// verifications, so the budget is out of the way.
	p := inproc.Serve(t, productionEnv(t, idp, noCache, map[string]string{"RATE_LIMIT_AUTH_FAILURE_BURST": "100000"}))
	kit.WantStatus(t, "warm-up", kit.Post(t, p.URL+kit.OfficePath, kit.Bearer(idp.Token(t, "user_alice", "org_1", "member", 10*time.Minute))), http.StatusOK)
	before := idp.Fetches.Load()

	const flood, workers = 200, 8
	tokens := make(chan string, flood)
	for range flood {
		var kid [8]byte
		_, _ = rand.Read(kid[:])
		now := time.Now()
		tokens <- idp.Sign(t, jwt.MapClaims{
			"iss": idp.Issuer, "aud": idp.Audience, "sub": "user_flood", "org_id": "org_1",
			"iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
		}, func(tok *jwt.Token) { tok.Header["kid"] = "unknown-" + hex.EncodeToString(kid[:]) })
	}
	close(tokens)
	var (
		mu      sync.Mutex
		answers = map[string]int{}
		wg      sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for tok := range tokens {
				r, err := kit.Do(kit.Client, http.MethodPost, p.URL+kit.OfficePath, kit.Bearer(tok))
				key := fmt.Sprint(r.Status)
				if err != nil {
					key = "error: " + err.Error()
				} else if r.Status == http.StatusUnauthorized {
					var pr kit.Problem
					if jsonErr := json.Unmarshal(r.Body, &pr); jsonErr == nil {
						key += " " + pr.Code
					}
				}
				mu.Lock()
				answers[key]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if answers["401 invalid_token"] != flood || len(answers) != 1 {
		t.Fatalf("answers to %d tokens with unknown kids: %v, want all 401 invalid_token", flood, answers)
	}
	grew := idp.Fetches.Load() - before
	if grew > 2 {
		t.Errorf("the flood made %d JWKS fetches, want at most 2", grew)
	}
	t.Logf("%d tokens with unknown kids: %v, %d JWKS fetches", flood, answers, grew)
	kit.WantStatus(t, "valid token after the flood", kit.Post(t, p.URL+kit.OfficePath, kit.Bearer(idp.Token(t, "user_bob", "org_1", "member", 10*time.Minute))), http.StatusOK)
}
