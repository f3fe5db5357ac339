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

// Handle spends the caller's budget, then checks the caller's rights and
// the request, and signs. A request the policy or the checks refuse has
// spent the budget too, so a caller pays for every request it makes; only
// an identity too close to its expiry is refused before.
func (h *IssueLiveKitTokenHandler) Handle(ctx context.Context, cmd IssueLiveKitToken) (domain.LiveKitGrant, error) {
	now, ttl, err := issueWindow(h.clock, h.config.ExpiryBound, h.config.TTL, cmd.IdentityExpiresAt)
	if err != nil {
		return domain.LiveKitGrant{}, err
	}
	if err := h.budgets.SpendGrant(ctx, domain.GrantLiveKit, cmd.Caller.UserID); err != nil {
		return domain.LiveKitGrant{}, err
	}
	rights, err := h.policy.LiveKitRights(cmd.Caller)
	if err != nil {
		return domain.LiveKitGrant{}, fmt.Errorf("livekit rights: %w", err)
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

// RefuseUnreadable answers an authenticated caller's request that the
// inbound adapter could not read (its body malformed, or over a limit): it
// spends the caller's budget as Handle does and returns why, or the
// budget's own refusal once it is spent.
func (h *IssueLiveKitTokenHandler) RefuseUnreadable(ctx context.Context, caller domain.Principal, why error) error {
	if err := h.budgets.SpendGrant(ctx, domain.GrantLiveKit, caller.UserID); err != nil {
		return err
	}
	return why
}
