// Package application holds gatepass's use cases: authenticating a caller,
// revoking access (revocations.go), and issuing grants, every kind through
// one pipeline (issue_grant.go) over the kind's definition, its signer
// metered by one decorator (Ports.Meter). The kinds are
// domain.GrantKinds: each is registered with RegisterGrant over its domain
// definition, or with RegisterDisabled while this deployment does not
// issue it. Policy (who may have which grant, within what budget) lives
// here, each kind's lifetime bounds in its domain definition; adapters only
// translate.
package application

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatepass/gatepass/domain"
)

// Application groups the use cases the inbound adapters drive. Every
// grant kind has its use case, the same issuing pipeline over the kind's
// definition, which Issuer gives; a kind this deployment does not issue
// is there too, marked disabled (Enabled).
type Application struct {
	AuthenticateCaller *AuthenticateCallerHandler
	ListKeys           *ListVerificationKeysHandler
	CheckReadiness     *CheckReadinessHandler
	// Revocations is the replica's copy of the revocations, which every
	// grant kind's pipeline checks; nil when none are kept.
	Revocations         *Revocations
	RevokeAccess        *RevokeAccessHandler
	HandleIdentityEvent *HandleIdentityEventHandler
	// EvictRevoked is the revocations' fan-out to the transports; nil
	// when no revocations are kept.
	EvictRevoked *EvictRevokedHandler

	grants map[domain.GrantKind]grantUseCase
	// webhooks are the webhook use cases of the kinds registered with one
	// (WithWebhook).
	webhooks map[domain.GrantKind]WebhookReceiver
}

// Enabled reports whether this deployment issues grants of kind.
func (a *Application) Enabled(kind domain.GrantKind) bool {
	u, ok := a.grants[kind]
	return ok && u.Enabled()
}

// grantUseCase is what every grant kind's use case tells of itself.
type grantUseCase interface {
	Kind() domain.GrantKind
	Enabled() bool
	guard(r *Revocations)
}

// GrantIssuer is the use case of a grant kind that takes a Req and
// answers an Out: an IssueGrantHandler seen without its policy's and
// claims' types.
type GrantIssuer[Req, Out any] interface {
	Kind() domain.GrantKind
	Enabled() bool
	Handle(ctx context.Context, cmd IssueGrant[Req]) (Out, error)
	RefuseUnreadable(ctx context.Context, caller domain.Principal, why error) error
}

// Issuer is the use case of kind, registered with New. Asking for a kind
// that was not registered, or with other types than its definition's, is
// a programming error: it panics. A disabled kind's use case is an
// issuer of any types, refusing with ErrGrantKindDisabled.
func Issuer[Req, Out any](a *Application, kind domain.GrantKind) GrantIssuer[Req, Out] {
	if d, ok := a.grants[kind].(disabledGrant); ok {
		return disabledIssuer[Req, Out]{d}
	}
	i, ok := a.grants[kind].(GrantIssuer[Req, Out])
	if !ok {
		panic(fmt.Sprintf("application: no %s grant use case takes %T and answers %T", kind, *new(Req), *new(Out)))
	}
	return i
}

// Grants are how each grant kind is minted.
type Grants struct {
	// Kinds are the grant kinds, registered by their definitions
	// (RegisterGrant), or disabled (RegisterDisabled).
	Kinds []GrantRegistration
	// Policy decides every caller's rights on the registered kinds; nil is
	// DefaultPolicy.
	Policy *Policy
}

// Ports are the outbound ports the use cases need.
type Ports struct {
	Identity domain.IdentityVerifier
	Clock    domain.Clock
	IDs      domain.IDSource
	Keys     domain.KeySet
	// Meter meters every grant kind's signatures alike: New wraps each
	// kind's signer in it. Nil meters nothing.
	Meter domain.SignatureMeter
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
	// Revocations is the replica's copy of the revocations kept in their
	// store (NewRevocations), checked before every grant; nil keeps none.
	Revocations *Revocations
	// Fanout evicts the revoked users' live connections from every
	// transport once a revocation is recorded; nil evicts nothing.
	Fanout *EvictRevokedHandler
}

// New builds the Application from its ports and the grants' settings.
// The rate limiter's readiness check ("rate_limiter") is added to checks,
// and the revocations' ("revocations") when they are kept.
//
// It refuses what its grants' registrations refuse (every problem,
// joined): a signer missing, a registration without its kind's definition,
// a kind registered twice, and a kind whose grants name the audience of
// the registered office grants (ErrAudienceShared, in a *SettingError), as
// the office-router would accept them.
func New(p Ports, g Grants, limits RateLimitPolicy, checks []ReadinessCheck) (*Application, error) {
	budgets := NewBudgets(p.Limiter, p.LocalLimiter, p.LimiterNodes, limits)
	checks = append(checks[:len(checks):len(checks)], ReadinessCheck{Name: "rate_limiter", Probe: budgets.Ready})
	if p.Revocations != nil {
		checks = append(checks, ReadinessCheck{Name: "revocations", Probe: p.Revocations.Ready})
	}
	policy := g.Policy
	if policy == nil {
		policy = DefaultPolicy()
	}
	var errs []error
	a := &Application{
		AuthenticateCaller: NewAuthenticateCallerHandler(p.Identity, budgets),
		CheckReadiness:     NewCheckReadinessHandler(checks),
		ListKeys:           NewListVerificationKeysHandler(p.Keys),
		grants:             make(map[domain.GrantKind]grantUseCase, len(g.Kinds)),
	}
	if r := p.Revocations; r != nil {
		a.Revocations = r
		a.EvictRevoked = p.Fanout
		a.RevokeAccess = NewRevokeAccessHandler(r, p.Fanout)
		a.HandleIdentityEvent = NewHandleIdentityEventHandler(a.RevokeAccess, r.ledger)
	}
	// The office key may sign other kinds' grants too: none may name the
	// office grants' audience.
	var officeAudience string
	for _, k := range g.Kinds {
		if k.Kind() == domain.GrantOffice {
			officeAudience = k.audience()
			break
		}
	}
	for _, k := range g.Kinds {
		u, err := k.useCase(policy, budgets, p.Clock, p.IDs, p.Meter)
		if _, twice := a.grants[k.Kind()]; twice {
			err = fmt.Errorf("%s: %w", k.Kind(), ErrKindRegisteredTwice)
		} else if aud := k.audience(); err == nil && aud != "" && k.Kind() != domain.GrantOffice && aud == officeAudience {
			// The office-router would accept them.
			err = fmt.Errorf("%s settings: %w", k.Kind(), &SettingError{Field: "Audience",
				Reason: "must differ from the office-router grant's audience", Err: ErrAudienceShared})
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		a.grants[k.Kind()] = u
		if w, ok := k.(interface {
			webhook(*Revocations) WebhookReceiver
		}); ok {
			if a.webhooks == nil {
				a.webhooks = map[domain.GrantKind]WebhookReceiver{}
			}
			a.webhooks[k.Kind()] = w.webhook(p.Revocations)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	// Every door to a grant (the endpoints, the token exchange, any other
	// caller of the registered pipeline) gets the revocation check.
	for _, u := range a.grants {
		u.guard(p.Revocations)
	}
	return a, nil
}
