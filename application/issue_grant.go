package application

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatepass/gatepass/domain"
)

// ErrGrantKindDisabled means a grant of a kind this deployment does not
// issue was asked for. The inbound adapter answers a disabled kind's
// routes before any use case runs; this answers any other door to it
// (RegisterDisabled).
var ErrGrantKindDisabled = errors.New("grant kind disabled")

// Signer signs one grant kind's claims into a compact JWS: the method of
// a signer port (domain.OfficeSigner's SignOffice, ...), seen as a
// function so that every kind is signed, and decorated, alike.
type Signer[C any] func(ctx context.Context, claims C) (string, error)

// IssueGrant asks for a grant of one kind: who asks, when its identity
// expires, and what it asks for.
type IssueGrant[Req any] struct {
	Caller domain.Principal
	// IdentityExpiresAt is when the caller's identity expires; zero when
	// unknown.
	IdentityExpiresAt time.Time
	// Request is what the caller asks of this kind (a room, a channel);
	// struct{} for a kind that takes nothing.
	Request Req
}

// grantWindow is who issues a kind's grants for whom, and for how long.
type grantWindow struct {
	issuer   string
	audience string
	ttl      time.Duration
	bound    GrantExpiryBound
}

// grantDefinition is what sets one grant kind apart, as the pipeline runs
// it: a domain.GrantDefinition with its expiry bound, its policy and its
// signer at hand. A is what the policy grants the caller (struct{} when a
// yes is all), C the kind's claims, Out its answer.
type grantDefinition[Req, A any, C domain.GrantClaims, Out any] struct {
	kind   domain.GrantKind
	window grantWindow
	// authorize is what the policy grants the caller for req, or why not.
	authorize func(caller domain.Principal, req Req) (A, error)
	// claims builds the claims of what was granted, and checks them.
	claims func(caller domain.Principal, req Req, granted A, in domain.Issuance) (C, error)
	sign   Signer[C]
	// result shapes the signed grant into the kind's answer.
	result func(g domain.Grant, c C) Out
}

// IssueGrantHandler is the one issuing pipeline: every grant kind runs
// the same steps in the same order, over its grantDefinition.
type IssueGrantHandler[Req, A any, C domain.GrantClaims, Out any] struct {
	def grantDefinition[Req, A, C, Out]
	// revocations refuse a revoked caller before any budget is spent;
	// nil checks none.
	revocations *Revocations
	budgets     *Budgets
	clock       domain.Clock
	ids         domain.IDSource
}

func newIssueGrantHandler[Req, A any, C domain.GrantClaims, Out any](def grantDefinition[Req, A, C, Out],
	budgets *Budgets, clock domain.Clock, ids domain.IDSource) *IssueGrantHandler[Req, A, C, Out] {
	return &IssueGrantHandler[Req, A, C, Out]{def: def, budgets: budgets, clock: clock, ids: ids}
}

// guard makes r refuse revoked callers before anything else runs.
func (h *IssueGrantHandler[Req, A, C, Out]) guard(r *Revocations) { h.revocations = r }

// Kind is the kind of grant the handler issues.
func (h *IssueGrantHandler[Req, A, C, Out]) Kind() domain.GrantKind { return h.def.kind }

// Enabled reports whether this deployment issues the kind: always, as a
// disabled kind is registered without a handler (RegisterDisabled).
func (h *IssueGrantHandler[Req, A, C, Out]) Enabled() bool { return true }

// Handle issues a grant, in the one order every kind follows (the caller
// was authenticated before): refuse a revoked caller (ErrRevoked, which
// spends no budget: the identity is genuine, only outdated), spend the
// caller's budget for the kind,
// authorize by the policy, fix the time window (GRANT_EXPIRY_BOUND
// included), make the id, build the claims, sign, and shape the answer
// the inbound adapter records in its audit line. Every refusal after the
// budget has spent it, so a caller pays for each request it makes.
func (h *IssueGrantHandler[Req, A, C, Out]) Handle(ctx context.Context, cmd IssueGrant[Req]) (Out, error) {
	var none Out
	d := &h.def
	if err := h.revocations.Check(cmd.Caller); err != nil {
		return none, fmt.Errorf("%s grant: %w", d.kind, err)
	}
	if err := h.budgets.SpendGrant(ctx, d.kind, cmd.Caller.UserID); err != nil {
		return none, err
	}
	granted, err := d.authorize(cmd.Caller, cmd.Request)
	if err != nil {
		return none, fmt.Errorf("%s policy: %w", d.kind, err)
	}
	now, ttl, err := issueWindow(h.clock, d.window.bound, d.window.ttl, cmd.IdentityExpiresAt)
	if err != nil {
		return none, err
	}
	id, err := h.ids.NewID()
	if err != nil {
		return none, fmt.Errorf("%s grant id: %w", d.kind, err)
	}
	claims, err := d.claims(cmd.Caller, cmd.Request, granted, domain.Issuance{
		Issuer: d.window.issuer, Audience: d.window.audience, ID: id, Now: now, TTL: ttl,
	})
	if err != nil {
		return none, fmt.Errorf("%s claims: %w", d.kind, err)
	}
	token, err := d.sign(ctx, claims)
	if err != nil {
		return none, fmt.Errorf("sign %s grant: %w", d.kind, err)
	}
	r := claims.RegisteredClaims()
	return d.result(domain.Grant{ID: id, Token: token, ExpiresAt: r.ExpiresAt, TTL: r.TTL()}, claims), nil
}

// RefuseUnreadable answers an authenticated caller's request that the
// inbound adapter could not read (its body malformed, of the wrong type,
// or over a limit): it spends the caller's budget for the kind as Handle
// does and returns why, or the budget's own refusal once it is spent. A
// revoked caller is refused as revoked, and spends nothing.
func (h *IssueGrantHandler[Req, A, C, Out]) RefuseUnreadable(ctx context.Context, caller domain.Principal, why error) error {
	if err := h.revocations.Check(caller); err != nil {
		return fmt.Errorf("%s grant: %w", h.def.kind, err)
	}
	if err := h.budgets.SpendGrant(ctx, h.def.kind, caller.UserID); err != nil {
		return err
	}
	return why
}

// GrantRegistration is one grant kind handed to New: the kind's
// definition, how its grants' expiry is bound, and its signer
// (RegisterGrant), or the kind marked disabled (RegisterDisabled).
type GrantRegistration interface {
	// Kind is the kind registered.
	Kind() domain.GrantKind
	// audience is the registered grants' aud; "" when they have none or
	// the kind is disabled.
	audience() string
	useCase(policy *Policy, budgets *Budgets, clock domain.Clock, ids domain.IDSource, meter domain.SignatureMeter) (grantUseCase, error)
}

// Errors of a registration New refuses.
var (
	// ErrNoDefinition means a grant kind was registered with a definition
	// its kind's constructor did not make.
	ErrNoDefinition = errors.New("grant definition not made by its kind's constructor")
	// ErrNoSigner means an enabled grant kind was registered without a
	// signer.
	ErrNoSigner = errors.New("grant kind registered without a signer")
	// ErrKindRegisteredTwice means two registrations name one grant kind.
	ErrKindRegisteredTwice = errors.New("grant kind registered twice")
)

type grantRegistration[Req, A any, C domain.GrantClaims, Out any] struct {
	def   domain.GrantDefinition[Req, A, C, Out]
	bound GrantExpiryBound
	sign  Signer[C]
}

// RegisterGrant registers a grant kind by its definition, which its
// constructor made from settings it checked: its grants' expiry bound by
// bound, signed by sign. Its use case is then Issuer[Req, Out](app,
// def.Kind()). New refuses a zero definition or a nil sign; a kind this
// deployment does not issue is registered with RegisterDisabled.
func RegisterGrant[Req, A any, C domain.GrantClaims, Out any](def domain.GrantDefinition[Req, A, C, Out],
	bound GrantExpiryBound, sign Signer[C]) GrantRegistration {
	return grantRegistration[Req, A, C, Out]{def: def, bound: bound, sign: sign}
}

func (r grantRegistration[Req, A, C, Out]) Kind() domain.GrantKind { return r.def.Kind() }

func (r grantRegistration[Req, A, C, Out]) audience() string { return r.def.Audience() }

func (r grantRegistration[Req, A, C, Out]) useCase(policy *Policy, budgets *Budgets, clock domain.Clock, ids domain.IDSource,
	meter domain.SignatureMeter) (grantUseCase, error) {
	d := r.def
	switch {
	case d.Kind() == "":
		return nil, ErrNoDefinition
	case r.sign == nil:
		return nil, fmt.Errorf("%s grant: %w (register it with RegisterDisabled while it is off)", d.Kind(), ErrNoSigner)
	}
	return newIssueGrantHandler(grantDefinition[Req, A, C, Out]{
		kind:   d.Kind(),
		window: grantWindow{issuer: d.Issuer(), audience: d.Audience(), ttl: d.TTL(), bound: r.bound},
		authorize: func(caller domain.Principal, req Req) (A, error) {
			return d.Authorize(policy.rules, caller, req)
		},
		claims: d.Claims,
		sign:   metered(meter, clock, d.Kind(), r.sign),
		result: d.Result,
	}, budgets, clock, ids), nil
}

// RegisterDisabled registers a grant kind this deployment does not issue,
// without settings: its use case is there, and refuses every request with
// ErrGrantKindDisabled.
func RegisterDisabled(kind domain.GrantKind) GrantRegistration { return disabledRegistration(kind) }

type disabledRegistration domain.GrantKind

func (r disabledRegistration) Kind() domain.GrantKind { return domain.GrantKind(r) }

func (disabledRegistration) audience() string { return "" }

func (r disabledRegistration) useCase(*Policy, *Budgets, domain.Clock, domain.IDSource, domain.SignatureMeter) (grantUseCase, error) {
	if r == "" {
		return nil, ErrNoDefinition
	}
	return disabledGrant{kind: domain.GrantKind(r)}, nil
}

// disabledGrant is the use case of a disabled kind. Issuer sees it as the
// GrantIssuer of whatever types it is asked for, as it issues nothing.
type disabledGrant struct{ kind domain.GrantKind }

func (d disabledGrant) Kind() domain.GrantKind { return d.kind }

func (disabledGrant) Enabled() bool { return false }

func (disabledGrant) guard(*Revocations) {}

func (d disabledGrant) refusal() error { return fmt.Errorf("%w: %s", ErrGrantKindDisabled, d.kind) }

// disabledIssuer is a disabledGrant seen as a GrantIssuer[Req, Out].
type disabledIssuer[Req, Out any] struct{ disabledGrant }

func (d disabledIssuer[Req, Out]) Handle(context.Context, IssueGrant[Req]) (Out, error) {
	var none Out
	return none, d.refusal()
}

func (d disabledIssuer[Req, Out]) RefuseUnreadable(context.Context, domain.Principal, error) error {
	return d.refusal()
}

// metered is sign wrapped in meter's decorator for kind, timed by clock:
// the one decorator of every kind's signer. A nil meter meters nothing; a
// nil sign stays nil, for its registration to refuse.
func metered[C any](meter domain.SignatureMeter, clock domain.Clock, kind domain.GrantKind, sign Signer[C]) Signer[C] {
	if meter == nil || sign == nil {
		return sign
	}
	observe := meter.MeterSignatures(kind)
	return func(ctx context.Context, c C) (string, error) {
		start := clock.Now()
		tok, err := sign(ctx, c)
		observe(clock.Now().Sub(start), err)
		return tok, err
	}
}
