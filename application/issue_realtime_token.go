package application

import (
	"fmt"

	"github.com/gatepass/gatepass/domain"
)

// IssueRealtimeToken asks for a Supabase Realtime token; it takes nothing
// beyond the caller.
type IssueRealtimeToken = IssueGrant[struct{}]

// IssueRealtimeTokenHandler mints Supabase Realtime tokens; callers
// without an organization get one too, without app_metadata.
type IssueRealtimeTokenHandler = IssueGrantHandler[struct{}, struct{}, domain.RealtimeClaims, domain.Grant]

// NewIssueRealtimeTokenHandler builds the handler. It refuses the
// policies NewRealtimePolicy refuses, with the same *SettingError, and a
// nil sign.
func NewIssueRealtimeTokenHandler(policy RealtimePolicy, budgets *Budgets,
	sign Signer[domain.RealtimeClaims], clock domain.Clock, ids domain.IDSource) (*IssueRealtimeTokenHandler, error) {
	policy, err := NewRealtimePolicy(policy)
	if err == nil && sign == nil {
		err = ErrNoSigner
	}
	if err != nil {
		return nil, fmt.Errorf("%s grant: %w", domain.GrantRealtime, err)
	}
	return newIssueGrantHandler(grantDefinition[struct{}, struct{}, domain.RealtimeClaims, domain.Grant]{
		kind:      domain.GrantRealtime,
		window:    grantWindow{issuer: policy.Issuer, ttl: policy.TTL, bound: policy.ExpiryBound},
		authorize: allowed[struct{}],
		claims: func(caller domain.Principal, _, _ struct{}, in domain.Issuance) (domain.RealtimeClaims, error) {
			return domain.NewRealtimeClaims(caller, in)
		},
		sign:   sign,
		result: func(g domain.Grant, _ domain.RealtimeClaims) domain.Grant { return g },
	}, budgets, clock, ids), nil
}
