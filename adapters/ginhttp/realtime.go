package ginhttp

import (
	"net/http"

	"github.com/gatepass/gatepass/domain"
	"github.com/gatepass/gatepass/foundation/jsonappend"
)

// RouteRealtimeToken is the Supabase Realtime token's endpoint.
const RouteRealtimeToken = "/api/v1/realtime/token"

// AudienceSupabaseRealtime names Supabase Realtime in the token exchange;
// it takes no scope.
const AudienceSupabaseRealtime = "supabase-realtime"

// Supabase Realtime's endpoint and audience.
var _ = registerGrants(grantRegistration{
	routes: []grantRoute{{path: RouteRealtimeToken, kind: domain.GrantRealtime,
		handle: issueRegistered(domain.GrantRealtime, 0, toRealtimeRequest, http.StatusOK,
			func(g domain.Grant) (domain.Grant, string) { return g, "" }, appendRealtimeGrant)}},
	audience: AudienceSupabaseRealtime,
	exchange: noScope(AudienceSupabaseRealtime, exchangeRegistered(domain.GrantRealtime, struct{}{},
		func(g domain.Grant) exchanged { return exchanged{grant: g} })),
})

// realtimeTokenRequest is the endpoint's body: an empty object, or none.
type realtimeTokenRequest struct{}

func toRealtimeRequest(realtimeTokenRequest) struct{} { return struct{}{} }

func appendRealtimeGrant(b []byte, g domain.Grant) []byte {
	b = append(b, `{"token":`...)
	b = jsonappend.String(b, g.Token)
	b = append(b, `,"tokenType":"Bearer"`...)
	return appendGrantTail(b, g)
}
