package domain

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrRateLimited means a caller spent its budget; RateLimitedError says
// when to come back.
var ErrRateLimited = errors.New("rate limited")

// ErrLimiterUnavailable means the rate-limit store could not be reached.
var ErrLimiterUnavailable = errors.New("rate limiter unavailable")

// Limit is a budget: Rate events per Period on average, with room for a
// Burst of events at once.
type Limit struct {
	Rate   int
	Period time.Duration
	Burst  int
}

// Valid reports whether the limit can be enforced.
func (l Limit) Valid() bool { return l.Rate > 0 && l.Period > 0 && l.Burst > 0 }

// Decision is a rate limiter's answer for one event.
type Decision struct {
	Allowed bool
	// Remaining is how many more events would be allowed now.
	Remaining int
	// RetryAfter is how long until one more event would be allowed; zero
	// when Allowed.
	RetryAfter time.Duration
}

// RateLimiter counts events per key against a limit. Implementations share
// the count wherever they keep it (in memory, in Redis).
type RateLimiter interface {
	Allow(ctx context.Context, key string, limit Limit) (Decision, error)
}

// RateLimitedError is ErrRateLimited with the time to wait.
type RateLimitedError struct {
	RetryAfter time.Duration
}

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("%s: retry after %s", ErrRateLimited, e.RetryAfter)
}

// Unwrap makes errors.Is(err, ErrRateLimited) hold.
func (e *RateLimitedError) Unwrap() error { return ErrRateLimited }
