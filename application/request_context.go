package application

import (
	"context"
	"time"

	"github.com/gatepass/gatepass/domain"
)

// The request's own values travel in its context.Context, so every layer
// and every log line written with that context can name them.
type (
	requestIDKey struct{}
	identityKey  struct{}
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

// WithIdentity returns ctx carrying the verified caller and when its
// identity expires, in one value.
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, &id)
}

// PrincipalFrom is the verified caller ctx carries, and whether it carries
// one.
func PrincipalFrom(ctx context.Context) (domain.Principal, bool) {
	id, ok := ctx.Value(identityKey{}).(*Identity)
	if !ok {
		return domain.Principal{}, false
	}
	return id.Principal, true
}

// IdentityExpiryFrom is when the caller's identity expires, as ctx
// carries it; the zero time when unknown.
func IdentityExpiryFrom(ctx context.Context) time.Time {
	if id, ok := ctx.Value(identityKey{}).(*Identity); ok {
		return id.ExpiresAt
	}
	return time.Time{}
}
