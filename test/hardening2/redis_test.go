package hardening2_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

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

// grants asks for n realtime grants as one user and returns the statuses.
func (s *service) grants(t *testing.T, token string, n int) []int {
	t.Helper()
	out := make([]int, n)
	for i := range out {
		out[i] = s.do(t, "POST", s.URL+realtimePath, "Authorization", "Bearer "+token).status
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
	for _, b := range breakings {
		t.Run(b.name, func(t *testing.T) {
			r := redisserver.Start(t)
			s := start(t, redisBudget(r.URL(), "open"))
			token := s.idp.Token(t, "user_open", "org_1", "member", 10*time.Minute)
			b.breakIt(t, r)
			got := s.grants(t, token, 6)
			if count(got, http.StatusOK) != 3 || count(got, http.StatusTooManyRequests) != 3 {
				t.Fatalf("statuses %v with a failing Redis, want 3 grants then 429s", got)
			}
			status, ready, body := s.readiness(t, s.AdminURL)
			if status != http.StatusOK || !strings.Contains(ready.Checks["rate_limiter"].Detail, "degraded") {
				t.Fatalf("admin readiness %d %s, want 200 and degraded", status, body)
			}
		})
	}
}

// TestFailingRedisFailingClosedIsNotReady: failing closed, requests get 503
// and readiness says so, though Redis answers PING.
func TestFailingRedisFailingClosedIsNotReady(t *testing.T) {
	for _, b := range breakings {
		t.Run(b.name, func(t *testing.T) {
			r := redisserver.Start(t)
			s := start(t, redisBudget(r.URL(), "closed"))
			token := s.idp.Token(t, "user_closed", "org_1", "member", 10*time.Minute)
			b.breakIt(t, r)
			if got := s.grants(t, token, 2); count(got, http.StatusServiceUnavailable) != 2 {
				t.Fatalf("statuses %v, want 503s", got)
			}
			if status, _, body := s.readiness(t, s.AdminURL); status != http.StatusServiceUnavailable {
				t.Fatalf("admin readiness %d %s while Redis refuses writes, want 503", status, body)
			}
			if status, _, body := s.readiness(t, s.URL); status != http.StatusServiceUnavailable || body != `{"status":"not_ready"}`+"\n" && body != `{"status":"not_ready"}` {
				t.Fatalf("public readiness %d %q", status, body)
			}
		})
	}
}

// TestHungRedisCostsLittle: a Redis that accepts but never answers adds at
// most the store timeout to a request now and then, not to each; budgets
// are kept per replica meanwhile.
func TestHungRedisCostsLittle(t *testing.T) {
	r := redisserver.Start(t)
	s := start(t, redisBudget(r.URL(), "open"))
	token := s.idp.Token(t, "user_hung", "org_1", "member", 10*time.Minute)
	warm := s.idp.Token(t, "user_warm", "org_1", "member", 10*time.Minute)
	s.grants(t, warm, 1) // a pooled connection to Redis
	r.Pause()
	defer r.Resume()
	began := time.Now()
	got := s.grants(t, token, 10)
	elapsed := time.Since(began)
	if count(got, http.StatusOK) != 3 || count(got, http.StatusTooManyRequests) != 7 {
		t.Fatalf("statuses %v with a hung Redis, want 3 grants then 429s", got)
	}
	if elapsed > time.Second {
		t.Fatalf("10 requests took %s with a hung Redis; each store call must be bounded and a failed store left alone", elapsed)
	}
	status, ready, body := s.readiness(t, s.AdminURL)
	if status != http.StatusOK || !strings.Contains(ready.Checks["rate_limiter"].Detail, "degraded") {
		t.Fatalf("admin readiness %d %s, want 200 and degraded", status, body)
	}
}
