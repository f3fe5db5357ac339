package ginhttp

import (
	"net/http"

	"github.com/gatepass/gatepass/domain"
	"github.com/gatepass/gatepass/foundation/jsonappend"
)

// RouteNATSToken is the NATS user JWT endpoint.
const RouteNATSToken = "/api/v1/nats/token"

// AudienceNATS names NATS in the token exchange; it takes no scope and
// answers a bearer user JWT.
const AudienceNATS = "nats"

var problemInvalidUserKey = newProblem(http.StatusBadRequest, "invalid_user_key", "Bad Request",
	"user_public_key must be a NATS user public key (U...), or left out for a bearer JWT.")

// NATS's endpoint, audience and problem.
var _ = registerGrants(grantRegistration{
	routes: []grantRoute{{path: RouteNATSToken, kind: domain.GrantNATS,
		handle: issueRegistered(domain.GrantNATS, 0, toNATSRequest, http.StatusCreated,
			func(g domain.NATSGrant) (domain.Grant, string) { return g.Grant, "" }, appendNATSGrant)}},
	audience: AudienceNATS,
	exchange: noScope(AudienceNATS, exchangeRegistered(domain.GrantNATS, domain.NATSRequest{}, func(g domain.NATSGrant) exchanged {
		return exchanged{grant: g.Grant, serverURL: g.ServerURL,
			extra: map[string]any{"servers": g.Servers, "inbox_prefix": g.InboxPrefix}}
	})),
	problems: []kindProblem{{err: domain.ErrInvalidUserKey, problem: problemInvalidUserKey}},
})

type natsRequest struct {
	UserPublicKey *string `json:"user_public_key"`
}

// toNATSRequest keeps a user_public_key given empty as a key to check:
// only its absence asks for a bearer JWT.
func toNATSRequest(b natsRequest) domain.NATSRequest {
	if b.UserPublicKey == nil {
		return domain.NATSRequest{}
	}
	if *b.UserPublicKey == "" {
		// Not a key; the key check refuses it as any other.
		return domain.NATSRequest{UserPublicKey: " "}
	}
	return domain.NATSRequest{UserPublicKey: *b.UserPublicKey}
}

func appendNATSGrant(b []byte, g domain.NATSGrant) []byte {
	b = append(b, `{"server_url":`...)
	b = jsonappend.String(b, g.ServerURL)
	b = append(b, `,"servers":[`...)
	for i, s := range g.Servers {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonappend.String(b, s)
	}
	b = append(b, `],"user_jwt":`...)
	b = jsonappend.String(b, g.Token)
	b = append(b, `,"inbox_prefix":`...)
	b = jsonappend.String(b, g.InboxPrefix)
	return appendGrantTail(b, g.Grant)
}
