package domain

import (
	"context"
	"time"
)

//go:generate go tool mockgen -typed -destination=mocks/ports.go -package=mocks . OfficeSigner,RealtimeSigner,IdentityVerifier,ExpiringIdentityVerifier,Clock,IDSource,RateLimiter,RateLimitNodes,KeySet

// OfficeSigner signs office-router claims into a compact JWS.
type OfficeSigner interface {
	SignOffice(ctx context.Context, c OfficeClaims) (string, error)
}

// RealtimeSigner signs Supabase Realtime claims into a compact JWS.
type RealtimeSigner interface {
	SignRealtime(ctx context.Context, c RealtimeClaims) (string, error)
}

// IdentityVerifier verifies a caller's bearer token and returns who it is.
// Any failure wraps ErrInvalidCredentials.
type IdentityVerifier interface {
	VerifyIdentity(ctx context.Context, bearer string) (Principal, error)
}

// ExpiringIdentityVerifier is an IdentityVerifier that also tells when the
// verified identity expires (its token's exp), so that grants can be bound
// by it. It is optional: the application asks for it only when grants must
// not outlive the identity.
type ExpiringIdentityVerifier interface {
	VerifyIdentityUntil(ctx context.Context, bearer string) (Principal, time.Time, error)
}

// Clock tells the time; tests inject a fixed one.
type Clock interface {
	Now() time.Time
}

// Timer waits: the system's timers, or a test's fake clock advanced by
// hand.
type Timer interface {
	// After delivers the time once d has passed.
	After(d time.Duration) <-chan time.Time
}

// SignatureMeter meters signatures, every grant kind's alike: the
// application wraps each kind's signer in it, so that no kind goes
// unmetered and no kind meters itself.
type SignatureMeter interface {
	// MeterSignatures is the meter of kind's signatures, asked once per
	// kind; it is told how long each signature took and its error.
	MeterSignatures(kind GrantKind) func(took time.Duration, err error)
}

// IDSource makes unique, unguessable token ids.
type IDSource interface {
	NewID() (string, error)
}
