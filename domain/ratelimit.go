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

// ErrInvalidLimit means a limit cannot be enforced.
var ErrInvalidLimit = errors.New("invalid rate limit")

// Budget names a budget: a grant kind's per-user budget, or the
// per-address budget of failed authentications. It labels metrics and
// prefixes the store's keys, so adapters never parse a key to learn it.
type Budget string

// BudgetAuthFailure is the per-address budget of failed authentications; a
// grant kind's budget is named after the kind.
const BudgetAuthFailure Budget = "authfail"

// BudgetOf is the name of a grant kind's per-user budget.
func BudgetOf(k GrantKind) Budget { return Budget(k) }

// Limit is how a budget is spent: Rate events per Period on average, with
// room for a Burst of events at once. Budget says which budget it is.
type Limit struct {
	Budget Budget
	Rate   int
	Period time.Duration
	Burst  int
}

// Valid reports whether the limit can be enforced.
func (l Limit) Valid() bool { return l.Rate > 0 && l.Period > 0 && l.Burst > 0 }

// GCRA returns the limit as the generic cell rate algorithm sees it: the
// emission interval (Period/Rate, the time one event costs) and the burst
// offset (the time Burst events cost). Every backend refuses the same
// limits: a non-positive field, an interval under a nanosecond, or a burst
// offset past what a time.Duration holds.
func (l Limit) GCRA() (interval, burstOffset time.Duration, err error) {
	if !l.Valid() {
		return 0, 0, fmt.Errorf("%w: %d per %s, burst %d", ErrInvalidLimit, l.Rate, l.Period, l.Burst)
	}
	interval = l.Period / time.Duration(l.Rate)
	burstOffset = interval * time.Duration(l.Burst)
	if interval <= 0 || burstOffset/time.Duration(l.Burst) != interval {
		return 0, 0, fmt.Errorf("%w: %d per %s, burst %d", ErrInvalidLimit, l.Rate, l.Period, l.Burst)
	}
	return interval, burstOffset, nil
}

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
	// Allow spends one event of key's budget, when there is one left.
	Allow(ctx context.Context, key string, limit Limit) (Decision, error)
}

// RateLimitNodes tells apart the nodes a shared RateLimiter keeps its
// budgets on, when they fail one by one (the masters of a Redis Cluster),
// so that a failing node fails only the budgets it holds. It is optional: a
// store without it fails as one. Node names are the store's own (its nodes'
// addresses), a closed set never taken from a key.
type RateLimitNodes interface {
	// Nodes are the nodes that hold budgets now.
	Nodes(ctx context.Context) ([]string, error)
	// NodeOf is the node that holds key's budget; "" when that is not
	// known.
	NodeOf(ctx context.Context, key string) string
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
