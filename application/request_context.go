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
	scopeKey     struct{}
)

// Scope is what one request carries for the application: its id and, once
// the caller is verified, the caller. An inbound adapter that keeps one
// per request puts it in the request's context once (WithScope) and fills
// it in as the request goes, instead of deriving a context (and, with
// net/http, a copy of the request) for each value. RequestID,
// PrincipalFrom and IdentityExpiryFrom read it first. Only the request's
// own goroutine may change it.
type Scope struct {
	// RequestID is the request's id ("" for none).
	RequestID string
	identity  Identity
	verified  bool
}

// SetIdentity records the verified caller.
func (s *Scope) SetIdentity(id Identity) { s.identity, s.verified = id, true }

// Identity is the verified caller, and whether one was recorded.
func (s *Scope) Identity() (Identity, bool) { return s.identity, s.verified }

// WithScope returns ctx carrying s.
func WithScope(ctx context.Context, s *Scope) context.Context {
	return context.WithValue(ctx, scopeKey{}, s)
}

func scopeOf(ctx context.Context) *Scope {
	s, _ := ctx.Value(scopeKey{}).(*Scope)
	return s
}

// WithRequestID returns ctx carrying the request id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID is the request id ctx carries, or "".
func RequestID(ctx context.Context) string {
	if s := scopeOf(ctx); s != nil && s.RequestID != "" {
		return s.RequestID
	}
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
	if s := scopeOf(ctx); s != nil && s.verified {
		return s.identity.Principal, true
	}
	id, ok := ctx.Value(identityKey{}).(*Identity)
	if !ok {
		return domain.Principal{}, false
	}
	return id.Principal, true
}

// IdentityExpiryFrom is when the caller's identity expires, as ctx
// carries it; the zero time when unknown.
func IdentityExpiryFrom(ctx context.Context) time.Time {
	if s := scopeOf(ctx); s != nil && s.verified {
		return s.identity.ExpiresAt
	}
	if id, ok := ctx.Value(identityKey{}).(*Identity); ok {
		return id.ExpiresAt
	}
	return time.Time{}
}
