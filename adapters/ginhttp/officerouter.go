package ginhttp

import (
	"net/http"

	"github.com/gatepass/gatepass/domain"
	"github.com/gatepass/gatepass/foundation/jsonappend"
)

// RouteOfficeAccess is the office-router grant's endpoint.
const RouteOfficeAccess = "/api/v1/cloudflare/request-access"

// AudienceOfficeRouter names the office-router in the token exchange; it
// takes no scope.
const AudienceOfficeRouter = "office-router"

// The office-router's endpoint and audience.
var _ = registerGrants(grantRegistration{
	routes: []grantRoute{{path: RouteOfficeAccess, kind: domain.GrantOffice,
		handle: issueRegistered(domain.GrantOffice, 0, toOfficeRequest, http.StatusOK,
			func(g domain.OfficeGrant) (domain.Grant, string) { return g.Grant, "" }, appendOfficeGrant)}},
	audience: AudienceOfficeRouter,
	exchange: noScope(AudienceOfficeRouter, exchangeRegistered(domain.GrantOffice, domain.OfficeRequest{},
		func(g domain.OfficeGrant) exchanged { return exchanged{grant: g.Grant, url: g.URL} })),
})

type officeAccessRequest struct {
	OrgID *string `json:"orgId"`
}

func toOfficeRequest(body officeAccessRequest) domain.OfficeRequest {
	var req domain.OfficeRequest
	if body.OrgID != nil {
		req.OrgID = *body.OrgID
	}
	return req
}

func appendOfficeGrant(b []byte, g domain.OfficeGrant) []byte {
	b = append(b, `{"url":`...)
	b = jsonappend.String(b, g.URL)
	b = append(b, `,"token":`...)
	b = jsonappend.String(b, g.Token)
	b = append(b, `,"tokenType":"Bearer"`...)
	return appendGrantTail(b, g.Grant)
}
