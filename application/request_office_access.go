package application

import (
	"context"
	"fmt"

	"github.com/gatepass/gatepass/domain"
)

// RequestOfficeAccess asks for an office-router connection grant.
type RequestOfficeAccess struct {
	Caller domain.Principal
	// OrgID, when not empty, must be the caller's own organization.
	OrgID string
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
	if err := h.budgets.SpendGrant(ctx, domain.GrantOffice, cmd.Caller.UserID); err != nil {
		return domain.OfficeGrant{}, err
	}
	id, err := h.ids.NewID()
	if err != nil {
		return domain.OfficeGrant{}, fmt.Errorf("office grant id: %w", err)
	}
	claims, err := domain.NewOfficeClaims(cmd.Caller, domain.Issuance{
		Issuer:   h.policy.Issuer,
		Audience: h.policy.Audience,
		ID:       id,
		Now:      h.clock.Now(),
		TTL:      h.policy.TTL,
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
