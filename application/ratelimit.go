package application

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync/atomic"
	"time"

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
	// FailureMode says what happens while the shared store fails: open
	// falls back to budgets kept in this replica, closed refuses.
	FailureMode FailureMode
	// StoreTimeout bounds each call to the store; a store that does not
	// answer in time has failed. Zero means DefaultStoreTimeout.
	StoreTimeout time.Duration
	// Grants are the per-user budgets of each grant kind; a kind without
	// one is not limited.
	Grants map[domain.GrantKind]domain.Limit
	// AuthFailures is per client address, counted on failed
	// authentications only, so honest users behind one address are never
	// limited by it.
	AuthFailures domain.Limit
	// Store names the store in readiness details ("redis", "memory").
	Store string
	// IPv6Prefix is how many leading bits of an IPv6 address name one
	// client for AuthFailures: a host holds a whole /64 as easily as one
	// address. Zero means DefaultIPv6Prefix.
	IPv6Prefix int
}

// Defaults of RateLimitPolicy.
const (
	DefaultStoreTimeout = 100 * time.Millisecond
	DefaultIPv6Prefix   = 64
)

// storeRetry is how long the shared store is left alone after it failed:
// requests meanwhile go to the fallback (or are refused) at once, so a hung
// store costs one request a timeout per interval, not every request.
const storeRetry = time.Second

// readinessScope keeps the readiness probe's key apart from callers'.
const readinessScope domain.LimitScope = "readiness"

// Budgets spends callers' budgets under a RateLimitPolicy. Its methods say
// what is being limited; with limits off it is backed by a limiter that
// allows everything. It remembers how the shared store has been answering,
// for readiness.
type Budgets struct {
	store  domain.RateLimiter
	local  domain.RateLimiter
	policy RateLimitPolicy
	now    func() time.Time
	// off is true when limits are off: nothing is counted at all.
	off bool

	// failedAt and okAt are the Unix nanoseconds of the store's latest
	// failure and success.
	failedAt atomic.Int64
	okAt     atomic.Int64
}

// NewBudgets enforces policy with store, the limiter shared by every
// replica. local keeps budgets in this replica while store fails and the
// policy fails open; nil when store cannot fail (an in-memory store). A nil
// store, or a policy with limits off, allows everything.
func NewBudgets(store, local domain.RateLimiter, policy RateLimitPolicy) *Budgets {
	off := store == nil || !policy.Enabled
	if off {
		store, local = unlimited{}, nil
	}
	if policy.StoreTimeout <= 0 {
		policy.StoreTimeout = DefaultStoreTimeout
	}
	if policy.Store == "" {
		policy.Store = "store"
	}
	if policy.IPv6Prefix <= 0 {
		policy.IPv6Prefix = DefaultIPv6Prefix
	}
	return &Budgets{store: store, local: local, policy: policy, now: time.Now, off: off}
}

// Unlimited is Budgets that allow everything.
func Unlimited() *Budgets { return NewBudgets(nil, nil, RateLimitPolicy{}) }

// SpendGrant takes one grant of kind from the user's budget.
func (b *Budgets) SpendGrant(ctx context.Context, kind domain.GrantKind, userID string) error {
	limit, ok := b.policy.Grants[kind]
	if !ok || b.off {
		return nil
	}
	limit.Scope = domain.LimitScopeOf(kind)
	return b.spend(ctx, limitKey(limit, userID), limit)
}

// SpendFailure counts one failed authentication against a client address:
// IPv4-mapped IPv6 addresses count as the IPv4 address, IPv6 addresses by
// their policy prefix. An invalid address (no client address known) is not
// counted.
func (b *Budgets) SpendFailure(ctx context.Context, client netip.Addr) error {
	if !client.IsValid() || b.off {
		return nil
	}
	limit := b.policy.AuthFailures
	limit.Scope = domain.LimitAuthFailure
	return b.spend(ctx, limitKey(limit, b.AddressKey(client)), limit)
}

// AddressKey is the name of the budget client spends: the IPv4 address, or
// the IPv6 prefix that holds it.
func (b *Budgets) AddressKey(client netip.Addr) string {
	client = client.Unmap().WithZone("")
	if client.Is4() {
		return client.String()
	}
	p, err := client.Prefix(b.policy.IPv6Prefix)
	if err != nil {
		return client.String()
	}
	return p.String()
}

// limitKey is where the store keeps subject's count in limit's budget.
func limitKey(limit domain.Limit, subject string) string {
	return string(limit.Scope) + ":" + subject
}

// spend asks the store, within the policy's timeout, and falls back or
// refuses as the policy says when the store fails.
func (b *Budgets) spend(ctx context.Context, key string, limit domain.Limit) error {
	d, err := b.allowInStore(ctx, key, limit)
	if err != nil && errors.Is(err, domain.ErrLimiterUnavailable) && b.policy.FailureMode == FailOpen {
		if b.local == nil {
			return nil
		}
		d, err = b.local.Allow(ctx, key, limit)
	}
	switch {
	case err != nil:
		return fmt.Errorf("rate limit %s: %w", limit.Scope, err)
	case d.Allowed:
		return nil
	default:
		return &domain.RateLimitedError{RetryAfter: d.RetryAfter}
	}
}

// allowInStore is one bounded call to the shared store, skipped while the
// store is left alone after a failure.
func (b *Budgets) allowInStore(ctx context.Context, key string, limit domain.Limit) (domain.Decision, error) {
	now := b.now().UnixNano()
	if failed := b.failedAt.Load(); failed > b.okAt.Load() && now-failed < int64(storeRetry) {
		return domain.Decision{}, fmt.Errorf("%w: store failed %s ago", domain.ErrLimiterUnavailable, time.Duration(now-failed).Round(time.Millisecond))
	}
	return b.callStore(ctx, key, limit)
}

func (b *Budgets) callStore(ctx context.Context, key string, limit domain.Limit) (domain.Decision, error) {
	cctx, cancel := context.WithTimeout(ctx, b.policy.StoreTimeout)
	d, err := b.store.Allow(cctx, key, limit)
	cancel()
	switch {
	case err == nil:
		b.okAt.Store(b.now().UnixNano())
	case errors.Is(err, domain.ErrLimiterUnavailable):
		b.failedAt.Store(b.now().UnixNano())
	case cctx.Err() != nil && ctx.Err() == nil:
		// A store that ignores its deadline's error type still timed out.
		b.failedAt.Store(b.now().UnixNano())
		err = fmt.Errorf("%w: %w", domain.ErrLimiterUnavailable, err)
	}
	return d, err
}

// Ready is the rate limiter's readiness check. It spends one event of a
// budget of its own in the shared store, as a request would (a PING passes
// on a store that refuses writes), and reports the store failing if that
// fails or if requests met a failure since the store last answered. Failing
// open, a failing store leaves the replica ready, on budgets of its own
// ("degraded"); failing closed, it is not ready.
func (b *Budgets) Ready(ctx context.Context) (string, error) {
	if _, off := b.store.(unlimited); off {
		return "rate limits off", nil
	}
	probe := domain.Limit{Scope: readinessScope, Rate: 1_000_000, Period: time.Second, Burst: 1_000_000}
	_, err := b.callStore(ctx, limitKey(probe, "probe"), probe)
	if err == nil && b.failedAt.Load() <= b.okAt.Load() {
		return b.policy.Store, nil
	}
	if b.policy.FailureMode == FailOpen {
		if b.local == nil {
			return "degraded: " + b.policy.Store + " failing, failing open without limits", nil
		}
		return "degraded: " + b.policy.Store + " failing, failing open with budgets kept per replica", nil
	}
	return "", errors.New(b.policy.Store + " failing, failing closed")
}

// unlimited is the limiter of disabled limits: every event is allowed.
type unlimited struct{}

func (unlimited) Allow(context.Context, string, domain.Limit) (domain.Decision, error) {
	return domain.Decision{Allowed: true}, nil
}
