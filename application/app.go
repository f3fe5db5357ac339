// Package application holds gatepass's use cases: authenticating a caller and
// issuing the two connection grants. Policy (who may have which grant, for
// how long) lives here; adapters only translate.
package application

import (
	"time"

	"github.com/gatepass/gatepass/domain"
)

// Application groups the use cases the inbound adapters drive.
type Application struct {
	AuthenticateCaller  *AuthenticateCallerHandler
	RequestOfficeAccess *RequestOfficeAccessHandler
	IssueRealtimeToken  *IssueRealtimeTokenHandler
	ListKeys            *ListVerificationKeysHandler
	CheckReadiness      *CheckReadinessHandler
	// The transports' use cases are nil while the transport is disabled.
	IssueLiveKitToken              *IssueLiveKitTokenHandler
	IssueCentrifugoConnectionToken *IssueCentrifugoConnectionTokenHandler
	IssueCentrifugoSubscription    *IssueCentrifugoSubscriptionTokenHandler

	budgets *Budgets
}

// Transports configures the real-time transports beyond the office-router
// and Supabase: one policy decides every caller's rights; a nil transport
// stays disabled.
type Transports struct {
	Policy     *Policy
	LiveKit    *LiveKitPolicy
	Centrifugo *CentrifugoPolicy
	// LiveKitSigner and CentrifugoSigner sign the transports' tokens.
	LiveKitSigner    domain.LiveKitSigner
	CentrifugoSigner domain.CentrifugoSigner
	// LiveKitRoomConfigs checks room configurations as LiveKit does;
	// without it LiveKit grants carry none.
	LiveKitRoomConfigs domain.RoomConfigChecker
}

// EnableTransports adds the use cases of the configured transports; they
// spend the same budgets as the other grants.
func (a *Application) EnableTransports(t Transports, p Ports) {
	policy := t.Policy
	if policy == nil {
		policy = DefaultPolicy()
	}
	if t.LiveKit != nil {
		a.IssueLiveKitToken = NewIssueLiveKitTokenHandler(*t.LiveKit, policy, a.budgets, t.LiveKitSigner, t.LiveKitRoomConfigs, p.Clock, p.IDs)
	}
	if t.Centrifugo != nil {
		a.IssueCentrifugoConnectionToken = NewIssueCentrifugoConnectionTokenHandler(*t.Centrifugo, policy, a.budgets, t.CentrifugoSigner, p.Clock, p.IDs)
		a.IssueCentrifugoSubscription = NewIssueCentrifugoSubscriptionTokenHandler(*t.Centrifugo, policy, a.budgets, t.CentrifugoSigner, p.Clock, p.IDs)
	}
}

// OfficePolicy is how office-router grants are minted.
type OfficePolicy struct {
	Issuer   string
	Audience string
	TTL      time.Duration
	// URL is the office-router WebSocket URL returned with each grant.
	URL string
	// ExpiryBound says whether a grant may outlive the caller's identity.
	ExpiryBound GrantExpiryBound
}

// RealtimePolicy is how Supabase Realtime tokens are minted.
type RealtimePolicy struct {
	Issuer string
	TTL    time.Duration
	// ExpiryBound says whether a token may outlive the caller's identity.
	ExpiryBound GrantExpiryBound
}

// Ports are the outbound ports the use cases need.
type Ports struct {
	Identity domain.IdentityVerifier
	Office   domain.OfficeSigner
	Realtime domain.RealtimeSigner
	Clock    domain.Clock
	IDs      domain.IDSource
	Keys     domain.KeySet
	// Limiter is the rate-limit store shared by every replica; nil when
	// rate limits are off.
	Limiter domain.RateLimiter
	// LocalLimiter keeps budgets in this replica while Limiter fails and
	// the policy fails open; nil when Limiter cannot fail.
	LocalLimiter domain.RateLimiter
	// LimiterNodes tells apart the nodes Limiter keeps budgets on, so one
	// failing node fails only its own budgets; nil when Limiter fails as
	// one (a single Redis, a Sentinel master, memory).
	LimiterNodes domain.RateLimitNodes
}

// New builds the Application from its ports and policies. The rate
// limiter's readiness check ("rate_limiter") is added to checks.
func New(p Ports, office OfficePolicy, realtime RealtimePolicy, limits RateLimitPolicy, checks []ReadinessCheck) *Application {
	budgets := NewBudgets(p.Limiter, p.LocalLimiter, p.LimiterNodes, limits)
	checks = append(checks[:len(checks):len(checks)], ReadinessCheck{Name: "rate_limiter", Probe: budgets.Ready})
	return &Application{
		AuthenticateCaller:  NewAuthenticateCallerHandler(p.Identity, budgets),
		RequestOfficeAccess: NewRequestOfficeAccessHandler(office, budgets, p.Office, p.Clock, p.IDs),
		IssueRealtimeToken:  NewIssueRealtimeTokenHandler(realtime, budgets, p.Realtime, p.Clock, p.IDs),
		CheckReadiness:      NewCheckReadinessHandler(checks),
		ListKeys:            NewListVerificationKeysHandler(p.Keys),
		budgets:             budgets,
	}
}
