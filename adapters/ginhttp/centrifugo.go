package ginhttp

import (
	"net/http"

	"github.com/gatepass/gatepass/domain"
	"github.com/gatepass/gatepass/foundation/jsonappend"
)

// Routes of the Centrifugo grant endpoints.
const (
	RouteCentrifugoConnectionToken   = "/api/v1/centrifugo/connection-token"
	RouteCentrifugoSubscriptionToken = "/api/v1/centrifugo/subscription-token"
)

// AudienceCentrifugo names Centrifugo in the token exchange: no scope
// asks for a connection token, channel:<channel> for a subscription
// token.
const AudienceCentrifugo = "centrifugo"

// Centrifugo's problems.
var (
	problemChannelNotAllowed = newProblem(http.StatusForbidden, "channel_not_allowed", "Forbidden",
		"The policy does not allow the caller this channel.")
	problemInvalidChannel = newProblem(http.StatusBadRequest, "invalid_channel", "Bad Request",
		"channel is required: at most 255 bytes, without white space or control characters.")
)

// Centrifugo's endpoints, audience and problems.
var _ = registerGrants(grantRegistration{
	routes: []grantRoute{
		{path: RouteCentrifugoConnectionToken, kind: domain.GrantCentrifugoConnection,
			handle: issueRegistered(domain.GrantCentrifugoConnection, 0, func(struct{}) struct{} { return struct{}{} }, http.StatusOK,
				func(g domain.CentrifugoGrant) (domain.Grant, string) { return g.Grant, "" }, appendCentrifugoGrant)},
		{path: RouteCentrifugoSubscriptionToken, kind: domain.GrantCentrifugoSubscription,
			handle: issueRegistered(domain.GrantCentrifugoSubscription, 0, toCentrifugoSubscriptionRequest, http.StatusOK,
				func(g domain.CentrifugoGrant) (domain.Grant, string) { return g.Grant, g.Channel }, appendCentrifugoGrant)},
	},
	audience: AudienceCentrifugo,
	exchange: centrifugoScope,
	problems: []kindProblem{
		{err: domain.ErrChannelNotAllowed, problem: problemChannelNotAllowed},
		{err: domain.ErrInvalidChannel, problem: problemInvalidChannel},
	},
})

// centrifugoScope reads the exchange's scope: none, or channel:<channel>.
func centrifugoScope(scope []string) (exchangeTarget, *oauthError) {
	if len(scope) == 0 {
		return exchangeRegistered(domain.GrantCentrifugoConnection, struct{}{}, func(g domain.CentrifugoGrant) exchanged {
			return exchanged{grant: g.Grant, url: g.URL}
		}), nil
	}
	channel, ok := scopeValue(scope, "channel:")
	if !ok {
		return exchangeTarget{}, badRequest("invalid_scope", "The audience centrifugo takes no scope, or channel:<channel>.")
	}
	if err := domain.ValidateChannel(channel); err != nil {
		return exchangeTarget{}, badRequest("invalid_scope", "The channel must be at most 255 bytes without white space or control characters.")
	}
	t := exchangeRegistered(domain.GrantCentrifugoSubscription, domain.CentrifugoSubscriptionRequest{Channel: channel},
		func(g domain.CentrifugoGrant) exchanged { return exchanged{grant: g.Grant, target: g.Channel} })
	t.target = channel
	return t, nil
}

type centrifugoSubscriptionRequest struct {
	Channel string `json:"channel"`
}

func toCentrifugoSubscriptionRequest(b centrifugoSubscriptionRequest) domain.CentrifugoSubscriptionRequest {
	return domain.CentrifugoSubscriptionRequest{Channel: b.Channel}
}

func appendCentrifugoGrant(b []byte, g domain.CentrifugoGrant) []byte {
	b = append(b, '{')
	if g.URL != "" {
		b = append(b, `"url":`...)
		b = jsonappend.String(b, g.URL)
		b = append(b, ',')
	}
	b = append(b, `"token":`...)
	b = jsonappend.String(b, g.Token)
	b = append(b, `,"tokenType":"Bearer"`...)
	return appendGrantTail(b, g.Grant)
}
