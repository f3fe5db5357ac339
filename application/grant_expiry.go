package application

import (
	"errors"
	"fmt"
	"time"

	"github.com/gatepass/gatepass/domain"
)

// GrantExpiryBound says whether a grant may outlive the identity token it
// was issued for.
type GrantExpiryBound string

// The grant expiry bounds.
const (
	// ExpiryBoundNone gives every grant the policy's TTL: a grant may
	// outlive the identity by up to its TTL.
	ExpiryBoundNone GrantExpiryBound = "none"
	// ExpiryBoundIdentity caps every grant's expiry at the identity's, and
	// refuses an identity with less than MinIdentityLeft left.
	ExpiryBoundIdentity GrantExpiryBound = "identity"
)

// MinIdentityLeft is the least time an identity must have left to be
// given a grant under ExpiryBoundIdentity: a shorter grant is of no use to
// a client that must connect with it.
const MinIdentityLeft = 5 * time.Second

var (
	// ErrUnknownExpiryBound means a bound is neither none nor identity.
	ErrUnknownExpiryBound = errors.New("grant expiry bound must be none or identity")
	// ErrIdentityExpiryUnknown means grants must be bound by the identity's
	// expiry but the identity verifier did not tell it.
	ErrIdentityExpiryUnknown = errors.New("identity expiry unknown")
)

// UnmarshalText accepts "none" or "identity".
func (b *GrantExpiryBound) UnmarshalText(text []byte) error {
	switch v := GrantExpiryBound(text); v {
	case ExpiryBoundNone, ExpiryBoundIdentity:
		*b = v
		return nil
	default:
		return ErrUnknownExpiryBound
	}
}

// String returns the bound's name.
func (b GrantExpiryBound) String() string { return string(b) }

// boundedTTL is the lifetime of a grant issued at now under bound: ttl, or
// less so that it expires no later than the identity. The grant's issue
// time is now in whole seconds, as the claims keep it.
func boundedTTL(bound GrantExpiryBound, ttl time.Duration, now, identityExpiresAt time.Time) (time.Duration, error) {
	if bound != ExpiryBoundIdentity {
		return ttl, nil
	}
	if identityExpiresAt.IsZero() {
		return 0, ErrIdentityExpiryUnknown
	}
	if left := identityExpiresAt.Sub(now); left < MinIdentityLeft {
		return 0, fmt.Errorf("%w: the identity token has less than %s left", &domain.CredentialError{Reason: domain.ReasonExpired, Claim: "exp"}, MinIdentityLeft)
	}
	return min(ttl, identityExpiresAt.Sub(now.Truncate(time.Second))), nil
}

// issueWindow is when a grant is issued and for how long: now and the
// policy's ttl, bounded by the identity's expiry under
// ExpiryBoundIdentity. An identity too close to its expiry is refused.
func issueWindow(clock domain.Clock, bound GrantExpiryBound, ttl time.Duration, identityExpiresAt time.Time) (time.Time, time.Duration, error) {
	now := clock.Now()
	ttl, err := boundedTTL(bound, ttl, now, identityExpiresAt)
	return now, ttl, err
}
