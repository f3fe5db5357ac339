package application

import (
	"context"
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
type IssueLiveKitToken struct {
	Caller  domain.Principal
	Request domain.LiveKitRequest
	// IdentityExpiresAt is when the caller's identity expires; zero when
	// unknown.
	IdentityExpiresAt time.Time
}

// IssueLiveKitTokenHandler mints LiveKit participant tokens with the rights
// the policy gives the caller.
type IssueLiveKitTokenHandler struct {
	config      LiveKitPolicy
	policy      *Policy
	budgets     *Budgets
	signer      domain.LiveKitSigner
	roomConfigs domain.RoomConfigChecker
	clock       domain.Clock
	ids         domain.IDSource
}

// NewIssueLiveKitTokenHandler builds the handler. roomConfigs checks room
// configurations as LiveKit does; without it every room configuration is
// refused.
func NewIssueLiveKitTokenHandler(config LiveKitPolicy, policy *Policy, budgets *Budgets,
	signer domain.LiveKitSigner, roomConfigs domain.RoomConfigChecker, clock domain.Clock, ids domain.IDSource) *IssueLiveKitTokenHandler {
	return &IssueLiveKitTokenHandler{config: config, policy: policy, budgets: budgets, signer: signer, roomConfigs: roomConfigs, clock: clock, ids: ids}
}

// Handle checks the caller's rights and the request, spends the caller's
// budget and signs.
func (h *IssueLiveKitTokenHandler) Handle(ctx context.Context, cmd IssueLiveKitToken) (domain.LiveKitGrant, error) {
	rights, err := h.policy.LiveKitRights(cmd.Caller)
	if err != nil {
		return domain.LiveKitGrant{}, fmt.Errorf("livekit rights: %w", err)
	}
	now, ttl, err := issueWindow(h.clock, h.config.ExpiryBound, h.config.TTL, cmd.IdentityExpiresAt)
	if err != nil {
		return domain.LiveKitGrant{}, err
	}
	id, err := h.ids.NewID()
	if err != nil {
		return domain.LiveKitGrant{}, fmt.Errorf("livekit token id: %w", err)
	}
	claims, err := domain.NewLiveKitClaims(cmd.Caller, rights, cmd.Request, domain.Issuance{
		Issuer: h.config.APIKey, ID: id, Now: now, TTL: ttl,
	})
	if err != nil {
		return domain.LiveKitGrant{}, fmt.Errorf("livekit claims: %w", err)
	}
	if claims.RoomConfig != nil {
		if h.roomConfigs == nil {
			return domain.LiveKitGrant{}, fmt.Errorf("%w: room configurations cannot be checked here", domain.ErrInvalidRoom)
		}
		if err := h.roomConfigs.CheckRoomConfig(claims.RoomConfig); err != nil {
			return domain.LiveKitGrant{}, fmt.Errorf("livekit room configuration: %w", err)
		}
	}
	// The request is checked before the budget is spent: a refused request
	// spends nothing.
	if err := h.budgets.SpendGrant(ctx, domain.GrantLiveKit, cmd.Caller.UserID); err != nil {
		return domain.LiveKitGrant{}, err
	}
	token, err := h.signer.SignLiveKit(ctx, claims)
	if err != nil {
		return domain.LiveKitGrant{}, fmt.Errorf("sign livekit token: %w", err)
	}
	return domain.LiveKitGrant{
		Grant:     domain.Grant{ID: id, Token: token, ExpiresAt: claims.ExpiresAt, TTL: claims.TTL()},
		ServerURL: h.config.URL,
		Room:      claims.Video.Room,
		Identity:  claims.Subject,
	}, nil
}
