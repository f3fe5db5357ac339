package application

import (
	"context"
	"fmt"
	"time"

	"github.com/gatepass/gatepass/domain"
)

// RequestOfficeAccess asks for an office-router connection grant.
type RequestOfficeAccess struct {
	Caller domain.Principal
	// OrgID, when not empty, must be the caller's own organization.
	OrgID string
	// IdentityExpiresAt is when the caller's identity expires; zero when
	// unknown.
	IdentityExpiresAt time.Time
}

// RequestOfficeAccessHandler mints office-router grants.
type RequestOfficeAccessHandler struct {
	policy  OfficePolicy
	budgets *Budgets
	signer  domain.OfficeSigner
	clock   domain.Clock
	ids     domain.IDSource
}

// NewRequestOfficeAccessHandler builds the handler.
func NewRequestOfficeAccessHandler(policy OfficePolicy, budgets *Budgets,
	signer domain.OfficeSigner, clock domain.Clock, ids domain.IDSource) *RequestOfficeAccessHandler {
	return &RequestOfficeAccessHandler{policy: policy, budgets: budgets, signer: signer, clock: clock, ids: ids}
}

// Handle grants the caller access to its organization's office for the
// policy's TTL.
func (h *RequestOfficeAccessHandler) Handle(ctx context.Context, cmd RequestOfficeAccess) (domain.OfficeGrant, error) {
	if !cmd.Caller.HasOrganization() {
		return domain.OfficeGrant{}, domain.ErrNoOrganization
	}
	if cmd.OrgID != "" && cmd.OrgID != cmd.Caller.OrgID {
		return domain.OfficeGrant{}, domain.ErrOrganizationMismatch
	}
	var now time.Time
	ttl := h.policy.TTL
	if h.policy.ExpiryBound == ExpiryBoundIdentity {
		// Refused before any budget is spent: the identity is the problem.
		now = h.clock.Now()
		var err error
		if ttl, err = boundedTTL(h.policy.ExpiryBound, ttl, now, cmd.IdentityExpiresAt); err != nil {
			return domain.OfficeGrant{}, err
		}
	}
	if err := h.budgets.SpendGrant(ctx, domain.GrantOffice, cmd.Caller.UserID); err != nil {
		return domain.OfficeGrant{}, err
	}
	id, err := h.ids.NewID()
	if err != nil {
		return domain.OfficeGrant{}, fmt.Errorf("office grant id: %w", err)
	}
	if now.IsZero() {
		now = h.clock.Now()
	}
	claims, err := domain.NewOfficeClaims(cmd.Caller, domain.Issuance{
		Issuer:   h.policy.Issuer,
		Audience: h.policy.Audience,
		ID:       id,
		Now:      now,
		TTL:      ttl,
	})
	if err != nil {
		return domain.OfficeGrant{}, fmt.Errorf("office grant claims: %w", err)
	}
	token, err := h.signer.SignOffice(ctx, claims)
	if err != nil {
		return domain.OfficeGrant{}, fmt.Errorf("sign office grant: %w", err)
	}
	return domain.OfficeGrant{
		Grant: domain.Grant{ID: id, Token: token, ExpiresAt: claims.ExpiresAt, TTL: claims.TTL()},
		URL:   h.policy.URL,
	}, nil
}
