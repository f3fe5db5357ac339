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

var (
	now      = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	member   = domain.Principal{UserID: "user_01H", OrgID: "org_01", Role: "admin"}
	loner    = domain.Principal{UserID: "user_02H"}
	errBoom  = errors.New("boom")
	office   = domain.OfficeSettings{Issuer: "gatepass", Audience: "office-router", TTL: time.Minute, URL: "wss://office.example/ws"}
	realtime = domain.RealtimeSettings{Issuer: "qubital-backend", TTL: time.Hour}
)

type fixture struct {
	app      *application.Application
	identity *mocks.MockIdentityVerifier
	office   *mocks.MockOfficeSigner
	realtime *mocks.MockRealtimeSigner
	clock    *mocks.MockClock
	ids      *mocks.MockIDSource
	keys     *mocks.MockKeySet
	limiter  *mocks.MockRateLimiter
}

var (
	officeLimit   = domain.Limit{Budget: domain.BudgetOf(domain.GrantOffice), Rate: 30, Period: time.Minute, Burst: 10}
	realtimeLimit = domain.Limit{Budget: domain.BudgetOf(domain.GrantRealtime), Rate: 10, Period: time.Minute, Burst: 5}
	authLimit     = domain.Limit{Budget: domain.BudgetAuthFailure, Rate: 60, Period: time.Minute, Burst: 20}
)

func newFixture(t *testing.T) fixture {
	return newLimitedFixture(t, application.RateLimitPolicy{})
}

func newLimitedFixture(t *testing.T, limits application.RateLimitPolicy) fixture {
	ctrl := gomock.NewController(t)
	f := fixture{
		identity: mocks.NewMockIdentityVerifier(ctrl),
		office:   mocks.NewMockOfficeSigner(ctrl),
		realtime: mocks.NewMockRealtimeSigner(ctrl),
		clock:    mocks.NewMockClock(ctrl),
		ids:      mocks.NewMockIDSource(ctrl),
		keys:     mocks.NewMockKeySet(ctrl),
		limiter:  mocks.NewMockRateLimiter(ctrl),
	}
	f.app = newApp(t, application.Ports{
		Identity: f.identity, Clock: f.clock, IDs: f.ids, Keys: f.keys, Limiter: f.limiter,
	}, application.Grants{Kinds: builtIn(t, f.office.SignOffice, f.realtime.SignRealtime, disabledKinds()...)}, limits)
	return f
}

// newApp is application.New for settings the test means to be valid.
func newApp(t testing.TB, p application.Ports, g application.Grants, limits application.RateLimitPolicy) *application.Application {
	t.Helper()
	app, err := application.New(p, g, limits, nil)
	if err != nil {
		t.Fatal(err)
	}
	return app
}

// officeKind registers the office grant kind with s, bound and sign.
func officeKind(t testing.TB, s domain.OfficeSettings, bound application.GrantExpiryBound, sign application.Signer[domain.OfficeClaims]) application.GrantRegistration {
	t.Helper()
	def, err := domain.OfficeDefinition(s)
	if err != nil {
		t.Fatal(err)
	}
	return application.RegisterGrant(def, bound, sign)
}

// realtimeKind registers the Supabase Realtime kind with s, bound and
// sign.
func realtimeKind(t testing.TB, s domain.RealtimeSettings, bound application.GrantExpiryBound, sign application.Signer[domain.RealtimeClaims]) application.GrantRegistration {
	t.Helper()
	def, err := domain.RealtimeDefinition(s)
	if err != nil {
		t.Fatal(err)
	}
	return application.RegisterGrant(def, bound, sign)
}

// builtIn registers the office and realtime kinds with the test's
// settings, signed by office and realtime, and then others.
func builtIn(t testing.TB, officeSign application.Signer[domain.OfficeClaims], realtimeSign application.Signer[domain.RealtimeClaims],
	others ...application.GrantRegistration) []application.GrantRegistration {
	t.Helper()
	return append([]application.GrantRegistration{
		officeKind(t, office, application.ExpiryBoundNone, officeSign),
		realtimeKind(t, realtime, application.ExpiryBoundNone, realtimeSign),
	}, others...)
}

// officeIssuer is the office grant's use case.
func officeIssuer(a *application.Application) application.GrantIssuer[domain.OfficeRequest, domain.OfficeGrant] {
	return application.Issuer[domain.OfficeRequest, domain.OfficeGrant](a, domain.GrantOffice)
}

// realtimeIssuer is the Supabase Realtime token's use case.
func realtimeIssuer(a *application.Application) application.GrantIssuer[struct{}, domain.Grant] {
	return application.Issuer[struct{}, domain.Grant](a, domain.GrantRealtime)
}

// disabledKinds registers the transports' kinds without settings or
// signers, as a deployment that leaves them off does.
func disabledKinds() []application.GrantRegistration {
	return []application.GrantRegistration{
		application.RegisterDisabled(domain.GrantLiveKit),
		application.RegisterDisabled(domain.GrantCentrifugoConnection),
		application.RegisterDisabled(domain.GrantCentrifugoSubscription),
		application.RegisterDisabled(domain.GrantNATS),
	}
}

func TestAuthenticateCaller(t *testing.T) {
	tests := []struct {
		name    string
		bearer  string
		verify  func(*mocks.MockIdentityVerifier)
		want    domain.Principal
		wantErr error
	}{
		{name: "verified", bearer: "tok", want: member, verify: func(m *mocks.MockIdentityVerifier) {
			m.EXPECT().VerifyIdentity(gomock.Any(), "tok").Return(member, nil)
		}},
		{name: "empty bearer never reaches the verifier", bearer: "  ", wantErr: domain.ErrMissingCredentials},
		{name: "verifier refuses", bearer: "bad", wantErr: domain.ErrInvalidCredentials, verify: func(m *mocks.MockIdentityVerifier) {
			m.EXPECT().VerifyIdentity(gomock.Any(), "bad").Return(domain.Principal{}, domain.ErrInvalidCredentials)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			if tt.verify != nil {
				tt.verify(f.identity)
			}
			got, err := f.app.AuthenticateCaller.Handle(context.Background(), application.AuthenticateCaller{Bearer: tt.bearer})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got.Principal != tt.want || !got.ExpiresAt.IsZero() {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestOfficeGrant(t *testing.T) {
	wantClaims := domain.OfficeClaims{
		Registered: domain.Registered{
			Issuer: "gatepass", Subject: "user_01H", Audience: "office-router", ID: "id-1",
			IssuedAt: now, NotBefore: now, ExpiresAt: now.Add(time.Minute),
		},
		UserID: "user_01H", OrgID: "org_01", Role: "admin",
	}
	tests := []struct {
		name    string
		cmd     application.IssueGrant[domain.OfficeRequest]
		setup   func(f fixture)
		wantErr error
	}{
		{name: "grant for the caller's organization", cmd: application.IssueGrant[domain.OfficeRequest]{Caller: member}, setup: func(f fixture) {
			f.clock.EXPECT().Now().Return(now)
			f.ids.EXPECT().NewID().Return("id-1", nil)
			f.office.EXPECT().SignOffice(gomock.Any(), wantClaims).Return("signed", nil)
		}},
		{name: "explicit matching organization", cmd: application.IssueGrant[domain.OfficeRequest]{Caller: member, Request: domain.OfficeRequest{OrgID: "org_01"}}, setup: func(f fixture) {
			f.clock.EXPECT().Now().Return(now)
			f.ids.EXPECT().NewID().Return("id-1", nil)
			f.office.EXPECT().SignOffice(gomock.Any(), wantClaims).Return("signed", nil)
		}},
		{name: "other organization is refused before signing", cmd: application.IssueGrant[domain.OfficeRequest]{Caller: member, Request: domain.OfficeRequest{OrgID: "org_02"}},
			wantErr: domain.ErrOrganizationMismatch},
		{name: "caller without organization", cmd: application.IssueGrant[domain.OfficeRequest]{Caller: loner}, wantErr: domain.ErrNoOrganization},
		{name: "id source fails", cmd: application.IssueGrant[domain.OfficeRequest]{Caller: member}, wantErr: errBoom, setup: func(f fixture) {
			f.clock.EXPECT().Now().Return(now)
			f.ids.EXPECT().NewID().Return("", errBoom)
		}},
		{name: "signer fails", cmd: application.IssueGrant[domain.OfficeRequest]{Caller: member}, wantErr: errBoom, setup: func(f fixture) {
			f.clock.EXPECT().Now().Return(now)
			f.ids.EXPECT().NewID().Return("id-1", nil)
			f.office.EXPECT().SignOffice(gomock.Any(), gomock.Any()).Return("", errBoom)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			if tt.setup != nil {
				tt.setup(f)
			}
			got, err := officeIssuer(f.app).Handle(context.Background(), tt.cmd)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				if got != (domain.OfficeGrant{}) {
					t.Fatalf("a failed request returned a grant: %+v", got)
				}
				return
			}
			want := domain.OfficeGrant{Grant: domain.Grant{ID: "id-1", Token: "signed", ExpiresAt: now.Add(time.Minute), TTL: time.Minute}, URL: office.URL}
			if got != want {
				t.Fatalf("grant %+v, want %+v", got, want)
			}
		})
	}
}

func TestRealtimeToken(t *testing.T) {
	tests := []struct {
		name    string
		caller  domain.Principal
		wantApp *domain.AppMetadata
		signErr error
	}{
		{name: "member", caller: member, wantApp: &domain.AppMetadata{OrgID: "org_01", OrgRole: "admin"}},
		{name: "caller without organization still gets a token", caller: loner},
		{name: "signer fails", caller: member, wantApp: &domain.AppMetadata{OrgID: "org_01", OrgRole: "admin"}, signErr: errBoom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.clock.EXPECT().Now().Return(now)
			f.ids.EXPECT().NewID().Return("id-2", nil)
			f.realtime.EXPECT().SignRealtime(gomock.Any(), gomock.Any()).DoAndReturn(
				func(_ context.Context, c domain.RealtimeClaims) (string, error) {
					if c.Issuer != "qubital-backend" || c.Audience != "authenticated" || c.Role != "authenticated" ||
						c.Subject != tt.caller.UserID || c.ID != "id-2" || !c.ExpiresAt.Equal(now.Add(time.Hour)) {
						t.Errorf("claims %+v", c)
					}
					if (c.App == nil) != (tt.wantApp == nil) || (c.App != nil && *c.App != *tt.wantApp) {
						t.Errorf("app metadata %+v, want %+v", c.App, tt.wantApp)
					}
					return "signed", tt.signErr
				})
			got, err := realtimeIssuer(f.app).Handle(context.Background(), application.IssueGrant[struct{}]{Caller: tt.caller})
			if !errors.Is(err, tt.signErr) {
				t.Fatalf("err = %v, want %v", err, tt.signErr)
			}
			if err == nil && got != (domain.Grant{ID: "id-2", Token: "signed", ExpiresAt: now.Add(time.Hour), TTL: time.Hour}) {
				t.Fatalf("grant %+v", got)
			}
		})
	}
}

func TestListVerificationKeys(t *testing.T) {
	prev := domain.VerificationKey{KID: "prev", Algorithm: "RS256"}
	active := domain.VerificationKey{KID: "active", Algorithm: "RS256", Signing: true}
	next := domain.VerificationKey{KID: "next", Algorithm: "RS256"}
	tests := []struct {
		name    string
		keys    []domain.VerificationKey
		err     error
		want    []string
		wantErr error
	}{
		{name: "signing key first", keys: []domain.VerificationKey{prev, active, next}, want: []string{"active", "prev", "next"}},
		{name: "no signing key", keys: []domain.VerificationKey{prev}, wantErr: domain.ErrNoSigningKey},
		{name: "store fails", err: errBoom, wantErr: errBoom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.keys.EXPECT().VerificationKeys(gomock.Any()).Return(tt.keys, tt.err)
			got, err := f.app.ListKeys.Handle(context.Background())
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d keys, want %d", len(got), len(tt.want))
			}
			for i, k := range got {
				if k.KID != tt.want[i] {
					t.Fatalf("key %d = %s, want %s", i, k.KID, tt.want[i])
				}
			}
		})
	}
}
