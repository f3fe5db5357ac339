package application

import (
	"context"
	"time"

	"github.com/gatepass/gatepass/domain"
)

// The request's own values travel in its context.Context, so every layer
// and every log line written with that context can name them.
type (
	requestIDKey      struct{}
	principalKey      struct{}
	identityExpiryKey struct{}
)

// WithRequestID returns ctx carrying the request id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID is the request id ctx carries, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// WithPrincipal returns ctx carrying the verified caller.
func WithPrincipal(ctx context.Context, p domain.Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom is the verified caller ctx carries, and whether it carries
// one.
func PrincipalFrom(ctx context.Context) (domain.Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(domain.Principal)
	return p, ok
}

// WithIdentityExpiry returns ctx carrying when the caller's identity
// expires.
func WithIdentityExpiry(ctx context.Context, t time.Time) context.Context {
	return context.WithValue(ctx, identityExpiryKey{}, t)
}

// IdentityExpiryFrom is when the caller's identity expires, as ctx
// carries it; the zero time when unknown.
func IdentityExpiryFrom(ctx context.Context) time.Time {
	t, _ := ctx.Value(identityExpiryKey{}).(time.Time)
	return t
}
