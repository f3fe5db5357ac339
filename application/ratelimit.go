package application

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatepass/gatepass/domain"
)

// FailureMode is what a request meets when the rate-limit store cannot be
// reached.
type FailureMode string

// The failure modes.
const (
	// FailOpen serves the request, unlimited, while the store is down.
	FailOpen FailureMode = "open"
	// FailClosed refuses the request with ErrLimiterUnavailable.
	FailClosed FailureMode = "closed"
)

// ErrUnknownFailureMode means a failure mode is neither open nor closed.
var ErrUnknownFailureMode = errors.New("failure mode must be open or closed")

// UnmarshalText accepts "open" or "closed".
func (m *FailureMode) UnmarshalText(text []byte) error {
	switch v := FailureMode(text); v {
	case FailOpen, FailClosed:
		*m = v
		return nil
	default:
		return ErrUnknownFailureMode
	}
}

// String returns the mode's name.
func (m FailureMode) String() string { return string(m) }

// RateLimitPolicy is how callers' budgets are enforced.
type RateLimitPolicy struct {
	// Enabled turns every limit on or off (benchmarks turn them off).
	Enabled bool
	// FailureMode says what happens while the store is unreachable.
	FailureMode FailureMode
	// Grants are the per-user budgets of each grant kind; a kind without
	// one is not limited.
	Grants map[domain.GrantKind]domain.Limit
	// AuthFailures is per client address, counted on failed
	// authentications only, so honest users behind one address are never
	// limited by it.
	AuthFailures domain.Limit
}

// Budgets spends and checks callers' budgets under a RateLimitPolicy. Its
// methods say what is being limited; with limits off it is backed by a
// limiter that allows everything.
type Budgets struct {
	limiter domain.RateLimiter
	policy  RateLimitPolicy
}

// NewBudgets enforces policy with limiter. A nil limiter, or a policy with
// limits off, allows everything.
func NewBudgets(limiter domain.RateLimiter, policy RateLimitPolicy) *Budgets {
	if limiter == nil || !policy.Enabled {
		limiter = unlimited{}
	}
	return &Budgets{limiter: limiter, policy: policy}
}

// Unlimited is Budgets that allow everything.
func Unlimited() *Budgets { return NewBudgets(nil, RateLimitPolicy{}) }

// SpendGrant takes one grant of kind from the user's budget.
func (b *Budgets) SpendGrant(ctx context.Context, kind domain.GrantKind, userID string) error {
	limit, ok := b.policy.Grants[kind]
	if !ok {
		return nil
	}
	limit.Scope = domain.LimitScopeOf(kind)
	d, err := b.limiter.Allow(ctx, limitKey(limit, userID), limit)
	return b.decide(limit, d, err)
}

// RefuseSpentAddress refuses a client address that has spent its budget of
// failed authentications, spending nothing.
func (b *Budgets) RefuseSpentAddress(ctx context.Context, clientIP string) error {
	if clientIP == "" {
		return nil
	}
	limit := b.authFailures()
	d, err := b.limiter.Peek(ctx, limitKey(limit, clientIP), limit)
	return b.decide(limit, d, err)
}

// SpendFailure counts one failed authentication against a client address.
func (b *Budgets) SpendFailure(ctx context.Context, clientIP string) error {
	if clientIP == "" {
		return nil
	}
	limit := b.authFailures()
	d, err := b.limiter.Allow(ctx, limitKey(limit, clientIP), limit)
	return b.decide(limit, d, err)
}

func (b *Budgets) authFailures() domain.Limit {
	l := b.policy.AuthFailures
	l.Scope = domain.LimitAuthFailure
	return l
}

// limitKey is where the store keeps subject's count in limit's budget.
func limitKey(limit domain.Limit, subject string) string {
	return string(limit.Scope) + ":" + subject
}

// decide turns a limiter's answer into nil, a *domain.RateLimitedError, or
// ErrLimiterUnavailable when the store is unreachable and the policy fails
// closed.
func (b *Budgets) decide(limit domain.Limit, d domain.Decision, err error) error {
	switch {
	case err == nil && d.Allowed:
		return nil
	case err == nil:
		return &domain.RateLimitedError{RetryAfter: d.RetryAfter}
	case errors.Is(err, domain.ErrLimiterUnavailable) && b.policy.FailureMode == FailOpen:
		return nil
	default:
		return fmt.Errorf("rate limit %s: %w", limit.Scope, err)
	}
}

// unlimited is the limiter of disabled limits: every event is allowed.
type unlimited struct{}

func (unlimited) Allow(context.Context, string, domain.Limit) (domain.Decision, error) {
	return domain.Decision{Allowed: true}, nil
}

func (unlimited) Peek(context.Context, string, domain.Limit) (domain.Decision, error) {
	return domain.Decision{Allowed: true}, nil
}
