// Package limittest is the conformance suite every domain.RateLimiter
// backend runs from its own tests, so the in-memory and the Redis limiter
// keep the same GCRA contract: a burst is admitted and then refused, the
// budget refills with time at Rate per Period, RetryAfter is never early,
// keys are independent, concurrent callers never get more than the burst,
// and a limit that cannot be enforced is an error.
package limittest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatepass/gatepass/domain"
)

// Harness is one backend under test.
type Harness struct {
	// Limiter holds no state for the keys the suite uses.
	Limiter domain.RateLimiter
	// Wait lets d pass for the limiter: a fake clock advances, a real one
	// is slept on.
	Wait func(d time.Duration)
	// Exact says time moves only in Wait, so the suite can check
	// RetryAfter to the nanosecond and probe the instant a budget refills.
	// With a real clock, time also passes between calls: the suite checks
	// the same decisions, and that RetryAfter is positive and no more than
	// the exact value.
	Exact bool
}

// HarnessMaker makes a fresh harness for one subtest. Subtests run in
// parallel, so it must be safe to call concurrently.
type HarnessMaker func(t *testing.T) Harness

// RunConformanceTests runs the suite against the backend newHarness makes.
func RunConformanceTests(t *testing.T, newHarness HarnessMaker) {
	t.Helper()
	tests := []struct {
		name string
		run  func(*testing.T, Harness)
	}{
		{"BurstThenRefused", testBurstThenRefused},
		{"RefillAfterWaiting", testRefillAfterWaiting},
		{"SameSequenceAsGCRA", testSameSequence},
		{"KeysAreIndependent", testKeysAreIndependent},
		{"ConcurrentCallersGetExactlyTheBurst", testConcurrentCallers},
		{"InvalidLimit", testInvalidLimit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, newHarness(t))
		})
	}
}

// RunBenchmarks measures Allow on one hot key and on many keys, from
// parallel callers. It asserts nothing about timing.
func RunBenchmarks(b *testing.B, l domain.RateLimiter) {
	ctx := context.Background()
	limit := domain.Limit{Rate: 30, Period: time.Minute, Burst: 10}
	b.Run("OneKey", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := l.Allow(ctx, "bench:hot", limit); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("ManyKeys", func(b *testing.B) {
		b.ReportAllocs()
		var mu sync.Mutex
		worker := 0
		b.RunParallel(func(pb *testing.PB) {
			mu.Lock()
			worker++
			prefix := fmt.Sprintf("bench:%d:", worker)
			mu.Unlock()
			for i := 0; pb.Next(); i++ {
				if _, err := l.Allow(ctx, prefix+fmt.Sprint(i%10_000), limit); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

func allow(t *testing.T, h Harness, key string, limit domain.Limit) domain.Decision {
	t.Helper()
	d, err := h.Limiter.Allow(context.Background(), key, limit)
	if err != nil {
		t.Fatalf("Allow(%q, %+v): %v", key, limit, err)
	}
	return d
}

func wantAllowed(t *testing.T, d domain.Decision, remaining int) {
	t.Helper()
	if !d.Allowed || d.Remaining != remaining || d.RetryAfter != 0 {
		t.Fatalf("decision = %+v, want allowed with %d remaining and no RetryAfter", d, remaining)
	}
}

// wantRefused checks a refusal; retryAfter is the exact wait, which a real
// clock may shorten but never lengthen.
func wantRefused(t *testing.T, h Harness, d domain.Decision, retryAfter time.Duration) {
	t.Helper()
	if d.Allowed || d.Remaining != 0 {
		t.Fatalf("decision = %+v, want refused with 0 remaining", d)
	}
	if h.Exact && d.RetryAfter != retryAfter {
		t.Fatalf("RetryAfter = %s, want %s", d.RetryAfter, retryAfter)
	}
	if d.RetryAfter <= 0 || d.RetryAfter > retryAfter {
		t.Fatalf("RetryAfter = %s, want in (0, %s]", d.RetryAfter, retryAfter)
	}
}

func testBurstThenRefused(t *testing.T, h Harness) {
	// One event a minute: no refill to speak of while the test runs.
	limit := domain.Limit{Rate: 1, Period: time.Minute, Burst: 5}
	for want := limit.Burst - 1; want >= 0; want-- {
		wantAllowed(t, allow(t, h, "burst", limit), want)
	}
	first := allow(t, h, "burst", limit)
	wantRefused(t, h, first, time.Minute)
	// A refused event costs nothing: the wait does not grow.
	for range 10 {
		wantRefused(t, h, allow(t, h, "burst", limit), first.RetryAfter)
	}
}

func testRefillAfterWaiting(t *testing.T, h Harness) {
	// An event every 500ms, two at once.
	limit := domain.Limit{Rate: 2, Period: time.Second, Burst: 2}
	interval := limit.Period / time.Duration(limit.Rate)
	wantAllowed(t, allow(t, h, "refill", limit), 1)
	wantAllowed(t, allow(t, h, "refill", limit), 0)
	refused := allow(t, h, "refill", limit)
	wantRefused(t, h, refused, interval)

	if h.Exact {
		// The budget refills at RetryAfter, not a nanosecond sooner.
		h.Wait(refused.RetryAfter - time.Nanosecond)
		wantRefused(t, h, allow(t, h, "refill", limit), time.Millisecond)
		h.Wait(time.Nanosecond)
	} else {
		h.Wait(refused.RetryAfter)
	}
	// Waiting RetryAfter is enough, and buys one event.
	wantAllowed(t, allow(t, h, "refill", limit), 0)
	wantRefused(t, h, allow(t, h, "refill", limit), interval)

	// Waiting Burst intervals refills the whole burst, and no more.
	h.Wait(time.Duration(limit.Burst) * interval)
	wantAllowed(t, allow(t, h, "refill", limit), 1)
	wantAllowed(t, allow(t, h, "refill", limit), 0)
	wantRefused(t, h, allow(t, h, "refill", limit), interval)
}

// testSameSequence replays a script of events and waits whose decisions
// are worked out by hand from GCRA, with waits that land between refill
// instants so a real clock's extra milliseconds change nothing.
func testSameSequence(t *testing.T, h Harness) {
	// An event every 400ms, three at once.
	limit := domain.Limit{Rate: 5, Period: 2 * time.Second, Burst: 3}
	ms := time.Millisecond
	script := []struct {
		wait       time.Duration // before the event
		allowed    bool
		remaining  int
		retryAfter time.Duration
	}{
		// t=0: the burst, then a refusal until 400ms.
		{0, true, 2, 0},
		{0, true, 1, 0},
		{0, true, 0, 0},
		{0, false, 0, 400 * ms},
		// t=600ms: one interval refilled, half of the next.
		{600 * ms, true, 0, 0},
		{0, false, 0, 200 * ms},
		// t=1700ms: the budget is full again.
		{1100 * ms, true, 2, 0},
		{0, true, 1, 0},
		{0, true, 0, 0},
		{0, false, 0, 400 * ms},
		// t=3700ms: full, and idle keys keep no debt.
		{2000 * ms, true, 2, 0},
	}
	for i, step := range script {
		if step.wait > 0 {
			h.Wait(step.wait)
		}
		d := allow(t, h, "script", limit)
		t.Logf("step %d: %+v", i, d)
		if step.allowed {
			wantAllowed(t, d, step.remaining)
		} else {
			wantRefused(t, h, d, step.retryAfter)
		}
	}
}

func testKeysAreIndependent(t *testing.T, h Harness) {
	limit := domain.Limit{Rate: 1, Period: time.Minute, Burst: 3}
	for want := limit.Burst - 1; want >= 0; want-- {
		wantAllowed(t, allow(t, h, "user:a", limit), want)
	}
	wantRefused(t, h, allow(t, h, "user:a", limit), time.Minute)
	for _, key := range []string{"user:b", "user:a:", "user:", "USER:A", ""} {
		wantAllowed(t, allow(t, h, key, limit), limit.Burst-1)
	}
	wantRefused(t, h, allow(t, h, "user:a", limit), time.Minute)
}

func testConcurrentCallers(t *testing.T, h Harness) {
	limit := domain.Limit{Rate: 1, Period: time.Minute, Burst: 10}
	const callers = 50
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		remaining []int
		errs      []error
	)
	start := make(chan struct{})
	for range callers {
		wg.Go(func() {
			<-start
			d, err := h.Limiter.Allow(context.Background(), "crowd", limit)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			} else if d.Allowed {
				remaining = append(remaining, d.Remaining)
			}
		})
	}
	close(start)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d of %d callers failed, first: %v", len(errs), callers, errs[0])
	}
	// Each admitted event saw the count the one before it left.
	slices.Sort(remaining)
	want := make([]int, limit.Burst)
	for i := range want {
		want[i] = i
	}
	if !slices.Equal(remaining, want) {
		t.Fatalf("%d callers admitted with remaining %v, want exactly %d with %v", len(remaining), remaining, limit.Burst, want)
	}
}

func testInvalidLimit(t *testing.T, h Harness) {
	tests := []struct {
		name  string
		limit domain.Limit
	}{
		{"zero", domain.Limit{}},
		{"zero rate", domain.Limit{Rate: 0, Period: time.Minute, Burst: 1}},
		{"negative rate", domain.Limit{Rate: -1, Period: time.Minute, Burst: 1}},
		{"zero period", domain.Limit{Rate: 1, Period: 0, Burst: 1}},
		{"negative period", domain.Limit{Rate: 1, Period: -time.Minute, Burst: 1}},
		{"zero burst", domain.Limit{Rate: 1, Period: time.Minute, Burst: 0}},
		{"negative burst", domain.Limit{Rate: 1, Period: time.Minute, Burst: -3}},
		{"rate finer than a nanosecond", domain.Limit{Rate: 2, Period: time.Nanosecond, Burst: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := h.Limiter.Allow(context.Background(), "invalid", tt.limit)
			if err == nil {
				t.Fatalf("Allow with %+v = %+v, want an error", tt.limit, d)
			}
			if errors.Is(err, domain.ErrLimiterUnavailable) {
				t.Fatalf("Allow with %+v: %v; a bad limit is the caller's error, not an outage", tt.limit, err)
			}
			if d.Allowed {
				t.Fatalf("Allow with %+v allowed the event along with error %v", tt.limit, err)
			}
		})
	}
	// Rejected calls spent nothing.
	limit := domain.Limit{Rate: 1, Period: time.Minute, Burst: 2}
	wantAllowed(t, allow(t, h, "invalid", limit), 1)
}
