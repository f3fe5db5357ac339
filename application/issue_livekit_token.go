package application

import (
	"fmt"
	"time"

	"github.com/gatepass/gatepass/domain"
)

// LiveKitPolicy is how LiveKit participant tokens are minted.
type LiveKitPolicy struct {
	// APIKey is the token's issuer: LiveKit looks up its secret by it.
	APIKey string
	TTL    time.Duration
	// URL is the LiveKit server the client joins, returned with each token.
	URL string
	// ExpiryBound says whether a token may outlive the caller's identity.
	ExpiryBound GrantExpiryBound
}

// IssueLiveKitToken asks for a token that joins a room of the caller's
// organization.
type IssueLiveKitToken = IssueGrant[domain.LiveKitRequest]

// IssueLiveKitTokenHandler mints LiveKit participant tokens with the rights
// the policy gives the caller.
type IssueLiveKitTokenHandler = IssueGrantHandler[domain.LiveKitRequest, domain.LiveKitRights, domain.LiveKitClaims, domain.LiveKitGrant]

// NewIssueLiveKitTokenHandler builds the handler. roomConfigs checks room
// configurations as LiveKit does; without it every room configuration is
// refused.
func NewIssueLiveKitTokenHandler(config LiveKitPolicy, policy *Policy, budgets *Budgets,
	sign Signer[domain.LiveKitClaims], roomConfigs domain.RoomConfigChecker, clock domain.Clock, ids domain.IDSource) *IssueLiveKitTokenHandler {
	return newIssueGrantHandler(grantDefinition[domain.LiveKitRequest, domain.LiveKitRights, domain.LiveKitClaims, domain.LiveKitGrant]{
		kind:   domain.GrantLiveKit,
		window: grantWindow{issuer: config.APIKey, ttl: config.TTL, bound: config.ExpiryBound},
		authorize: func(caller domain.Principal, _ domain.LiveKitRequest) (domain.LiveKitRights, error) {
			return policy.LiveKitRights(caller)
		},
		claims: func(caller domain.Principal, req domain.LiveKitRequest, rights domain.LiveKitRights, in domain.Issuance) (domain.LiveKitClaims, error) {
			claims, err := domain.NewLiveKitClaims(caller, rights, req, in)
			if err != nil || claims.RoomConfig == nil {
				return claims, err
			}
			if roomConfigs == nil {
				return claims, fmt.Errorf("%w: room configurations cannot be checked here", domain.ErrInvalidRoom)
			}
			if err := roomConfigs.CheckRoomConfig(claims.RoomConfig); err != nil {
				return claims, fmt.Errorf("room configuration: %w", err)
			}
			return claims, nil
		},
		sign: sign,
		result: func(g domain.Grant, c domain.LiveKitClaims) domain.LiveKitGrant {
			return domain.LiveKitGrant{Grant: g, ServerURL: config.URL, Room: c.Video.Room, Identity: c.Subject}
		},
	}, budgets, clock, ids)
}
