package ratelimit_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/gatepass/gatepass/test/inproc"
	"github.com/gatepass/gatepass/test/kit"
)

// authBudget is a budget of five failed authentications per address that
// does not refill during a test.
var authBudget = map[string]string{
	"RATE_LIMIT_AUTH_FAILURE_RATE":   "1",
	"RATE_LIMIT_AUTH_FAILURE_PERIOD": "1h",
	"RATE_LIMIT_AUTH_FAILURE_BURST":  "5",
	"TRUSTED_PROXIES":                "127.0.0.1/32",
}

// failFrom sends one bad token to s as if the proxy on loopback forwarded
// it for the given X-Forwarded-For.
func failFrom(t *testing.T, s *kit.Service, xff string, extra ...kit.Option) int {
	t.Helper()
	opts := append([]kit.Option{kit.Bearer("not.a.token"), kit.Header("X-Forwarded-For", xff)}, extra...)
	return kit.Post(t, s.URL+kit.RealtimePath, opts...).Status
}

// TestValidTokenIsNeverLockedOutByItsAddress: a client behind the same
// address that spent the failure budget does not stop an honest user from
// getting grants; its own failures turn to 429 with Retry-After.
func TestValidTokenIsNeverLockedOutByItsAddress(t *testing.T) {
	t.Parallel()
	s := inproc.ServeService(t, base, authBudget)
	valid := s.IDP.Token(t, "user_honest", "org_1", "member", 10*time.Minute)
	for i := range 5 {
		if got := failFrom(t, s, "198.51.100.20"); got != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d, want 401", i+1, got)
		}
	}
	r := kit.Post(t, s.URL+kit.RealtimePath, kit.Bearer("not.a.token"), kit.Header("X-Forwarded-For", "198.51.100.20"))
	if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("failure past the budget: %d (Retry-After %q), want 429 with Retry-After", r.Status, r.Header.Get("Retry-After"))
	}
	for i := range 3 {
		r := kit.Post(t, s.URL+kit.RealtimePath, kit.Bearer(valid), kit.Header("X-Forwarded-For", "198.51.100.20"))
		if r.Status != http.StatusOK {
			t.Fatalf("honest user %d behind the spent address: %s", i+1, r)
		}
	}
}

// TestOneIPv6PrefixIsOneBudget: 40 addresses of one /64 share a budget.
func TestOneIPv6PrefixIsOneBudget(t *testing.T) {
	t.Parallel()
	s := inproc.ServeService(t, base, authBudget)
	limited := 0
	for i := range 40 {
		if failFrom(t, s, fmt.Sprintf("2001:db8:77:1::%x", i+1)) == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited != 35 {
		t.Fatalf("%d of 40 failures from one /64 were limited, want 35", limited)
	}
	// Another /64 has a budget of its own.
	if got := failFrom(t, s, "2001:db8:77:2::1"); got != http.StatusUnauthorized {
		t.Fatalf("another /64: %d, want 401", got)
	}
}

// TestOneIPv4AddressIsOneBudgetHoweverSpelled: the same address written
// five ways spends one budget.
func TestOneIPv4AddressIsOneBudgetHoweverSpelled(t *testing.T) {
	t.Parallel()
	s := inproc.ServeService(t, base, authBudget)
	spellings := []string{"192.0.2.55", "::ffff:192.0.2.55", "::ffff:c000:237", "0:0:0:0:0:ffff:192.0.2.55",
		"0000:0000:0000:0000:0000:ffff:c000:0237"}
	for i := range 10 {
		want := http.StatusUnauthorized
		if i >= 5 {
			want = http.StatusTooManyRequests
		}
		if got := failFrom(t, s, spellings[i%5]); got != want {
			t.Fatalf("failure %d as %s: %d, want %d", i+1, spellings[i%5], got, want)
		}
	}
}

// TestClientWrittenHeadersDoNotNameTheClient: behind a trusted proxy, only
// the hop the proxy appended counts; what the client put left of it, and
// X-Real-IP (which a proxy that appends X-Forwarded-For passes through as
// the client wrote it), never give a fresh budget.
func TestClientWrittenHeadersDoNotNameTheClient(t *testing.T) {
	t.Parallel()
	s := inproc.ServeService(t, base, authBudget)
	limited := 0
	for i := range 10 {
		xff := fmt.Sprintf("203.0.113.%d, 198.51.100.77", i+1)
		if failFrom(t, s, xff, kit.Header("X-Real-IP", fmt.Sprintf("203.0.113.%d", 100+i))) == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited != 5 {
		t.Fatalf("%d of 10 failures were limited, want 5: the client chose its own budget", limited)
	}
	// No X-Forwarded-For: the client is the proxy's peer, whatever
	// X-Real-IP says.
	limited = 0
	for i := range 10 {
		r := kit.Post(t, s.URL+kit.RealtimePath, kit.Bearer("not.a.token"), kit.Header("X-Real-IP", fmt.Sprintf("192.0.2.%d", i+1)))
		if r.Status == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited != 5 {
		t.Fatalf("%d of 10 failures with a fresh X-Real-IP each were limited, want 5", limited)
	}
}
