package application

import (
	"time"

	"github.com/gatepass/gatepass/domain"
)

// CentrifugoPolicy is how Centrifugo tokens are minted.
type CentrifugoPolicy struct {
	Issuer   string
	Audience string
	// ConnectionTTL and SubscriptionTTL are the lifetimes of the two tokens.
	ConnectionTTL   time.Duration
	SubscriptionTTL time.Duration
	// URL is Centrifugo's client WebSocket URL, returned with connection
	// tokens.
	URL string
	// ExpiryBound says whether a token may outlive the caller's identity.
	ExpiryBound GrantExpiryBound
}

// IssueCentrifugoConnectionToken asks for a Centrifugo connection token;
// it takes nothing beyond the caller.
type IssueCentrifugoConnectionToken = IssueGrant[struct{}]

// IssueCentrifugoConnectionTokenHandler mints Centrifugo connection tokens
// with the server-side subscriptions the policy names.
type IssueCentrifugoConnectionTokenHandler = IssueGrantHandler[struct{}, []string, domain.CentrifugoConnectionClaims, domain.CentrifugoGrant]

// NewIssueCentrifugoConnectionTokenHandler builds the handler.
func NewIssueCentrifugoConnectionTokenHandler(config CentrifugoPolicy, policy *Policy, budgets *Budgets,
	sign Signer[domain.CentrifugoConnectionClaims], clock domain.Clock, ids domain.IDSource) *IssueCentrifugoConnectionTokenHandler {
	return newIssueGrantHandler(grantDefinition[struct{}, []string, domain.CentrifugoConnectionClaims, domain.CentrifugoGrant]{
		kind:   domain.GrantCentrifugoConnection,
		window: grantWindow{issuer: config.Issuer, audience: config.Audience, ttl: config.ConnectionTTL, bound: config.ExpiryBound},
		// The server-side channels ask MayConnectCentrifugo first.
		authorize: func(caller domain.Principal, _ struct{}) ([]string, error) {
			return policy.CentrifugoServerChannels(caller)
		},
		claims: func(caller domain.Principal, _ struct{}, channels []string, in domain.Issuance) (domain.CentrifugoConnectionClaims, error) {
			return domain.NewCentrifugoConnectionClaims(caller, channels, in)
		},
		sign: sign,
		result: func(g domain.Grant, _ domain.CentrifugoConnectionClaims) domain.CentrifugoGrant {
			return domain.CentrifugoGrant{Grant: g, URL: config.URL}
		},
	}, budgets, clock, ids)
}
