package application

import (
	"fmt"

	"github.com/gatepass/gatepass/domain"
)

// OfficeRequest is what a caller asks of an office-router grant.
type OfficeRequest struct {
	// OrgID, when not empty, must be the caller's own organization.
	OrgID string
}

// RequestOfficeAccess asks for an office-router connection grant.
type RequestOfficeAccess = IssueGrant[OfficeRequest]

// RequestOfficeAccessHandler mints office-router grants: access to the
// caller's own organization's office for the policy's TTL.
type RequestOfficeAccessHandler = IssueGrantHandler[OfficeRequest, struct{}, domain.OfficeClaims, domain.OfficeGrant]

// NewRequestOfficeAccessHandler builds the handler. It refuses the
// policies NewOfficePolicy refuses, with the same *SettingError, and a nil
// sign.
func NewRequestOfficeAccessHandler(policy OfficePolicy, budgets *Budgets,
	sign Signer[domain.OfficeClaims], clock domain.Clock, ids domain.IDSource) (*RequestOfficeAccessHandler, error) {
	policy, err := NewOfficePolicy(policy)
	if err == nil && sign == nil {
		err = ErrNoSigner
	}
	if err != nil {
		return nil, fmt.Errorf("%s grant: %w", domain.GrantOffice, err)
	}
	return newIssueGrantHandler(grantDefinition[OfficeRequest, struct{}, domain.OfficeClaims, domain.OfficeGrant]{
		kind:   domain.GrantOffice,
		window: grantWindow{issuer: policy.Issuer, audience: policy.Audience, ttl: policy.TTL, bound: policy.ExpiryBound},
		authorize: func(caller domain.Principal, req OfficeRequest) (struct{}, error) {
			if !caller.HasOrganization() {
				return struct{}{}, domain.ErrNoOrganization
			}
			if req.OrgID != "" && req.OrgID != caller.OrgID {
				return struct{}{}, domain.ErrOrganizationMismatch
			}
			return struct{}{}, nil
		},
		claims: func(caller domain.Principal, _ OfficeRequest, _ struct{}, in domain.Issuance) (domain.OfficeClaims, error) {
			return domain.NewOfficeClaims(caller, in)
		},
		sign: sign,
		result: func(g domain.Grant, _ domain.OfficeClaims) domain.OfficeGrant {
			return domain.OfficeGrant{Grant: g, URL: policy.URL}
		},
	}, budgets, clock, ids), nil
}
