package deploy_test

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/gatepass/gatepass/test/inproc"
	"github.com/gatepass/gatepass/test/kit"
)

// TestIdentityUnavailableSpendsNoBudget: while the identity keys have never
// loaded, valid callers are answered 503 identity_unavailable with
// Retry-After and spend nothing of their address's failed-authentication
// budget, so once the provider is back nobody is locked out; a token too
// malformed to need a key is still 401 and still spends it.
func TestIdentityUnavailableSpendsNoBudget(t *testing.T) {
	t.Parallel()
	const authBurst = 3
	idp := kit.NewIdentityProvider(t)
	idp.SetJWKS(kit.JWKSDown)
	_, keyPEM := kit.NewRSAKey(t, 2048)
	p := inproc.Serve(t, kit.ProductionEnv(idp, keyPEM, map[string]string{
		"RATE_LIMIT_AUTH_FAILURE_RATE": "1", "RATE_LIMIT_AUTH_FAILURE_PERIOD": "1h",
		"RATE_LIMIT_AUTH_FAILURE_BURST": strconv.Itoa(authBurst),
	}))
	alice := idp.Token(t, "user_alice", "org_1", "member", 10*time.Minute)

	// Many more valid calls than the failure budget: an office behind one
	// address, all of them retrying.
	for i := range 4 * authBurst {
		path := kit.OfficePath
		if i%2 == 1 {
			path = kit.RealtimePath
		}
		r := kit.Post(t, p.URL+path, kit.Bearer(alice))
		kit.WantProblem(t, fmt.Sprintf("valid call #%d without identity keys", i+1), r, http.StatusServiceUnavailable, "identity_unavailable")
		if got := r.Header.Get("Retry-After"); got != "5" {
			t.Fatalf("valid call #%d: Retry-After %q, want 5", i+1, got)
		}
		if got := r.Header.Get("WWW-Authenticate"); got != "" {
			t.Fatalf("valid call #%d: WWW-Authenticate %q on a 503: the token is not at fault", i+1, got)
		}
	}
	m := kit.Scrape(t, p.AdminURL+"/metrics")
	if v := m.Sum("gatepass_rate_limit_rejections_total", "limit", "authfail"); v != 0 {
		t.Errorf("authfail rejections = %v, want 0", v)
	}
	if v := m.Sum("gatepass_grants_total", "result", "identity_unavailable"); v != 4*authBurst {
		t.Errorf("grants_total{result=identity_unavailable} = %v, want %d", v, 4*authBurst)
	}
	if v := m.Sum("gatepass_auth_failures_total"); v != 0 {
		t.Errorf("auth failures = %v, want 0: nobody was refused", v)
	}
	if v, ok := series(m, "gatepass_identity_keys_loaded"); !ok || v != 0 {
		t.Errorf("gatepass_identity_keys_loaded = %v (exported %v), want 0", v, ok)
	}
	if v, ok := series(m, "gatepass_identity_keys_last_refresh_timestamp_seconds"); !ok || v != 0 {
		t.Errorf("gatepass_identity_keys_last_refresh_timestamp_seconds = %v (exported %v), want 0", v, ok)
	}

	// A token that is no JWS is refused without a key: 401, and it spends
	// the budget the valid calls left whole.
	for i := range authBurst {
		kit.WantProblem(t, fmt.Sprintf("malformed token #%d", i+1), kit.Post(t, p.URL+kit.OfficePath, kit.Bearer("not-a-jwt")),
			http.StatusUnauthorized, "invalid_token")
	}
	kit.WantProblem(t, "malformed token past the budget", kit.Post(t, p.URL+kit.OfficePath, kit.Bearer("not-a-jwt")),
		http.StatusTooManyRequests, "rate_limited")
	// The 429 is counted as a rejection, not as a 401.
	m = kit.Scrape(t, p.AdminURL+"/metrics")
	if v := m.Sum("gatepass_auth_failures_total", "reason", "malformed"); v != authBurst {
		t.Errorf("auth failures{malformed} = %v, want %d", v, authBurst)
	}
	if v := m.Sum("gatepass_rate_limit_rejections_total", "limit", "authfail"); v != 1 {
		t.Errorf("authfail rejections = %v, want 1", v)
	}

	// The provider comes back: the valid caller is served.
	idp.SetJWKS(kit.JWKSUp)
	if !kit.Eventually(20*time.Second, 100*time.Millisecond, func() bool {
		return kit.Post(t, p.URL+kit.OfficePath, kit.Bearer(alice)).Status == http.StatusOK
	}) {
		t.Fatalf("the valid caller is not served 20s after the identity provider came back\n%s", p.Logs())
	}
	m = kit.Scrape(t, p.AdminURL+"/metrics")
	if v, _ := series(m, "gatepass_identity_keys_loaded"); v != 1 {
		t.Errorf("gatepass_identity_keys_loaded = %v once the keys came, want 1", v)
	}
	if v, _ := series(m, "gatepass_identity_keys_last_refresh_timestamp_seconds"); v <= 0 {
		t.Errorf("gatepass_identity_keys_last_refresh_timestamp_seconds = %v once the keys came", v)
	}
}
