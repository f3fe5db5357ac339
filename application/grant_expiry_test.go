package application_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
	"github.com/gatepass/gatepass/domain/mocks"
)

// expiringIdentity is an identity verifier that also tells expiry, as the
// optional domain.ExpiringIdentityVerifier port asks.
type expiringIdentity struct {
	p   domain.Principal
	exp time.Time
	err error
}

func (e expiringIdentity) VerifyIdentity(ctx context.Context, bearer string) (domain.Principal, error) {
	p, _, err := e.VerifyIdentityUntil(ctx, bearer)
	return p, err
}

func (e expiringIdentity) VerifyIdentityUntil(context.Context, string) (domain.Principal, time.Time, error) {
	return e.p, e.exp, e.err
}

func TestAuthenticateCallerTellsIdentityExpiry(t *testing.T) {
	exp := now.Add(90 * time.Second)
	h := application.NewAuthenticateCallerHandler(expiringIdentity{p: member, exp: exp}, application.Unlimited())
	if !h.CanTellIdentityExpiry() {
		t.Fatal("an expiring verifier was not recognised")
	}
	id, err := h.Handle(context.Background(), application.AuthenticateCaller{Bearer: "tok"})
	if err != nil || id.Principal != member || !id.ExpiresAt.Equal(exp) {
		t.Fatalf("identity %+v, %v", id, err)
	}
	plain := application.NewAuthenticateCallerHandler(mocks.NewMockIdentityVerifier(gomock.NewController(t)), application.Unlimited())
	if plain.CanTellIdentityExpiry() {
		t.Fatal("a verifier without expiry claims to tell it")
	}
}

// TestGrantsBoundByTheIdentity: under ExpiryBoundIdentity no grant
// outlives the identity, an identity about to expire gets none (before any
// budget is spent), and an unknown expiry is refused; under
// ExpiryBoundNone the policy's TTL stands.
func TestGrantsBoundByTheIdentity(t *testing.T) {
	tests := []struct {
		name    string
		bound   application.GrantExpiryBound
		left    time.Duration // 0: expiry unknown
		wantTTL time.Duration
		wantErr error
	}{
		{name: "none: the policy's TTL", bound: application.ExpiryBoundNone, left: 10 * time.Second, wantTTL: time.Hour},
		{name: "identity outlives the TTL", bound: application.ExpiryBoundIdentity, left: 2 * time.Hour, wantTTL: time.Hour},
		{name: "identity ends first", bound: application.ExpiryBoundIdentity, left: 90 * time.Second, wantTTL: 90 * time.Second},
		{name: "5s left is enough", bound: application.ExpiryBoundIdentity, left: application.MinIdentityLeft, wantTTL: application.MinIdentityLeft},
		{name: "under 5s left", bound: application.ExpiryBoundIdentity, left: 4 * time.Second, wantErr: domain.ErrInvalidCredentials},
		{name: "expiry unknown", bound: application.ExpiryBoundIdentity, wantErr: application.ErrIdentityExpiryUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctrl := gomock.NewController(t)
			clock, ids, signer := mocks.NewMockClock(ctrl), mocks.NewMockIDSource(ctrl), mocks.NewMockRealtimeSigner(ctrl)
			clock.EXPECT().Now().Return(now).AnyTimes()
			if tt.wantErr == nil {
				ids.EXPECT().NewID().Return("id", nil)
				signer.EXPECT().SignRealtime(gomock.Any(), gomock.Any()).Return("signed", nil)
			}
			// The budget is spent whether the identity is refused or not.
			limiter := mocks.NewMockRateLimiter(ctrl)
			limiter.EXPECT().Allow(gomock.Any(), gomock.Any(), gomock.Any()).Return(domain.Decision{Allowed: true}, nil)
			app := newApp(t, application.Ports{Clock: clock, IDs: ids, Limiter: limiter}, application.Grants{Kinds: []application.GrantRegistration{
				realtimeKind(t, domain.RealtimeSettings{Issuer: "qubital-backend", TTL: time.Hour}, tt.bound, signer.SignRealtime),
			}}, limits(false))
			h := realtimeIssuer(app)
			cmd := application.IssueGrant[struct{}]{Caller: member}
			if tt.left > 0 {
				cmd.IdentityExpiresAt = now.Add(tt.left)
			}
			g, err := h.Handle(context.Background(), cmd)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if g.TTL != tt.wantTTL {
				t.Fatalf("ttl %s, want %s", g.TTL, tt.wantTTL)
			}
			if tt.bound == application.ExpiryBoundIdentity && g.ExpiresAt.After(cmd.IdentityExpiresAt) {
				t.Fatalf("grant expires at %s, after the identity at %s", g.ExpiresAt, cmd.IdentityExpiresAt)
			}
		})
	}
}

// TestOfficeGrantBoundByTheIdentity: a fractional clock never lets the
// whole-second claims pass the identity's expiry.
func TestOfficeGrantBoundByTheIdentity(t *testing.T) {
	ctrl := gomock.NewController(t)
	clock, ids, signer := mocks.NewMockClock(ctrl), mocks.NewMockIDSource(ctrl), mocks.NewMockOfficeSigner(ctrl)
	at := now.Add(700 * time.Millisecond)
	identityExp := now.Add(30*time.Second + 200*time.Millisecond)
	clock.EXPECT().Now().Return(at)
	ids.EXPECT().NewID().Return("id", nil)
	signer.EXPECT().SignOffice(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, c domain.OfficeClaims) (string, error) {
		if c.ExpiresAt.After(identityExp) || c.ExpiresAt.Before(identityExp.Add(-time.Second)) {
			t.Errorf("exp %s, identity %s", c.ExpiresAt, identityExp)
		}
		return "signed", nil
	})
	app := newApp(t, application.Ports{Clock: clock, IDs: ids}, application.Grants{Kinds: []application.GrantRegistration{
		officeKind(t, office, application.ExpiryBoundIdentity, signer.SignOffice),
	}}, application.RateLimitPolicy{})
	if _, err := officeIssuer(app).Handle(context.Background(), application.IssueGrant[domain.OfficeRequest]{Caller: member, IdentityExpiresAt: identityExp}); err != nil {
		t.Fatal(err)
	}
}

func TestGrantExpiryBoundParses(t *testing.T) {
	var b application.GrantExpiryBound
	for _, ok := range []string{"none", "identity"} {
		if err := b.UnmarshalText([]byte(ok)); err != nil || b.String() != ok {
			t.Errorf("%s: %v", ok, err)
		}
	}
	if err := b.UnmarshalText([]byte("session")); !errors.Is(err, application.ErrUnknownExpiryBound) {
		t.Errorf("err = %v", err)
	}
}
