package application

import (
	"context"
	"fmt"
	"time"

	"github.com/gatepass/gatepass/domain"
)

// IssueRealtimeToken asks for a Supabase Realtime token.
type IssueRealtimeToken struct {
	Caller domain.Principal
	// IdentityExpiresAt is when the caller's identity expires; zero when
	// unknown.
	IdentityExpiresAt time.Time
}

// IssueRealtimeTokenHandler mints Supabase Realtime tokens.
type IssueRealtimeTokenHandler struct {
	policy  RealtimePolicy
	budgets *Budgets
	signer  domain.RealtimeSigner
	clock   domain.Clock
	ids     domain.IDSource
}

// NewIssueRealtimeTokenHandler builds the handler.
func NewIssueRealtimeTokenHandler(policy RealtimePolicy, budgets *Budgets,
	signer domain.RealtimeSigner, clock domain.Clock, ids domain.IDSource) *IssueRealtimeTokenHandler {
	return &IssueRealtimeTokenHandler{policy: policy, budgets: budgets, signer: signer, clock: clock, ids: ids}
}

// Handle mints a token for the caller; callers without an organization get
// one too, without app_metadata.
func (h *IssueRealtimeTokenHandler) Handle(ctx context.Context, cmd IssueRealtimeToken) (domain.Grant, error) {
	var now time.Time
	ttl := h.policy.TTL
	if h.policy.ExpiryBound == ExpiryBoundIdentity {
		// Refused before any budget is spent: the identity is the problem.
		now = h.clock.Now()
		var err error
		if ttl, err = boundedTTL(h.policy.ExpiryBound, ttl, now, cmd.IdentityExpiresAt); err != nil {
			return domain.Grant{}, err
		}
	}
	if err := h.budgets.SpendGrant(ctx, domain.GrantRealtime, cmd.Caller.UserID); err != nil {
		return domain.Grant{}, err
	}
	id, err := h.ids.NewID()
	if err != nil {
		return domain.Grant{}, fmt.Errorf("realtime token id: %w", err)
	}
	if now.IsZero() {
		now = h.clock.Now()
	}
	claims, err := domain.NewRealtimeClaims(cmd.Caller, domain.Issuance{
		Issuer: h.policy.Issuer,
		ID:     id,
		Now:    now,
		TTL:    ttl,
	})
	if err != nil {
		return domain.Grant{}, fmt.Errorf("realtime token claims: %w", err)
	}
	token, err := h.signer.SignRealtime(ctx, claims)
	if err != nil {
		return domain.Grant{}, fmt.Errorf("sign realtime token: %w", err)
	}
	return domain.Grant{ID: id, Token: token, ExpiresAt: claims.ExpiresAt, TTL: claims.TTL()}, nil
}
