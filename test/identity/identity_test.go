// Package identity_test checks how gatepass verifies the caller's identity
// token, served in process against the kit's stand-in identity provider
// made to misbehave on purpose: a JWKS that answers slowly, rotates, drops
// keys, publishes unfit keys or never ends; tokens of another type or with
// malformed claims; grants bounded by the identity's lifetime. `gatepass
// token verify` must apply the same rules (cli_test.go, on the binary);
// what a refused caller is told in each mode (refusals_test.go).
package identity_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/test/inproc"
	"github.com/gatepass/gatepass/test/kit"
)

// noLimits turns the rate limits off: the tests count 401s, not 429s.
var noLimits = map[string]string{"RATE_LIMIT_ENABLED": "false"}

// ttl is how long the tests' identity tokens are valid.
const ttl = 10 * time.Minute

// office asks s for an office grant with bearer.
func office(t testing.TB, s *kit.Service, bearer string) kit.Response {
	t.Helper()
	return kit.Post(t, s.URL+kit.OfficePath, kit.Bearer(bearer))
}

// TestClientLeavingMidRefreshDoesNotBlockTheNewKey: the provider rotates
// to a new key and its JWKS answers slowly. The first caller with the new
// kid starts a refresh and disconnects while it runs. The refresh must go
// on: once the provider answers, the new key verifies (it was refused for
// the whole unknown-kid interval when the refresh ran on the caller's
// request).
func TestClientLeavingMidRefreshDoesNotBlockTheNewKey(t *testing.T) {
	t.Parallel()
	p := kit.NewIdentityProvider(t)
	s := inproc.ServeServiceTrusting(t, p, noLimits, map[string]string{"AUTH_JWKS_TIMEOUT": "20s", "AUTH_JWKS_UNKNOWN_KID_INTERVAL": "1m"})
	kit.WantStatus(t, "old key before the rotation", office(t, s, p.Token(t, "user_1", "org_1", "member", ttl)), http.StatusOK)

	newKey := p.AddKey(t, "key-new", 2048)
	p.SetJWKS(kit.JWKSHeld)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	first := p.TokenOf(t, newKey, "user_1", "org_1", "member", ttl)
	go func() {
		_, err := kit.Do(kit.Client, http.MethodPost, s.URL+kit.OfficePath, kit.Bearer(first), kit.Context(ctx))
		done <- err
	}()
	select {
	case <-p.Held():
	case <-time.After(10 * time.Second):
		t.Fatal("the new kid caused no JWKS fetch")
	}
	cancel() // the client disconnects mid-refresh
	if err := <-done; err == nil {
		t.Fatal("the cancelled call completed")
	}
	// The server has seen the disconnect once it has ended, and logged, the
	// abandoned request: the second on the office route.
	if !kit.Eventually(10*time.Second, 20*time.Millisecond, func() bool {
		n := 0
		for _, l := range s.RequestLogs() {
			if l.Route == kit.OfficePath {
				n++
			}
		}
		return n >= 2
	}) {
		t.Fatalf("the server did not end the abandoned request:\n%s", s.Logs())
	}
	p.SetJWKS(kit.JWKSUp)

	if !kit.Eventually(5*time.Second, 250*time.Millisecond, func() bool {
		return office(t, s, p.TokenOf(t, newKey, "user_1", "org_1", "member", ttl)).Status == http.StatusOK
	}) {
		t.Fatalf("the provider's new key is still refused after its JWKS answered (%d fetches)", p.Fetches.Load())
	}
	if n := p.Fetches.Load(); n != 2 {
		t.Errorf("%d JWKS fetches, want 2 (start and the one refresh)", n)
	}
}

// TestWeakKeyInTheJWKSIsNotUsed: a 1024-bit RSA key in the provider's set
// is left out; the rest of the set is used.
func TestWeakKeyInTheJWKSIsNotUsed(t *testing.T) {
	t.Parallel()
	p := kit.NewIdentityProvider(t)
	weak := p.AddKey(t, "weak", 1024)
	s := inproc.ServeServiceTrusting(t, p, noLimits)
	kit.WantStatus(t, "token of the 2048-bit key", office(t, s, p.Token(t, "user_1", "org_1", "member", ttl)), http.StatusOK)
	kit.WantStatus(t, "token of the 1024-bit key", office(t, s, p.TokenOf(t, weak, "user_1", "org_1", "member", ttl)), http.StatusUnauthorized)
}

// TestOversizeJWKSIsRefusedWithoutBlowingMemory: a JWKS answer that never
// ends is cut at 1 MiB; the keys in hand stay, and the process does not
// grow with the answer (uncut, it grew by a multiple of what it read).
// The real binary: the heap measured must be gatepass's alone.
func TestOversizeJWKSIsRefusedWithoutBlowingMemory(t *testing.T) {
	t.Parallel()
	p := kit.NewIdentityProvider(t)
	s := kit.StartServiceTrusting(t, p, noLimits, map[string]string{"AUTH_JWKS_REFRESH_INTERVAL": "300ms"})
	kit.WantStatus(t, "before", office(t, s, p.Token(t, "user_1", "org_1", "member", ttl)), http.StatusOK)
	p.SetJWKS(kit.JWKSEndless)
	if !kit.Eventually(30*time.Second, 100*time.Millisecond, func() bool { return len(p.EndlessTaken()) >= 3 }) {
		t.Fatal("gatepass did not fetch the oversize JWKS three times")
	}
	for i, n := range p.EndlessTaken() {
		if n > 32<<20 {
			t.Errorf("answer %d: gatepass read %d MiB of it", i, n>>20)
		}
	}
	m := kit.Scrape(t, s.AdminURL+"/metrics")
	// The heap obtained from the OS never shrinks: it shows the peak.
	if heap := m.Sum("go_memstats_heap_sys_bytes"); heap > 128<<20 {
		t.Errorf("heap grew to %.0f MiB", heap/(1<<20))
	}
	kit.WantStatus(t, "keys in hand after oversize answers", office(t, s, p.Token(t, "user_1", "org_1", "member", ttl)), http.StatusOK)
}

// TestRemovedKeyStopsVerifyingAfterARefresh: a key the provider drops from
// its JWKS stops verifying new tokens once the set is refreshed.
func TestRemovedKeyStopsVerifyingAfterARefresh(t *testing.T) {
	t.Parallel()
	p := kit.NewIdentityProvider(t)
	leave := p.AddKey(t, "leave", 2048)
	s := inproc.ServeServiceTrusting(t, p, noLimits, map[string]string{"AUTH_JWKS_REFRESH_INTERVAL": "300ms"})
	kit.WantStatus(t, "before removal", office(t, s, p.TokenOf(t, leave, "user_1", "org_1", "member", ttl)), http.StatusOK)
	p.RemoveKey(t, leave.KID)
	before := p.Fetches.Load()
	if !kit.Eventually(10*time.Second, 50*time.Millisecond, func() bool { return p.Fetches.Load() >= before+2 }) {
		t.Fatal("no background refresh")
	}
	kit.WantStatus(t, "a fresh token of the removed key", office(t, s, p.TokenOf(t, leave, "user_1", "org_1", "member", ttl)), http.StatusUnauthorized)
	kit.WantStatus(t, "the remaining key", office(t, s, p.Token(t, "user_1", "org_1", "member", ttl)), http.StatusOK)
}

// TestTokenOfAnotherTypeIsRefused: a logout token (or any typ that is not
// an access token's) signed by the provider is not an access token.
func TestTokenOfAnotherTypeIsRefused(t *testing.T) {
	t.Parallel()
	p := kit.NewIdentityProvider(t)
	s := inproc.ServeServiceTrusting(t, p, noLimits)
	for typ, want := range map[string]int{
		"logout+jwt": http.StatusUnauthorized, "id_token+jwt": http.StatusUnauthorized, "secevent+jwt": http.StatusUnauthorized,
		"at+jwt": http.StatusOK, "JWT": http.StatusOK, "application/at+JWT": http.StatusOK,
	} {
		tok := p.Sign(t, p.Claims("user_1", "org_1", "member", ttl), func(tok *jwt.Token) { tok.Header["typ"] = typ })
		if r := office(t, s, tok); r.Status != want {
			t.Errorf("typ %s: %s, want %d", typ, r, want)
		}
	}
}

// TestMalformedIdentityClaimsAreRefused: sub, org_id and role are taken
// exactly or not at all; white space is not trimmed and a role of the
// wrong type does not become member.
func TestMalformedIdentityClaimsAreRefused(t *testing.T) {
	t.Parallel()
	p := kit.NewIdentityProvider(t)
	s := inproc.ServeServiceTrusting(t, p, noLimits)
	edit := func(f func(jwt.MapClaims)) string {
		c := p.Claims("user_1", "org_1", "admin", ttl)
		f(c)
		return p.Sign(t, c, nil)
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
			t.Parallel()
			kit.WantStatus(t, tt.name, office(t, s, tt.token), tt.want)
		})
	}
}
