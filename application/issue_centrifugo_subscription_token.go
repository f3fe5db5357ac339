package application

import (
	"context"
	"fmt"
	"time"

	"github.com/gatepass/gatepass/domain"
)

// IssueCentrifugoSubscriptionToken asks for a token that subscribes to one
// channel.
type IssueCentrifugoSubscriptionToken struct {
	Caller  domain.Principal
	Channel string
	// IdentityExpiresAt is when the caller's identity expires; zero when
	// unknown.
	IdentityExpiresAt time.Time
}

// IssueCentrifugoSubscriptionTokenHandler mints Centrifugo subscription
// tokens for the channels the policy allows the caller.
type IssueCentrifugoSubscriptionTokenHandler struct {
	config  CentrifugoPolicy
	policy  *Policy
	budgets *Budgets
	signer  domain.CentrifugoSigner
	clock   domain.Clock
	ids     domain.IDSource
}

// NewIssueCentrifugoSubscriptionTokenHandler builds the handler.
func NewIssueCentrifugoSubscriptionTokenHandler(config CentrifugoPolicy, policy *Policy, budgets *Budgets,
	signer domain.CentrifugoSigner, clock domain.Clock, ids domain.IDSource) *IssueCentrifugoSubscriptionTokenHandler {
	return &IssueCentrifugoSubscriptionTokenHandler{config: config, policy: policy, budgets: budgets, signer: signer, clock: clock, ids: ids}
}

// Handle checks the channel against the policy, spends the caller's budget
// and signs.
func (h *IssueCentrifugoSubscriptionTokenHandler) Handle(ctx context.Context, cmd IssueCentrifugoSubscriptionToken) (domain.CentrifugoGrant, error) {
	if err := h.policy.MaySubscribe(cmd.Caller, cmd.Channel); err != nil {
		return domain.CentrifugoGrant{}, fmt.Errorf("centrifugo subscription: %w", err)
	}
	now, ttl, err := issueWindow(h.clock, h.config.ExpiryBound, h.config.SubscriptionTTL, cmd.IdentityExpiresAt)
	if err != nil {
		return domain.CentrifugoGrant{}, err
	}
	if err := h.budgets.SpendGrant(ctx, domain.GrantCentrifugoSubscription, cmd.Caller.UserID); err != nil {
		return domain.CentrifugoGrant{}, err
	}
	id, err := h.ids.NewID()
	if err != nil {
		return domain.CentrifugoGrant{}, fmt.Errorf("centrifugo token id: %w", err)
	}
	claims, err := domain.NewCentrifugoSubscriptionClaims(cmd.Caller, cmd.Channel, domain.Issuance{
		Issuer: h.config.Issuer, Audience: h.config.Audience, ID: id, Now: now, TTL: ttl,
	})
	if err != nil {
		return domain.CentrifugoGrant{}, fmt.Errorf("centrifugo subscription claims: %w", err)
	}
	token, err := h.signer.SignCentrifugoSubscription(ctx, claims)
	if err != nil {
		return domain.CentrifugoGrant{}, fmt.Errorf("sign centrifugo subscription token: %w", err)
	}
	return domain.CentrifugoGrant{
		Grant:   domain.Grant{ID: id, Token: token, ExpiresAt: claims.ExpiresAt, TTL: claims.TTL()},
		Channel: claims.Channel,
	}, nil
}
