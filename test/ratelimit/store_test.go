package ratelimit_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatepass/gatepass/test/inproc"
	"github.com/gatepass/gatepass/test/kit"
	"github.com/gatepass/gatepass/test/redisserver"
)

// redisBudget is a realtime budget of three grants per user.
func redisBudget(url, mode string) map[string]string {
	return map[string]string{
		"REDIS_URL":                url,
		"RATE_LIMIT_FAILURE_MODE":  mode,
		"RATE_LIMIT_REALTIME_RATE": "1", "RATE_LIMIT_REALTIME_PERIOD": "1h", "RATE_LIMIT_REALTIME_BURST": "3",
		"RATE_LIMIT_STORE_TIMEOUT": "100ms",
	}
}

func admin(t *testing.T, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { c.Close() })
	return c
}

// breakings are the ways a Redis that answers PING can still refuse every
// limiter call.
var breakings = []struct {
	name    string
	breakIt func(t *testing.T, r *redisserver.Server)
}{
	{name: "out of memory", breakIt: func(t *testing.T, r *redisserver.Server) {
		c := admin(t, r.Addr())
		if err := c.ConfigSet(context.Background(), "maxmemory", "1").Err(); err != nil {
			t.Fatal(err)
		}
		if err := c.ConfigSet(context.Background(), "maxmemory-policy", "noeviction").Err(); err != nil {
			t.Fatal(err)
		}
	}},
	{name: "read-only replica", breakIt: func(t *testing.T, r *redisserver.Server) {
		// A replica of a master that does not answer: PING works, writes
		// are refused.
		master := redisserver.Start(t)
		masterAddr := master.Addr()
		master.Stop()
		host, port, _ := strings.Cut(masterAddr, ":")
		if err := admin(t, r.Addr()).SlaveOf(context.Background(), host, port).Err(); err != nil {
			t.Fatal(err)
		}
	}},
}

// grants asks s for n realtime grants as one user and returns the
// statuses.
func grants(t *testing.T, s *kit.Service, token string, n int) []int {
	t.Helper()
	out := make([]int, n)
	for i := range out {
		out[i] = kit.Post(t, s.URL+kit.RealtimePath, kit.Bearer(token)).Status
	}
	return out
}

func count(statuses []int, status int) int {
	n := 0
	for _, s := range statuses {
		if s == status {
			n++
		}
	}
	return n
}

// TestFailingRedisFailingOpenKeepsBudgets: with Redis refusing writes,
// failing open keeps per-replica budgets (a user still meets 429) and the
// replica stays ready, the admin readiness saying it is degraded.
func TestFailingRedisFailingOpenKeepsBudgets(t *testing.T) {
	t.Parallel()
	for _, b := range breakings {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			r := redisserver.Start(t)
			s := inproc.ServeService(t, base, redisBudget(r.URL(), "open"))
			token := s.IDP.Token(t, "user_open", "org_1", "member", 10*time.Minute)
			b.breakIt(t, r)
			got := grants(t, s, token, 6)
			if count(got, http.StatusOK) != 3 || count(got, http.StatusTooManyRequests) != 3 {
				t.Fatalf("statuses %v with a failing Redis, want 3 grants then 429s", got)
			}
			ready := kit.Get(t, s.AdminURL+"/readyz")
			if ready.Status != http.StatusOK || !strings.Contains(ready.Readiness(t).Checks["rate_limiter"].Detail, "degraded") {
				t.Fatalf("admin readiness %s, want 200 and degraded", ready)
			}
		})
	}
}

// TestFailingRedisFailingClosedIsNotReady: failing closed, requests get 503
// and readiness says so, though Redis answers PING.
func TestFailingRedisFailingClosedIsNotReady(t *testing.T) {
	t.Parallel()
	for _, b := range breakings {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			r := redisserver.Start(t)
			s := inproc.ServeService(t, base, redisBudget(r.URL(), "closed"))
			token := s.IDP.Token(t, "user_closed", "org_1", "member", 10*time.Minute)
			b.breakIt(t, r)
			if got := grants(t, s, token, 2); count(got, http.StatusServiceUnavailable) != 2 {
				t.Fatalf("statuses %v, want 503s", got)
			}
			if status, ready := kit.Ready(t, s.AdminURL); status != http.StatusServiceUnavailable {
				t.Fatalf("admin readiness %d %+v while Redis refuses writes, want 503", status, ready)
			}
			ready := kit.Get(t, s.URL+"/readyz")
			if body := string(ready.Body); ready.Status != http.StatusServiceUnavailable || body != `{"status":"not_ready"}`+"\n" && body != `{"status":"not_ready"}` {
				t.Fatalf("public readiness %d %q", ready.Status, body)
			}
		})
	}
}

// TestHungRedisCostsLittle: a Redis that accepts but never answers adds at
// most the store timeout to a request now and then, not to each; budgets
// are kept per replica meanwhile.
//
// Not in parallel with the other tests: it bounds how long ten requests
// take.
func TestHungRedisCostsLittle(t *testing.T) {
	r := redisserver.Start(t)
	s := inproc.ServeService(t, base, redisBudget(r.URL(), "open"))
	token := s.IDP.Token(t, "user_hung", "org_1", "member", 10*time.Minute)
	warm := s.IDP.Token(t, "user_warm", "org_1", "member", 10*time.Minute)
	grants(t, s, warm, 1) // a pooled connection to Redis
	r.Pause()
	defer r.Resume()
	began := time.Now()
	got := grants(t, s, token, 10)
	elapsed := time.Since(began)
	if count(got, http.StatusOK) != 3 || count(got, http.StatusTooManyRequests) != 7 {
		t.Fatalf("statuses %v with a hung Redis, want 3 grants then 429s", got)
	}
	if elapsed > time.Second {
		t.Fatalf("10 requests took %s with a hung Redis; each store call must be bounded and a failed store left alone", elapsed)
	}
	ready := kit.Get(t, s.AdminURL+"/readyz")
	if ready.Status != http.StatusOK || !strings.Contains(ready.Readiness(t).Checks["rate_limiter"].Detail, "degraded") {
		t.Fatalf("admin readiness %s, want 200 and degraded", ready)
	}
}
