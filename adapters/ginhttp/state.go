package ginhttp

import (
	"context"
	"net/netip"

	"github.com/gin-gonic/gin"

	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
)

// requestState is what the middleware and the handlers note about one
// request for its log line and its metrics: one value in the request's
// context, made once per request, instead of an entry each in gin's keys
// (a map, and a boxed value per entry).
type requestState struct {
	context.Context
	// scope is the request's id and, once verified, its caller, for the
	// application; Context carries a pointer to it (application.WithScope).
	scope application.Scope
	// addr is the client address, found once (ClientAddr).
	addr netip.Addr
	// kind is the grant kind of the route.
	kind domain.GrantKind
	// grantID and target name an issued grant (a room or a channel).
	grantID, target string
	// reason and claim say why a 401 or 403 was answered.
	reason, claim string
	// headers back the header values written straight into the map, one
	// slot each (see header).
	headers [headerSlots]string
}

// Slots of requestState.headers.
const (
	slotRequestID = iota
	slotNosniff
	slotReferrer
	slotNoStore
	slotNoCache
	slotContentType
	headerSlots
)

// header is a header value v for the response's map, backed by slot i of
// the state: no allocation of its own, and capped at its length, so a
// later Add (CORS adds Vary, for one) copies rather than writes over the
// next slot.
func (s *requestState) header(i int, v string) []string {
	s.headers[i] = v
	return s.headers[i : i+1 : i+1]
}

type stateKey struct{}

// Value answers the state for stateKey, and defers every other key.
func (s *requestState) Value(key any) any {
	if key == (stateKey{}) {
		return s
	}
	return s.Context.Value(key)
}

// stateOf is the request's state, never nil: outside the public router's
// chain (the admin listener) notes go to a scratch value nobody reads.
func stateOf(c *gin.Context) *requestState {
	if c.Request != nil {
		ctx := c.Request.Context()
		// The frame makes the state the request's context itself.
		if s, ok := ctx.(*requestState); ok {
			return s
		}
		if s, ok := ctx.Value(stateKey{}).(*requestState); ok {
			return s
		}
	}
	return &requestState{}
}

// setIdentity puts the verified caller in the request's context: in the
// scope of the state the frame made, with no new context or copy of the
// request; or, outside the frame, in a context of its own.
func setIdentity(c *gin.Context, id application.Identity) {
	if s, ok := c.Request.Context().(*requestState); ok {
		s.scope.SetIdentity(id)
		return
	}
	c.Request = c.Request.WithContext(application.WithIdentity(c.Request.Context(), id))
}

func clientAddr(c *gin.Context) netip.Addr   { return stateOf(c).addr }
func kindOf(c *gin.Context) domain.GrantKind { return stateOf(c).kind }
