package resilience_test

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/gatepass/gatepass/test/inproc"
	"github.com/gatepass/gatepass/test/kit"
)

// slowLimits are budgets small enough to spend in a test and slow enough
// (one event an hour) that none refills while it runs, however loaded the
// machine: every count below is exact.
func slowLimits(office, realtime, authFailures int) map[string]string {
	return map[string]string{
		"RATE_LIMIT_OFFICE_RATE": "1", "RATE_LIMIT_OFFICE_PERIOD": "1h", "RATE_LIMIT_OFFICE_BURST": strconv.Itoa(office),
		"RATE_LIMIT_REALTIME_RATE": "1", "RATE_LIMIT_REALTIME_PERIOD": "1h", "RATE_LIMIT_REALTIME_BURST": strconv.Itoa(realtime),
		"RATE_LIMIT_AUTH_FAILURE_RATE": "1", "RATE_LIMIT_AUTH_FAILURE_PERIOD": "1h", "RATE_LIMIT_AUTH_FAILURE_BURST": strconv.Itoa(authFailures),
	}
}

// wantLimited fails unless r is the 429 problem with a Retry-After of at
// least one whole second.
func wantLimited(t *testing.T, what string, r kit.Response) {
	t.Helper()
	kit.WantProblem(t, what, r, http.StatusTooManyRequests, "rate_limited")
	ra, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || ra < 1 {
		t.Fatalf("%s: Retry-After %q, want whole seconds >= 1", what, r.Header.Get("Retry-After"))
	}
}

// spend sends n requests to url as bearer and wants each to have status.
func spend(t *testing.T, what string, n int, url, bearer string, status int, opts ...kit.Option) {
	t.Helper()
	opts = append([]kit.Option{kit.Bearer(bearer)}, opts...)
	for i := range n {
		kit.WantStatus(t, fmt.Sprintf("%s #%d", what, i+1), kit.Post(t, url, opts...), status)
	}
}

func TestRateLimitsInMemory(t *testing.T) {
	t.Parallel()
	idp := kit.NewIdentityProvider(t)
	const officeBurst, realtimeBurst, authBurst = 3, 2, 4
	p := inproc.Serve(t, productionEnv(t, idp, slowLimits(officeBurst, realtimeBurst, authBurst)))
	alice := idp.Token(t, "user_alice", "org_1", "member", 10*time.Minute)
	bob := idp.Token(t, "user_bob", "org_1", "member", 10*time.Minute)
	rejected := map[string]int{}

	t.Run("a user's office burst is admitted, then 429", func(t *testing.T) {
		spend(t, "alice office", officeBurst, p.URL+kit.OfficePath, alice, http.StatusOK)
		wantLimited(t, "alice office past the burst", kit.Post(t, p.URL+kit.OfficePath, kit.Bearer(alice)))
		wantLimited(t, "alice office again", kit.Post(t, p.URL+kit.OfficePath, kit.Bearer(alice)))
		rejected["office"] += 2
	})
	t.Run("another user is unaffected", func(t *testing.T) {
		spend(t, "bob office", officeBurst, p.URL+kit.OfficePath, bob, http.StatusOK)
		wantLimited(t, "bob office past his own burst", kit.Post(t, p.URL+kit.OfficePath, kit.Bearer(bob)))
		rejected["office"]++
	})
	t.Run("realtime has its own budget", func(t *testing.T) {
		// alice spent her office budget; her realtime budget is whole.
		spend(t, "alice realtime", realtimeBurst, p.URL+kit.RealtimePath, alice, http.StatusOK)
		wantLimited(t, "alice realtime past the burst", kit.Post(t, p.URL+kit.RealtimePath, kit.Bearer(alice)))
		rejected["realtime"]++
	})
	t.Run("failed authentications per address, spoofed X-Forwarded-For ignored", func(t *testing.T) {
		// Honest users behind one address never spend its budget: more
		// successes than the burst, from distinct users, all pass.
		for i := range authBurst + 3 {
			honest := idp.Token(t, fmt.Sprintf("user_honest_%d", i), "org_1", "member", 10*time.Minute)
			kit.WantStatus(t, fmt.Sprintf("honest user #%d", i+1), kit.Post(t, p.URL+kit.RealtimePath, kit.Bearer(honest)), http.StatusOK)
		}
		// No proxy is trusted: a different X-Forwarded-For on every
		// request must not open a fresh budget.
		for i := range authBurst {
			r := kit.Post(t, p.URL+kit.OfficePath, kit.Bearer("not-a-token-"+strconv.Itoa(i)), kit.Header("X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i+1)))
			kit.WantProblem(t, fmt.Sprintf("bad token #%d", i+1), r, http.StatusUnauthorized, "invalid_token")
		}
		for i := range 3 {
			r := kit.Post(t, p.URL+kit.RealtimePath, kit.Bearer("not-a-token"), kit.Header("X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i+1)), kit.Header("X-Real-IP", "192.0.2.7"))
			wantLimited(t, fmt.Sprintf("bad token past the burst, spoofed address #%d", i+1), r)
			rejected["authfail"]++
		}
		// A valid token is never refused for its address's failure budget:
		// an honest user behind the same address as a stuffing run is
		// served.
		carol := idp.Token(t, "user_carol", "org_1", "member", 10*time.Minute)
		kit.WantStatus(t, "valid token from the limited address", kit.Post(t, p.URL+kit.OfficePath, kit.Bearer(carol)), http.StatusOK)
		for _, l := range p.RequestLogs() {
			if l.ClientIP != "127.0.0.1" {
				t.Fatalf("a request was logged from client %q; with no trusted proxy every client is 127.0.0.1", l.ClientIP)
			}
		}
	})
	t.Run("rejections are counted on the admin port only", func(t *testing.T) {
		m := kit.Scrape(t, p.AdminURL+"/metrics")
		for limit, want := range rejected {
			if got := m.Sum("gatepass_rate_limit_rejections_total", "limit", limit); got != float64(want) {
				t.Errorf("gatepass_rate_limit_rejections_total{limit=%q} = %v, want %d", limit, got, want)
			}
		}
		kit.WantProblem(t, "public /metrics", kit.Get(t, p.URL+"/metrics"), http.StatusNotFound, "not_found")
	})
}

func TestRateLimitTrustedProxy(t *testing.T) {
	t.Parallel()
	idp := kit.NewIdentityProvider(t)
	const authBurst = 3
	p := inproc.Serve(t, productionEnv(t, idp, slowLimits(5, 5, authBurst), map[string]string{"TRUSTED_PROXIES": "127.0.0.1/32"}))
	const first, second = "203.0.113.10", "203.0.113.20"

	for i := range authBurst {
		kit.WantStatus(t, fmt.Sprintf("bad token from %s #%d", first, i+1), kit.Post(t, p.URL+kit.OfficePath, kit.Bearer("bad"), kit.Header("X-Forwarded-For", first)), http.StatusUnauthorized)
	}
	wantLimited(t, "bad token from "+first+" past the burst", kit.Post(t, p.URL+kit.OfficePath, kit.Bearer("bad"), kit.Header("X-Forwarded-For", first)))
	// The forwarded address is the client: another one has its own budget,
	// and so has the proxy itself.
	spend(t, "bad token from "+second, authBurst, p.URL+kit.OfficePath, "bad", http.StatusUnauthorized, kit.Header("X-Forwarded-For", second))
	wantLimited(t, "bad token from "+second+" past the burst", kit.Post(t, p.URL+kit.OfficePath, kit.Bearer("bad"), kit.Header("X-Forwarded-For", second)))
	kit.WantStatus(t, "bad token straight from the proxy", kit.Post(t, p.URL+kit.OfficePath, kit.Bearer("bad")), http.StatusUnauthorized)

	seen := map[string]bool{}
	for _, l := range p.RequestLogs() {
		seen[l.ClientIP] = true
	}
	if !seen[first] || !seen[second] || !seen["127.0.0.1"] {
		t.Errorf("logged clients %v, want %s, %s and 127.0.0.1", seen, first, second)
	}
}

func TestRateLimitsDisabled(t *testing.T) {
	t.Parallel()
	idp := kit.NewIdentityProvider(t)
	// The smallest budgets, switched off: nothing may be limited.
	p := inproc.Serve(t, productionEnv(t, idp, slowLimits(1, 1, 1), map[string]string{"RATE_LIMIT_ENABLED": "false"}))
	alice := idp.Token(t, "user_alice", "org_1", "member", 10*time.Minute)
	spend(t, "office", 15, p.URL+kit.OfficePath, alice, http.StatusOK)
	spend(t, "realtime", 15, p.URL+kit.RealtimePath, alice, http.StatusOK)
	spend(t, "bad token", 15, p.URL+kit.OfficePath, "bad", http.StatusUnauthorized)
	if got := kit.Scrape(t, p.AdminURL+"/metrics").Sum("gatepass_rate_limit_rejections_total"); got != 0 {
		t.Errorf("gatepass_rate_limit_rejections_total = %v with limits off", got)
	}
	status, body := kit.Ready(t, p.AdminURL)
	if status != http.StatusOK || body.Checks["rate_limiter"].Detail != "rate limits off" {
		t.Errorf("/readyz %d %+v, want 200 with rate_limiter \"rate limits off\"", status, body)
	}
}
