package application

import "context"

// The request's own values travel in its context.Context, so every layer
// and every log line written with that context can name them. They live
// in one value, a RequestInfo: one lookup finds them all, and the innermost
// one is the one that counts.
type requestInfoKey struct{}

// RequestInfo is what one request carries for the application: its id and, once
// the caller is verified, the caller. An inbound adapter that keeps one
// per request puts it in the request's context once (WithRequestInfo) and fills
// it in as the request goes, instead of deriving a context (and, with
// net/http, a copy of the request) for each value; every context derived
// from that one sees what is filled in later. Only the request's own
// goroutine may change it.
type RequestInfo struct {
	// RequestID is the request's id ("" for none).
	RequestID string
	identity  Identity
	verified  bool
}

// SetIdentity records the verified caller.
func (s *RequestInfo) SetIdentity(id Identity) { s.identity, s.verified = id, true }

// Identity is the verified caller, and whether one was recorded.
func (s *RequestInfo) Identity() (Identity, bool) { return s.identity, s.verified }

// WithRequestInfo returns ctx carrying s, which hides any RequestInfo ctx carried.
func WithRequestInfo(ctx context.Context, s *RequestInfo) context.Context {
	return context.WithValue(ctx, requestInfoKey{}, s)
}

func requestInfoOf(ctx context.Context) *RequestInfo {
	s, _ := ctx.Value(requestInfoKey{}).(*RequestInfo)
	return s
}

// RequestID is the request id ctx carries, or "".
func RequestID(ctx context.Context) string {
	if s := requestInfoOf(ctx); s != nil {
		return s.RequestID
	}
	return ""
}
