// Package application holds gatepass's use cases: authenticating a caller
// and issuing grants, every kind through one pipeline (issue_grant.go)
// over the kind's definition. Policy (who may have which grant, for how
// long) lives here; adapters only translate.
package application

import (
	"time"

	"github.com/gatepass/gatepass/domain"
)

// Application groups the use cases the inbound adapters drive. Every
// grant kind has its use case, the same issuing pipeline over the kind's
// definition; a kind this deployment does not issue is there too, marked
// disabled (Enabled).
type Application struct {
	AuthenticateCaller             *AuthenticateCallerHandler
	RequestOfficeAccess            *RequestOfficeAccessHandler
	IssueRealtimeToken             *IssueRealtimeTokenHandler
	IssueLiveKitToken              *IssueLiveKitTokenHandler
	IssueCentrifugoConnectionToken *IssueCentrifugoConnectionTokenHandler
	IssueCentrifugoSubscription    *IssueCentrifugoSubscriptionTokenHandler
	ListKeys                       *ListVerificationKeysHandler
	CheckReadiness                 *CheckReadinessHandler

	enabled map[domain.GrantKind]bool
}

// Enabled reports whether this deployment issues grants of kind.
func (a *Application) Enabled(kind domain.GrantKind) bool { return a.enabled[kind] }

// grantUseCase is what every grant kind's use case tells of itself.
type grantUseCase interface {
	Kind() domain.GrantKind
	Enabled() bool
}

// Grants are how each grant kind is minted. A transport whose settings
// are nil is disabled.
type Grants struct {
	Office   OfficePolicy
	Realtime RealtimePolicy
	// LiveKit and Centrifugo are nil while the transport is disabled.
	LiveKit    *LiveKitPolicy
	Centrifugo *CentrifugoPolicy
	// Policy decides every caller's rights on the transports; nil is
	// DefaultPolicy.
	Policy *Policy
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
	// Signers sign each grant kind's claims.
	Signers Signers
	// RoomConfigs checks LiveKit room configurations as LiveKit does;
	// without it LiveKit grants carry none.
	RoomConfigs domain.RoomConfigChecker
	Clock       domain.Clock
	IDs         domain.IDSource
	Keys        domain.KeySet
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

// New builds the Application from its ports and the grants' settings.
// The rate limiter's readiness check ("rate_limiter") is added to checks.
func New(p Ports, g Grants, limits RateLimitPolicy, checks []ReadinessCheck) *Application {
	budgets := NewBudgets(p.Limiter, p.LocalLimiter, p.LimiterNodes, limits)
	checks = append(checks[:len(checks):len(checks)], ReadinessCheck{Name: "rate_limiter", Probe: budgets.Ready})
	policy := g.Policy
	if policy == nil {
		policy = DefaultPolicy()
	}
	var liveKit LiveKitPolicy
	if g.LiveKit != nil {
		liveKit = *g.LiveKit
	}
	var centrifugo CentrifugoPolicy
	if g.Centrifugo != nil {
		centrifugo = *g.Centrifugo
	}
	s := p.Signers
	a := &Application{
		AuthenticateCaller:             NewAuthenticateCallerHandler(p.Identity, budgets),
		RequestOfficeAccess:            NewRequestOfficeAccessHandler(g.Office, budgets, s.Office, p.Clock, p.IDs),
		IssueRealtimeToken:             NewIssueRealtimeTokenHandler(g.Realtime, budgets, s.Realtime, p.Clock, p.IDs),
		IssueLiveKitToken:              NewIssueLiveKitTokenHandler(liveKit, policy, budgets, s.LiveKit, p.RoomConfigs, p.Clock, p.IDs),
		IssueCentrifugoConnectionToken: NewIssueCentrifugoConnectionTokenHandler(centrifugo, policy, budgets, s.CentrifugoConnection, p.Clock, p.IDs),
		IssueCentrifugoSubscription:    NewIssueCentrifugoSubscriptionTokenHandler(centrifugo, policy, budgets, s.CentrifugoSubscription, p.Clock, p.IDs),
		CheckReadiness:                 NewCheckReadinessHandler(checks),
		ListKeys:                       NewListVerificationKeysHandler(p.Keys),
	}
	if g.LiveKit == nil {
		a.IssueLiveKitToken.disable()
	}
	if g.Centrifugo == nil {
		a.IssueCentrifugoConnectionToken.disable()
		a.IssueCentrifugoSubscription.disable()
	}
	a.enabled = make(map[domain.GrantKind]bool)
	for _, h := range []grantUseCase{
		a.RequestOfficeAccess, a.IssueRealtimeToken, a.IssueLiveKitToken, a.IssueCentrifugoConnectionToken, a.IssueCentrifugoSubscription,
	} {
		a.enabled[h.Kind()] = h.Enabled()
	}
	return a
}
