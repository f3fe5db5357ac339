package application

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatepass/gatepass/domain"
)

// RateLimitPolicy is how callers' budgets are enforced.
type RateLimitPolicy struct {
	// Enabled turns every limit on or off (benchmarks turn them off).
	Enabled bool
	// FailOpen serves when the limiter's store is unreachable; otherwise
	// such requests fail with ErrLimiterUnavailable.
	FailOpen bool
	// Office and Realtime are per verified user and endpoint.
	Office   domain.Limit
	Realtime domain.Limit
	// AuthFailures is per client address, counted on failed
	// authentications only, so honest users behind one address are never
	// limited by it.
	AuthFailures domain.Limit
}

// Keys of the limiter's budgets.
const (
	limitKeyOffice      = "office:"
	limitKeyRealtime    = "realtime:"
	limitKeyAuthFailure = "authfail:"
)

// spend takes one event from key's budget. It returns a
// *domain.RateLimitedError when the budget is spent, and lets the event
// through when the store is unreachable and the policy fails open.
func (p RateLimitPolicy) spend(ctx context.Context, limiter domain.RateLimiter, key string, limit domain.Limit) error {
	if !p.Enabled || limiter == nil {
		return nil
	}
	d, err := limiter.Allow(ctx, key, limit)
	return p.decide(key, d, err)
}

// check is spend without spending: it refuses when key's budget is spent.
func (p RateLimitPolicy) check(ctx context.Context, limiter domain.RateLimiter, key string, limit domain.Limit) error {
	if !p.Enabled || limiter == nil {
		return nil
	}
	d, err := limiter.Peek(ctx, key, limit)
	return p.decide(key, d, err)
}

func (p RateLimitPolicy) decide(key string, d domain.Decision, err error) error {
	switch {
	case err == nil && d.Allowed:
		return nil
	case err == nil:
		return &domain.RateLimitedError{RetryAfter: d.RetryAfter}
	case errors.Is(err, domain.ErrLimiterUnavailable) && p.FailOpen:
		return nil
	case errors.Is(err, domain.ErrLimiterUnavailable):
		return fmt.Errorf("rate limit: %w", err)
	default:
		return fmt.Errorf("rate limit %s: %w", key, err)
	}
}
