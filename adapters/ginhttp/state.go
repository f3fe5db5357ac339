package ginhttp

import (
	"context"
	"net/netip"

	"github.com/gin-gonic/gin"

	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
)

// The application is handed c.Request.Context() (this state), never the
// *gin.Context: gin reuses that for the next request once the handler
// returns, and a timer the application derives from it (the rate-limit
// store's timeout) may fire after that.

// requestState is what the middleware and the handlers note about one
// request for its log line and its metrics: the request's context itself,
// made once per request by the frame, instead of an entry each in gin's
// keys (a map, and a boxed value per entry).
type requestState struct {
	context.Context
	// info is the request's id and, once verified, its caller, for the
	// application; Context carries a pointer to it (application.WithRequestInfo).
	info application.RequestInfo
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

// stateOf is the request's state, never nil. The frame makes the state
// the request's context itself, and nothing replaces that context after
// it; outside the public router's frame (the admin listener) notes go to
// a scratch value nobody reads.
func stateOf(c *gin.Context) *requestState {
	if c.Request != nil {
		if s, ok := c.Request.Context().(*requestState); ok {
			return s
		}
	}
	return &requestState{}
}

// setIdentity records the verified caller in the request's RequestInfo, where
// the handlers, the log line and the application (through the context)
// find it: no new context, no copy of the request.
func setIdentity(c *gin.Context, id application.Identity) {
	stateOf(c).info.SetIdentity(id)
}

func clientAddr(c *gin.Context) netip.Addr   { return stateOf(c).addr }
func kindOf(c *gin.Context) domain.GrantKind { return stateOf(c).kind }
