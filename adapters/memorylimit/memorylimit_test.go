package memorylimit_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatepass/gatepass/adapters/limittest"
	"github.com/gatepass/gatepass/adapters/memorylimit"
	"github.com/gatepass/gatepass/domain"
)

// fakeClock is a clock that moves only when told; safe for concurrent use.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestConformance(t *testing.T) {
	limittest.RunConformanceTests(t, func(*testing.T) limittest.Harness {
		clock := newFakeClock()
		return limittest.Harness{
			Limiter: memorylimit.New(clock.Now, 0),
			Wait:    clock.Advance,
			Exact:   true,
		}
	})
}

// TestConformanceOnTheSystemClock runs the suite as the Redis backend runs
// it, on real time, to show the suite's real-clock checks hold for a
// limiter whose arithmetic is exact.
func TestConformanceOnTheSystemClock(t *testing.T) {
	limittest.RunConformanceTests(t, func(*testing.T) limittest.Harness {
		return limittest.Harness{Limiter: memorylimit.New(nil, 0), Wait: time.Sleep}
	})
}

func TestForgetsKeysOnceTheirBudgetIsFull(t *testing.T) {
	clock := newFakeClock()
	l := memorylimit.New(clock.Now, 0)
	limit := domain.Limit{Rate: 10, Period: time.Minute, Burst: 5} // 6s an event
	ctx := context.Background()
	for i := range 100 {
		if _, err := l.Allow(ctx, fmt.Sprint("key", i), limit); err != nil {
			t.Fatal(err)
		}
	}
	if got := l.Len(); got != 100 {
		t.Fatalf("Len after 100 keys = %d, want 100", got)
	}
	// One event's cost later, every key is full again and so forgotten at
	// the next call; one nanosecond short, none is.
	clock.Advance(6*time.Second - time.Nanosecond)
	if _, err := l.Allow(ctx, "probe", limit); err != nil {
		t.Fatal(err)
	}
	if got := l.Len(); got != 101 {
		t.Fatalf("Len before the budgets refill = %d, want 101", got)
	}
	// The probe's budget is full 6s after it, with the others long full.
	clock.Advance(6 * time.Second)
	if _, err := l.Allow(ctx, "other", limit); err != nil {
		t.Fatal(err)
	}
	if got := l.Len(); got != 1 {
		t.Fatalf("Len after the budgets refilled = %d, want 1 (the key just used)", got)
	}
}

func TestMaxKeysForgetsTheKeyClosestToAFullBudget(t *testing.T) {
	clock := newFakeClock()
	const maxKeys = 3
	l := memorylimit.New(clock.Now, maxKeys)
	limit := domain.Limit{Rate: 1, Period: time.Minute, Burst: 2}
	ctx := context.Background()
	spend := func(key string, n int) domain.Decision {
		t.Helper()
		var d domain.Decision
		for range n {
			var err error
			if d, err = l.Allow(ctx, key, limit); err != nil {
				t.Fatal(err)
			}
		}
		return d
	}
	spend("spent", 3) // both events and a refusal: a minute of debt
	spend("half", 1)  // one event: refills soonest
	spend("new", 2)
	spend("newest", 1) // a fourth key: one must go
	if got := l.Len(); got != maxKeys {
		t.Fatalf("Len = %d, want the bound %d", got, maxKeys)
	}
	// "half" was forgotten and starts full; "spent" is still refused.
	if d := spend("half", 1); !d.Allowed || d.Remaining != 1 {
		t.Fatalf(`"half" after eviction = %+v, want allowed with 1 remaining`, d)
	}
	if d := spend("spent", 1); d.Allowed {
		t.Fatalf(`"spent" = %+v, want still refused`, d)
	}
	if got := l.Len(); got > maxKeys {
		t.Fatalf("Len = %d, over the bound %d", got, maxKeys)
	}
}

func TestManyKeysConcurrently(t *testing.T) {
	clock := newFakeClock()
	const maxKeys = 500
	l := memorylimit.New(clock.Now, maxKeys)
	limit := domain.Limit{Rate: 30, Period: time.Minute, Burst: 10}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 2000 {
				if _, err := l.Allow(context.Background(), fmt.Sprint(g, ":", i%700), limit); err != nil {
					t.Error(err)
					return
				}
				if i%100 == 0 {
					clock.Advance(time.Second)
				}
			}
		})
	}
	wg.Wait()
	if got := l.Len(); got > maxKeys {
		t.Fatalf("Len = %d, over the bound %d", got, maxKeys)
	}
}

func TestInvalidLimitIsErrInvalidLimit(t *testing.T) {
	l := memorylimit.New(nil, 0)
	_, err := l.Allow(context.Background(), "k", domain.Limit{Rate: 1, Period: time.Minute})
	if !errors.Is(err, memorylimit.ErrInvalidLimit) {
		t.Fatalf("Allow with zero burst: %v, want ErrInvalidLimit", err)
	}
}

func TestDefaultLimitsOfGatepass(t *testing.T) {
	// The budgets gatepass ships with, replayed: burst, refusal, one-event
	// refill.
	tests := []struct {
		name  string
		limit domain.Limit
		retry time.Duration
	}{
		{"request-access", domain.Limit{Rate: 30, Period: time.Minute, Burst: 10}, 2 * time.Second},
		{"realtime token", domain.Limit{Rate: 10, Period: time.Minute, Burst: 5}, 6 * time.Second},
		{"failed authentications per IP", domain.Limit{Rate: 60, Period: time.Minute, Burst: 20}, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			l := memorylimit.New(clock.Now, 0)
			ctx := context.Background()
			for i := range tt.limit.Burst {
				d, err := l.Allow(ctx, "k", tt.limit)
				if err != nil || !d.Allowed || d.Remaining != tt.limit.Burst-1-i {
					t.Fatalf("event %d = %+v, %v; want allowed with %d remaining", i, d, err, tt.limit.Burst-1-i)
				}
			}
			d, _ := l.Allow(ctx, "k", tt.limit)
			if d.Allowed || d.RetryAfter != tt.retry {
				t.Fatalf("event past the burst = %+v, want refused with RetryAfter %s", d, tt.retry)
			}
			clock.Advance(tt.retry)
			if d, _ := l.Allow(ctx, "k", tt.limit); !d.Allowed || d.Remaining != 0 {
				t.Fatalf("after RetryAfter = %+v, want allowed with 0 remaining", d)
			}
		})
	}
}

func BenchmarkAllow(b *testing.B) {
	limittest.RunBenchmarks(b, memorylimit.New(nil, 0))
}
