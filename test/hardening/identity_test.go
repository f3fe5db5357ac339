package hardening_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/test/kit"
)

// TestClientLeavingMidRefreshDoesNotBlockTheNewKey: the provider rotates
// to a new key and its JWKS answers slowly. The first caller with the new
// kid starts a refresh and disconnects while it runs. The refresh must go
// on: once the provider answers, the new key verifies (it was refused for
// the whole unknown-kid interval when the refresh ran on the caller's
// request).
func TestClientLeavingMidRefreshDoesNotBlockTheNewKey(t *testing.T) {
	oldKey, newKey := newKey(t, "key-old", 2048), newKey(t, "key-new", 2048)
	p := newIDP(t, oldKey)
	gp := kit.Start(t, p.env(t, map[string]string{"AUTH_JWKS_TIMEOUT": "20s", "AUTH_JWKS_UNKNOWN_KID_INTERVAL": "1m"}))
	if code := status(t, gp, oldKey.token(t)); code != http.StatusOK {
		t.Fatalf("old key before the rotation: %d", code)
	}

	p.setKeys(oldKey, newKey)
	release := p.hold()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := office(t, ctx, gp, newKey.token(t))
		done <- err
	}()
	select {
	case <-p.waiting:
	case <-time.After(10 * time.Second):
		t.Fatal("the new kid caused no JWKS fetch")
	}
	cancel() // the client disconnects mid-refresh
	if err := <-done; err == nil {
		t.Fatal("the cancelled call completed")
	}
	time.Sleep(200 * time.Millisecond) // let the server see the disconnect
	release()

	if !eventually(5*time.Second, 250*time.Millisecond, func() bool { return status(t, gp, newKey.token(t)) == http.StatusOK }) {
		t.Fatalf("the provider's new key is still refused after its JWKS answered (%d fetches)", p.fetches.Load())
	}
	if n := p.fetches.Load(); n != 2 {
		t.Errorf("%d JWKS fetches, want 2 (start and the one refresh)", n)
	}
}

// TestWeakKeyInTheJWKSIsNotUsed: a 1024-bit RSA key in the provider's set
// is left out; the rest of the set is used.
func TestWeakKeyInTheJWKSIsNotUsed(t *testing.T) {
	good, weak := newKey(t, "good", 2048), newKey(t, "weak", 1024)
	p := newIDP(t, good, weak)
	gp := kit.Start(t, p.env(t, nil))
	if code := status(t, gp, good.token(t)); code != http.StatusOK {
		t.Fatalf("token of the 2048-bit key: %d", code)
	}
	if code := status(t, gp, weak.token(t)); code != http.StatusUnauthorized {
		t.Fatalf("token of the 1024-bit key: %d, want 401", code)
	}
}

// TestOversizeJWKSIsRefusedWithoutBlowingMemory: a JWKS answer that never
// ends is cut at 1 MiB; the keys in hand stay, and the process does not
// grow with the answer (a 256 MB answer took it to 826 MB).
func TestOversizeJWKSIsRefusedWithoutBlowingMemory(t *testing.T) {
	key := newKey(t, "k1", 2048)
	p := newIDP(t, key)
	gp := kit.Start(t, p.env(t, map[string]string{"AUTH_JWKS_REFRESH_INTERVAL": "300ms"}))
	if code := status(t, gp, key.token(t)); code != http.StatusOK {
		t.Fatalf("before: %d", code)
	}
	p.mu.Lock()
	p.endless = true
	p.mu.Unlock()
	if !eventually(30*time.Second, 100*time.Millisecond, func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.written) >= 3
	}) {
		t.Fatal("gatepass did not fetch the oversize JWKS three times")
	}
	p.mu.Lock()
	written := append([]int64(nil), p.written...)
	p.mu.Unlock()
	for i, n := range written {
		if n > 32<<20 {
			t.Errorf("answer %d: gatepass read %d MiB of it", i, n>>20)
		}
	}
	m := kit.Scrape(t, gp.AdminURL+"/metrics")
	// The heap obtained from the OS never shrinks: it shows the peak.
	if heap := m.Sum("go_memstats_heap_sys_bytes"); heap > 128<<20 {
		t.Errorf("heap grew to %.0f MiB", heap/(1<<20))
	}
	if code := status(t, gp, key.token(t)); code != http.StatusOK {
		t.Fatalf("keys in hand lost after oversize answers: %d", code)
	}
}

// TestRemovedKeyStopsVerifyingAfterARefresh: a key the provider drops from
// its JWKS stops verifying new tokens once the set is refreshed.
func TestRemovedKeyStopsVerifyingAfterARefresh(t *testing.T) {
	stay, leave := newKey(t, "stay", 2048), newKey(t, "leave", 2048)
	p := newIDP(t, stay, leave)
	gp := kit.Start(t, p.env(t, map[string]string{"AUTH_JWKS_REFRESH_INTERVAL": "300ms"}))
	if code := status(t, gp, leave.token(t)); code != http.StatusOK {
		t.Fatalf("before removal: %d", code)
	}
	p.setKeys(stay)
	before := p.fetches.Load()
	if !eventually(10*time.Second, 50*time.Millisecond, func() bool { return p.fetches.Load() >= before+2 }) {
		t.Fatal("no background refresh")
	}
	if code := status(t, gp, leave.token(t)); code != http.StatusUnauthorized {
		t.Fatalf("a fresh token of the removed key: %d, want 401", code)
	}
	if code := status(t, gp, stay.token(t)); code != http.StatusOK {
		t.Fatalf("the remaining key: %d", code)
	}
}

// TestTokenOfAnotherTypeIsRefused: a logout token (or any typ that is not
// an access token's) signed by the provider is not an access token.
func TestTokenOfAnotherTypeIsRefused(t *testing.T) {
	key := newKey(t, "k1", 2048)
	p := newIDP(t, key)
	gp := kit.Start(t, p.env(t, nil))
	for typ, want := range map[string]int{
		"logout+jwt": http.StatusUnauthorized, "id_token+jwt": http.StatusUnauthorized, "secevent+jwt": http.StatusUnauthorized,
		"at+jwt": http.StatusOK, "JWT": http.StatusOK, "application/at+JWT": http.StatusOK,
	} {
		tok := key.sign(t, claims("user_1", "org_1", "member"), func(tok *jwt.Token) { tok.Header["typ"] = typ })
		if code := status(t, gp, tok); code != want {
			t.Errorf("typ %s: %d, want %d", typ, code, want)
		}
	}
}

// TestMalformedIdentityClaimsAreRefused: sub, org_id and role are taken
// exactly or not at all; white space is not trimmed and a role of the
// wrong type does not become member.
func TestMalformedIdentityClaimsAreRefused(t *testing.T) {
	key := newKey(t, "k1", 2048)
	p := newIDP(t, key)
	gp := kit.Start(t, p.env(t, nil))
	edit := func(f func(jwt.MapClaims)) string {
		c := claims("user_1", "org_1", "admin")
		f(c)
		return key.sign(t, c, nil)
	}
	tests := []struct {
		name  string
		token string
		want  int
	}{
		{"well formed", edit(func(jwt.MapClaims) {}), http.StatusOK},
		{"no role: member", edit(func(c jwt.MapClaims) { delete(c, "role") }), http.StatusOK},
		{"sub with U+3000", edit(func(c jwt.MapClaims) { c["sub"] = "user_1\u3000" }), http.StatusUnauthorized},
		{"sub with a leading space", edit(func(c jwt.MapClaims) { c["sub"] = " user_1" }), http.StatusUnauthorized},
		{"sub a number", edit(func(c jwt.MapClaims) { c["sub"] = 1 }), http.StatusUnauthorized},
		{"org with U+00A0", edit(func(c jwt.MapClaims) { c["org_id"] = "org_1\u00a0" }), http.StatusUnauthorized},
		{"org with U+2028", edit(func(c jwt.MapClaims) { c["org_id"] = "\u2028org_1" }), http.StatusUnauthorized},
		{"org an array", edit(func(c jwt.MapClaims) { c["org_id"] = []string{"org_1"} }), http.StatusUnauthorized},
		{"role an array", edit(func(c jwt.MapClaims) { c["role"] = []string{"admin"} }), http.StatusUnauthorized},
		{"role a number", edit(func(c jwt.MapClaims) { c["role"] = 7 }), http.StatusUnauthorized},
		{"role an object", edit(func(c jwt.MapClaims) { c["role"] = map[string]string{"slug": "admin"} }), http.StatusUnauthorized},
		{"role null", edit(func(c jwt.MapClaims) { c["role"] = nil }), http.StatusUnauthorized},
		{"role with a tab", edit(func(c jwt.MapClaims) { c["role"] = "admin\t" }), http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code := status(t, gp, tt.token); code != tt.want {
				t.Fatalf("%d, want %d", code, tt.want)
			}
		})
	}
}
