package resilience_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatepass/gatepass/test/inproc"
	"github.com/gatepass/gatepass/test/kit"
	"github.com/gatepass/gatepass/test/redisserver"
)

// redisRecovery bounds the wait for gatepass to use a restarted Redis: the
// client redials on its next command, but a pooled connection may fail one
// call first.
const redisRecovery = 15 * time.Second

// patientStore gives each call to Redis ten times the default time. The
// servers run in the test's process, under the race detector, beside
// other tests: a call to a live Redis that missed the default 100ms would
// fall back to a replica's own budget and miscount. The faults below
// (Redis down, hung) end every call however long the bound.
var patientStore = map[string]string{"RATE_LIMIT_STORE_TIMEOUT": "1s"}

// enforcedAgain reports whether a fresh user's office burst is admitted and
// the next request refused: the limits are back.
func enforcedAgain(t *testing.T, idp *kit.IdentityProvider, p *kit.Process, burst int, round *int) bool {
	*round++
	token := idp.Token(t, fmt.Sprintf("user_recovery_%d", *round), "org_1", "member", 10*time.Minute)
	for range burst {
		if kit.Post(t, p.URL+kit.OfficePath, kit.Bearer(token)).Status != http.StatusOK {
			return false
		}
	}
	return kit.Post(t, p.URL+kit.OfficePath, kit.Bearer(token)).Status == http.StatusTooManyRequests
}

func TestRedisDiesFailingOpen(t *testing.T) {
	t.Parallel()
	idp := kit.NewIdentityProvider(t)
	redis := redisserver.Start(t)
	const burst = 3
	p := inproc.Serve(t, productionEnv(t, idp, slowLimits(burst, 2, 5), patientStore, map[string]string{
		"REDIS_URL": redis.URL(), "RATE_LIMIT_FAILURE_MODE": "open",
	}))
	alice := idp.Token(t, "user_alice", "org_1", "member", 10*time.Minute)
	spend(t, "alice before Redis dies", burst, p.URL+kit.OfficePath, alice, http.StatusOK)
	wantLimited(t, "alice past her burst", kit.Post(t, p.URL+kit.OfficePath, kit.Bearer(alice)))
	errorsBefore := kit.Scrape(t, p.AdminURL+"/metrics").Sum("gatepass_rate_limiter_errors_total")

	redis.Stop()
	// Failing open, the replica falls back to budgets of its own in
	// memory: limits never disappear. Alice, whose Redis budget is spent,
	// starts a fresh replica budget; bob is limited past his burst.
	bob := idp.Token(t, "user_bob", "org_1", "member", 10*time.Minute)
	spend(t, "alice while Redis is down", 2, p.URL+kit.OfficePath, alice, http.StatusOK)
	spend(t, "bob office while Redis is down", burst, p.URL+kit.OfficePath, bob, http.StatusOK)
	wantLimited(t, "bob office past his burst while Redis is down", kit.Post(t, p.URL+kit.OfficePath, kit.Bearer(bob)))
	spend(t, "bob realtime while Redis is down", 2, p.URL+kit.RealtimePath, bob, http.StatusOK)
	wantLimited(t, "bob realtime past his burst while Redis is down", kit.Post(t, p.URL+kit.RealtimePath, kit.Bearer(bob)))
	errorsDown := kit.Scrape(t, p.AdminURL+"/metrics").Sum("gatepass_rate_limiter_errors_total")
	if errorsDown <= errorsBefore {
		t.Errorf("gatepass_rate_limiter_errors_total went from %v to %v while Redis was down", errorsBefore, errorsDown)
	}
	if status, body := kit.Ready(t, p.AdminURL); status != http.StatusOK || !strings.Contains(body.Checks["rate_limiter"].Detail, "failing open") {
		t.Errorf("admin /readyz with Redis down: %d %+v, want 200 failing open", status, body)
	}

	redis.Restart()
	restarted, round := time.Now(), 0
	// The in-memory fallback enforces limits too, so recovery is seen on
	// the readiness detail: Redis is the store again.
	if !kit.Eventually(redisRecovery, 200*time.Millisecond, func() bool {
		status, body := kit.Ready(t, p.AdminURL)
		return status == http.StatusOK && body.Checks["rate_limiter"].Detail == "redis" && enforcedAgain(t, idp, p, burst, &round)
	}) {
		t.Fatalf("Redis not the store again %s after it came back (%d rounds)\n%s", redisRecovery, round, p.Logs())
	}
	t.Logf("limits enforced in Redis again %s after Redis came back (round %d)", time.Since(restarted).Round(time.Millisecond), round)
}

func TestRedisDiesFailingClosed(t *testing.T) {
	t.Parallel()
	idp := kit.NewIdentityProvider(t)
	redis := redisserver.Start(t)
	const burst = 3
	p := inproc.Serve(t, productionEnv(t, idp, slowLimits(burst, 2, 5), patientStore, map[string]string{
		"REDIS_URL": redis.URL(), "RATE_LIMIT_FAILURE_MODE": "closed",
	}))
	alice := idp.Token(t, "user_alice", "org_1", "member", 10*time.Minute)
	kit.WantStatus(t, "alice with Redis up", kit.Post(t, p.URL+kit.OfficePath, kit.Bearer(alice)), http.StatusOK)

	redis.Stop()
	for i := range 3 {
		kit.WantProblem(t, fmt.Sprintf("office with Redis down #%d", i+1), kit.Post(t, p.URL+kit.OfficePath, kit.Bearer(alice)),
			http.StatusServiceUnavailable, "rate_limiter_unavailable")
		kit.WantProblem(t, fmt.Sprintf("realtime with Redis down #%d", i+1), kit.Post(t, p.URL+kit.RealtimePath, kit.Bearer(alice)),
			http.StatusServiceUnavailable, "rate_limiter_unavailable")
	}
	status, body := kit.Ready(t, p.AdminURL)
	if status != http.StatusServiceUnavailable || body.Status != "not_ready" || body.Checks["rate_limiter"].Status != "failing" ||
		body.Checks["identity_keys"].Status != "ok" {
		t.Errorf("/readyz with Redis down: %d %+v, want 503 with only rate_limiter failing", status, body)
	}
	// A failing store is left alone for a moment after an error, so the
	// errors counted are store calls, not requests.
	if got := kit.Scrape(t, p.AdminURL+"/metrics").Sum("gatepass_rate_limiter_errors_total"); got < 1 {
		t.Errorf("gatepass_rate_limiter_errors_total = %v after 6 refused requests", got)
	}

	redis.Restart()
	restarted := time.Now()
	if !kit.Eventually(redisRecovery, 200*time.Millisecond, func() bool {
		return kit.Post(t, p.URL+kit.OfficePath, kit.Bearer(alice)).Status == http.StatusOK
	}) {
		t.Fatalf("still refusing %s after Redis came back\n%s", redisRecovery, p.Logs())
	}
	t.Logf("serving again %s after Redis came back", time.Since(restarted).Round(time.Millisecond))
	if status, body := kit.Ready(t, p.AdminURL); status != http.StatusOK {
		t.Errorf("/readyz after Redis came back: %d %+v", status, body)
	}
	// The restarted Redis is empty: a fresh budget, enforced.
	round := 0
	if !kit.Eventually(redisRecovery, 200*time.Millisecond, func() bool { return enforcedAgain(t, idp, p, burst, &round) }) {
		t.Fatalf("limits not enforced after Redis came back (%d rounds)", round)
	}
}

func TestRedisHangsFailingOpen(t *testing.T) {
	t.Parallel()
	idp := kit.NewIdentityProvider(t)
	redis := redisserver.Start(t)
	const burst = 3
	p := inproc.Serve(t, productionEnv(t, idp, slowLimits(burst, 2, 5), patientStore, map[string]string{
		"REDIS_URL": redis.URL(), "RATE_LIMIT_FAILURE_MODE": "open",
	}))
	alice := idp.Token(t, "user_alice", "org_1", "member", 10*time.Minute)
	spend(t, "alice before Redis hangs", burst, p.URL+kit.OfficePath, alice, http.StatusOK)

	// A frozen Redis answers nothing and closes nothing: only gatepass's
	// own timeouts end each call, well within the client's.
	redis.Pause()
	resumed := false
	defer func() {
		if !resumed {
			redis.Resume()
		}
	}()
	spend(t, "alice while Redis hangs", 3, p.URL+kit.OfficePath, alice, http.StatusOK)
	spend(t, "alice realtime while Redis hangs", 2, p.URL+kit.RealtimePath, alice, http.StatusOK)
	if status, body := kit.Ready(t, p.AdminURL); status != http.StatusOK || !strings.Contains(body.Checks["rate_limiter"].Detail, "failing open") {
		t.Errorf("/readyz with Redis hung: %d %+v, want 200 failing open", status, body)
	}
	if got := kit.Scrape(t, p.AdminURL+"/metrics").Sum("gatepass_rate_limiter_errors_total"); got < 1 {
		t.Errorf("gatepass_rate_limiter_errors_total = %v after 5 requests against a hung Redis", got)
	}

	redis.Resume()
	resumed = true
	round := 0
	if !kit.Eventually(redisRecovery, 200*time.Millisecond, func() bool {
		status, body := kit.Ready(t, p.AdminURL)
		return status == http.StatusOK && body.Checks["rate_limiter"].Detail == "redis" && enforcedAgain(t, idp, p, burst, &round)
	}) {
		t.Fatalf("Redis not the store again %s after it thawed (%d rounds)", redisRecovery, round)
	}
	wantLimited(t, "alice, whose budget Redis kept", kit.Post(t, p.URL+kit.OfficePath, kit.Bearer(alice)))
}
