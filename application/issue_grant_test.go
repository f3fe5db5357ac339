package application_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
	"github.com/gatepass/gatepass/domain/mocks"
)

// grantKindCase drives one grant kind through the pipeline.
type grantKindCase struct {
	kind  domain.GrantKind
	limit domain.Limit
	// issue asks for a grant as caller, whose identity expires at exp.
	issue func(app *application.Application, caller domain.Principal, exp time.Time) error
	// refused is a caller the policy refuses this kind, and why; nil for
	// a kind every caller may have.
	refused    *domain.Principal
	refusedErr error
	// expectSign expects the kind's signer to be asked once.
	expectSign func(f transportFixture) *gomock.Call
	refuse     func(app *application.Application, caller domain.Principal, why error) error
}

func grantKindCases() []grantKindCase {
	ctx := context.Background()
	return []grantKindCase{
		{
			kind: domain.GrantOffice, limit: officeLimit, refused: &loner, refusedErr: domain.ErrNoOrganization,
			issue: func(app *application.Application, caller domain.Principal, exp time.Time) error {
				_, err := officeIssuer(app).Handle(ctx, application.IssueGrant[domain.OfficeRequest]{Caller: caller, IdentityExpiresAt: exp})
				return err
			},
			expectSign: func(f transportFixture) *gomock.Call {
				return f.office.EXPECT().SignOffice(gomock.Any(), gomock.Any()).Return("signed", nil).Call
			},
			refuse: func(app *application.Application, caller domain.Principal, why error) error {
				return officeIssuer(app).RefuseUnreadable(ctx, caller, why)
			},
		},
		{
			kind: domain.GrantRealtime, limit: realtimeLimit,
			issue: func(app *application.Application, caller domain.Principal, exp time.Time) error {
				_, err := realtimeIssuer(app).Handle(ctx, application.IssueGrant[struct{}]{Caller: caller, IdentityExpiresAt: exp})
				return err
			},
			expectSign: func(f transportFixture) *gomock.Call {
				return f.realtime.EXPECT().SignRealtime(gomock.Any(), gomock.Any()).Return("signed", nil).Call
			},
			refuse: func(app *application.Application, caller domain.Principal, why error) error {
				return realtimeIssuer(app).RefuseUnreadable(ctx, caller, why)
			},
		},
		{
			kind: domain.GrantLiveKit, limit: liveKitLimit, refused: &loner, refusedErr: domain.ErrNoOrganization,
			issue: func(app *application.Application, caller domain.Principal, exp time.Time) error {
				_, err := liveKitIssuer(app).Handle(ctx, application.IssueGrant[domain.LiveKitRequest]{
					Caller: caller, Request: domain.LiveKitRequest{Room: "standup"}, IdentityExpiresAt: exp,
				})
				return err
			},
			expectSign: func(f transportFixture) *gomock.Call {
				return f.livekit.EXPECT().SignLiveKit(gomock.Any(), gomock.Any()).Return("signed", nil).Call
			},
			refuse: func(app *application.Application, caller domain.Principal, why error) error {
				return liveKitIssuer(app).RefuseUnreadable(ctx, caller, why)
			},
		},
		{
			kind: domain.GrantCentrifugoConnection, limit: connectionLimit, refused: &loner, refusedErr: domain.ErrNoOrganization,
			issue: func(app *application.Application, caller domain.Principal, exp time.Time) error {
				_, err := connectionIssuer(app).Handle(ctx, application.IssueGrant[struct{}]{Caller: caller, IdentityExpiresAt: exp})
				return err
			},
			expectSign: func(f transportFixture) *gomock.Call {
				return f.centrifugo.EXPECT().SignCentrifugoConnection(gomock.Any(), gomock.Any()).Return("signed", nil).Call
			},
			refuse: func(app *application.Application, caller domain.Principal, why error) error {
				return connectionIssuer(app).RefuseUnreadable(ctx, caller, why)
			},
		},
		{
			// The caller's own organization's channel: the policy refuses
			// only a caller outside it.
			kind: domain.GrantCentrifugoSubscription, limit: subscribeLimit, refused: &viewerElsewhere, refusedErr: domain.ErrChannelNotAllowed,
			issue: func(app *application.Application, caller domain.Principal, exp time.Time) error {
				_, err := subscriptionIssuer(app).Handle(ctx, application.IssueGrant[domain.CentrifugoSubscriptionRequest]{
					Caller: caller, Request: domain.CentrifugoSubscriptionRequest{Channel: "org:org_01"}, IdentityExpiresAt: exp,
				})
				return err
			},
			expectSign: func(f transportFixture) *gomock.Call {
				return f.centrifugo.EXPECT().SignCentrifugoSubscription(gomock.Any(), gomock.Any()).Return("signed", nil).Call
			},
			refuse: func(app *application.Application, caller domain.Principal, why error) error {
				return subscriptionIssuer(app).RefuseUnreadable(ctx, caller, why)
			},
		},
		{
			kind: domain.GrantNATS, limit: natsLimit, refused: &loner, refusedErr: domain.ErrNoOrganization,
			issue: func(app *application.Application, caller domain.Principal, exp time.Time) error {
				_, err := natsIssuer(app).Handle(ctx, application.IssueGrant[domain.NATSRequest]{Caller: caller, IdentityExpiresAt: exp})
				return err
			},
			expectSign: func(f transportFixture) *gomock.Call {
				return f.nats.EXPECT().SignNATSUser(gomock.Any(), gomock.Any()).Return("signed", nil).Call
			},
			refuse: func(app *application.Application, caller domain.Principal, why error) error {
				return natsIssuer(app).RefuseUnreadable(ctx, caller, why)
			},
		},
	}
}

// viewerElsewhere is a member of another organization.
var viewerElsewhere = domain.Principal{UserID: "user_05H", OrgID: "org_02", Role: "viewer"}

// TestEveryKindIssuesInOneOrder pins the pipeline's fixed order for every
// grant kind: the budget is spent first, then the policy decides, then the
// time window (GRANT_EXPIRY_BOUND) is fixed, then the id is made and the
// claims signed. Every refusal after authentication has spent the budget.
func TestEveryKindIssuesInOneOrder(t *testing.T) {
	spent := domain.Decision{RetryAfter: time.Second}
	for _, k := range grantKindCases() {
		key := func(p domain.Principal) string { return string(k.limit.Budget) + ":" + p.UserID }
		t.Run(k.kind.String()+"/spends, fixes the window, makes the id, signs", func(t *testing.T) {
			f := newTransportFixture(t, application.ExpiryBoundNone, nil)
			gomock.InOrder(
				f.limiter.EXPECT().Allow(gomock.Any(), key(member), k.limit).Return(allowed, nil),
				f.clock.EXPECT().Now().Return(now),
				f.ids.EXPECT().NewID().Return("id", nil),
				k.expectSign(f),
			)
			if err := k.issue(f.app, member, time.Time{}); err != nil {
				t.Fatal(err)
			}
		})
		t.Run(k.kind.String()+"/a spent budget refuses before the policy is asked", func(t *testing.T) {
			f := newTransportFixture(t, application.ExpiryBoundIdentity, nil)
			caller := member
			if k.refused != nil {
				caller = *k.refused
			}
			f.limiter.EXPECT().Allow(gomock.Any(), key(caller), k.limit).Return(spent, nil)
			// Neither the policy's refusal nor the identity's missing
			// expiry is seen: the budget came first.
			if err := k.issue(f.app, caller, time.Time{}); !errors.Is(err, domain.ErrRateLimited) {
				t.Fatalf("err = %v, want %v", err, domain.ErrRateLimited)
			}
		})
		if k.refused != nil {
			t.Run(k.kind.String()+"/a policy refusal spends, before the identity bound", func(t *testing.T) {
				f := newTransportFixture(t, application.ExpiryBoundIdentity, nil)
				f.limiter.EXPECT().Allow(gomock.Any(), key(*k.refused), k.limit).Return(allowed, nil)
				// An identity about to expire: the policy's answer comes first.
				err := k.issue(f.app, *k.refused, now.Add(time.Second))
				if !errors.Is(err, k.refusedErr) {
					t.Fatalf("err = %v, want %v", err, k.refusedErr)
				}
			})
		}
		t.Run(k.kind.String()+"/an identity-bound refusal spends, before the id and the signer", func(t *testing.T) {
			f := newTransportFixture(t, application.ExpiryBoundIdentity, nil)
			gomock.InOrder(
				f.limiter.EXPECT().Allow(gomock.Any(), key(member), k.limit).Return(allowed, nil),
				f.clock.EXPECT().Now().Return(now),
			)
			if err := k.issue(f.app, member, now.Add(2*time.Second)); !errors.Is(err, domain.ErrInvalidCredentials) {
				t.Fatalf("err = %v, want %v", err, domain.ErrInvalidCredentials)
			}
		})
		t.Run(k.kind.String()+"/an unreadable request spends", func(t *testing.T) {
			f := newTransportFixture(t, application.ExpiryBoundNone, nil)
			why := fmt.Errorf("%w: malformed body", errBoom)
			gomock.InOrder(
				f.limiter.EXPECT().Allow(gomock.Any(), key(member), k.limit).Return(allowed, nil),
				f.limiter.EXPECT().Allow(gomock.Any(), key(member), k.limit).Return(spent, nil),
			)
			if err := k.refuse(f.app, member, why); err != why {
				t.Fatalf("err = %v, want %v", err, why)
			}
			if err := k.refuse(f.app, member, why); !errors.Is(err, domain.ErrRateLimited) {
				t.Fatalf("err = %v, want %v once the budget is spent", err, domain.ErrRateLimited)
			}
		})
	}
}

// signatureMeter records what it is asked to meter.
type signatureMeter struct {
	asked    []domain.GrantKind
	observed []signature
}

type signature struct {
	kind domain.GrantKind
	took time.Duration
	err  error
}

func (m *signatureMeter) MeterSignatures(kind domain.GrantKind) func(time.Duration, error) {
	m.asked = append(m.asked, kind)
	return func(took time.Duration, err error) { m.observed = append(m.observed, signature{kind, took, err}) }
}

// TestEveryKindsSignerIsMetered: New wraps every kind's signer, the office
// and realtime grants' included, in the one meter (Ports.Meter), asked
// once per kind: each signature is observed under its kind, timed by the
// clock around the signer alone, with the signer's error.
func TestEveryKindsSignerIsMetered(t *testing.T) {
	for _, k := range grantKindCases() {
		t.Run(k.kind.String(), func(t *testing.T) {
			meter := &signatureMeter{}
			f := newMeteredTransportFixture(t, application.ExpiryBoundNone, nil, meter)
			if !slices.Equal(slices.Sorted(slices.Values(meter.asked)), slices.Sorted(slices.Values(domain.GrantKinds()))) {
				t.Fatalf("meters asked for %v, want one for each of %v", meter.asked, domain.GrantKinds())
			}
			gomock.InOrder(
				f.limiter.EXPECT().Allow(gomock.Any(), gomock.Any(), k.limit).Return(allowed, nil),
				f.clock.EXPECT().Now().Return(now),
				f.ids.EXPECT().NewID().Return("id", nil),
				f.clock.EXPECT().Now().Return(now.Add(time.Second)),
				k.expectSign(f).Return("", errBoom),
				f.clock.EXPECT().Now().Return(now.Add(1500*time.Millisecond)),
			)
			if err := k.issue(f.app, member, time.Time{}); !errors.Is(err, errBoom) {
				t.Fatalf("err = %v, want the signer's %v", err, errBoom)
			}
			want := []signature{{kind: k.kind, took: 500 * time.Millisecond, err: errBoom}}
			if len(meter.observed) != 1 || meter.observed[0].kind != want[0].kind || meter.observed[0].took != want[0].took ||
				!errors.Is(meter.observed[0].err, errBoom) {
				t.Fatalf("observed %+v, want %+v", meter.observed, want)
			}
		})
	}
	t.Run("a disabled kind stays disabled and unmetered", func(t *testing.T) {
		meter := &signatureMeter{}
		ctrl := gomock.NewController(t)
		app := newApp(t, application.Ports{Meter: meter}, application.Grants{
			Kinds: builtIn(t, mocks.NewMockOfficeSigner(ctrl).SignOffice, mocks.NewMockRealtimeSigner(ctrl).SignRealtime, disabledKinds()...),
		}, application.RateLimitPolicy{})
		for _, reg := range disabledKinds() {
			if app.Enabled(reg.Kind()) || slices.Contains(meter.asked, reg.Kind()) {
				t.Errorf("%s: enabled %v, metered %v; want disabled, unmetered", reg.Kind(), app.Enabled(reg.Kind()), meter.asked)
			}
		}
	})
}

// TestDisabledKindsAreMarkedDisabled: every kind has its use case; a
// transport without settings is reported disabled and its use case
// refuses without spending anything or signing.
func TestDisabledKindsAreMarkedDisabled(t *testing.T) {
	f := newFixture(t)
	enabled := map[domain.GrantKind]bool{domain.GrantOffice: true, domain.GrantRealtime: true}
	for _, k := range grantKindCases() {
		if got := f.app.Enabled(k.kind); got != enabled[k.kind] {
			t.Errorf("%s enabled = %v, want %v", k.kind, got, enabled[k.kind])
		}
		if enabled[k.kind] {
			continue
		}
		if err := k.issue(f.app, member, time.Time{}); !errors.Is(err, application.ErrGrantKindDisabled) {
			t.Errorf("%s: err = %v, want %v", k.kind, err, application.ErrGrantKindDisabled)
		}
	}
	all := newTransportFixture(t, application.ExpiryBoundNone, nil)
	for _, kind := range domain.GrantKinds() {
		if !all.app.Enabled(kind) {
			t.Errorf("%s is disabled with its settings given", kind)
		}
	}
}
