package application

import (
	"context"
	"fmt"
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

// IssueCentrifugoConnectionToken asks for a Centrifugo connection token.
type IssueCentrifugoConnectionToken struct {
	Caller domain.Principal
	// IdentityExpiresAt is when the caller's identity expires; zero when
	// unknown.
	IdentityExpiresAt time.Time
}

// IssueCentrifugoConnectionTokenHandler mints Centrifugo connection tokens
// with the server-side subscriptions the policy names.
type IssueCentrifugoConnectionTokenHandler struct {
	config  CentrifugoPolicy
	policy  *Policy
	budgets *Budgets
	signer  domain.CentrifugoSigner
	clock   domain.Clock
	ids     domain.IDSource
}

// NewIssueCentrifugoConnectionTokenHandler builds the handler.
func NewIssueCentrifugoConnectionTokenHandler(config CentrifugoPolicy, policy *Policy, budgets *Budgets,
	signer domain.CentrifugoSigner, clock domain.Clock, ids domain.IDSource) *IssueCentrifugoConnectionTokenHandler {
	return &IssueCentrifugoConnectionTokenHandler{config: config, policy: policy, budgets: budgets, signer: signer, clock: clock, ids: ids}
}

// Handle checks that the caller may connect, spends its budget and signs.
func (h *IssueCentrifugoConnectionTokenHandler) Handle(ctx context.Context, cmd IssueCentrifugoConnectionToken) (domain.CentrifugoGrant, error) {
	if err := h.policy.MayConnectCentrifugo(cmd.Caller); err != nil {
		return domain.CentrifugoGrant{}, fmt.Errorf("centrifugo connection: %w", err)
	}
	channels, err := h.policy.CentrifugoServerChannels(cmd.Caller)
	if err != nil {
		return domain.CentrifugoGrant{}, fmt.Errorf("centrifugo server subscriptions: %w", err)
	}
	now, ttl, err := issueWindow(h.clock, h.config.ExpiryBound, h.config.ConnectionTTL, cmd.IdentityExpiresAt)
	if err != nil {
		return domain.CentrifugoGrant{}, err
	}
	if err := h.budgets.SpendGrant(ctx, domain.GrantCentrifugoConnection, cmd.Caller.UserID); err != nil {
		return domain.CentrifugoGrant{}, err
	}
	id, err := h.ids.NewID()
	if err != nil {
		return domain.CentrifugoGrant{}, fmt.Errorf("centrifugo token id: %w", err)
	}
	claims, err := domain.NewCentrifugoConnectionClaims(cmd.Caller, channels, domain.Issuance{
		Issuer: h.config.Issuer, Audience: h.config.Audience, ID: id, Now: now, TTL: ttl,
	})
	if err != nil {
		return domain.CentrifugoGrant{}, fmt.Errorf("centrifugo connection claims: %w", err)
	}
	token, err := h.signer.SignCentrifugoConnection(ctx, claims)
	if err != nil {
		return domain.CentrifugoGrant{}, fmt.Errorf("sign centrifugo connection token: %w", err)
	}
	return domain.CentrifugoGrant{
		Grant: domain.Grant{ID: id, Token: token, ExpiresAt: claims.ExpiresAt, TTL: claims.TTL()},
		URL:   h.config.URL,
	}, nil
}
