package application

import (
	"github.com/gatepass/gatepass/domain"
)

// CentrifugoSubscriptionRequest is what a caller asks of a Centrifugo
// subscription token: the one channel it subscribes to.
type CentrifugoSubscriptionRequest struct {
	Channel string
}

// IssueCentrifugoSubscriptionToken asks for a token that subscribes to one
// channel.
type IssueCentrifugoSubscriptionToken = IssueGrant[CentrifugoSubscriptionRequest]

// IssueCentrifugoSubscriptionTokenHandler mints Centrifugo subscription
// tokens for the channels the policy allows the caller.
type IssueCentrifugoSubscriptionTokenHandler = IssueGrantHandler[CentrifugoSubscriptionRequest, struct{},
	domain.CentrifugoSubscriptionClaims, domain.CentrifugoGrant]

// NewIssueCentrifugoSubscriptionTokenHandler builds the handler.
func NewIssueCentrifugoSubscriptionTokenHandler(config CentrifugoPolicy, policy *Policy, budgets *Budgets,
	sign Signer[domain.CentrifugoSubscriptionClaims], clock domain.Clock, ids domain.IDSource) *IssueCentrifugoSubscriptionTokenHandler {
	return newIssueGrantHandler(grantDefinition[CentrifugoSubscriptionRequest, struct{}, domain.CentrifugoSubscriptionClaims, domain.CentrifugoGrant]{
		kind:   domain.GrantCentrifugoSubscription,
		window: grantWindow{issuer: config.Issuer, audience: config.Audience, ttl: config.SubscriptionTTL, bound: config.ExpiryBound},
		authorize: func(caller domain.Principal, req CentrifugoSubscriptionRequest) (struct{}, error) {
			return struct{}{}, policy.MaySubscribe(caller, req.Channel)
		},
		claims: func(caller domain.Principal, req CentrifugoSubscriptionRequest, _ struct{}, in domain.Issuance) (domain.CentrifugoSubscriptionClaims, error) {
			return domain.NewCentrifugoSubscriptionClaims(caller, req.Channel, in)
		},
		sign: sign,
		result: func(g domain.Grant, c domain.CentrifugoSubscriptionClaims) domain.CentrifugoGrant {
			return domain.CentrifugoGrant{Grant: g, Channel: c.Channel}
		},
	}, budgets, clock, ids)
}
