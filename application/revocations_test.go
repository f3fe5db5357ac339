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

type revocationFixture struct {
	fixture
	store  *mocks.MockRevocationStore
	ledger *mocks.MockEventLedger
	rev    *application.Revocations
}

// newRevocationFixture is an application with budgets on, over a
// revocation store that the test fills.
func newRevocationFixture(t *testing.T) revocationFixture {
	ctrl := gomock.NewController(t)
	f := revocationFixture{
		fixture: fixture{
			identity: mocks.NewMockIdentityVerifier(ctrl),
			office:   mocks.NewMockOfficeSigner(ctrl),
			realtime: mocks.NewMockRealtimeSigner(ctrl),
			clock:    mocks.NewMockClock(ctrl),
			ids:      mocks.NewMockIDSource(ctrl),
			keys:     mocks.NewMockKeySet(ctrl),
			limiter:  mocks.NewMockRateLimiter(ctrl),
		},
		store:  mocks.NewMockRevocationStore(ctrl),
		ledger: mocks.NewMockEventLedger(ctrl),
	}
	f.clock.EXPECT().Now().Return(now).AnyTimes()
	f.rev = application.NewRevocations(f.store, f.ledger, f.clock, f.ids, application.RevocationPolicy{Retention: time.Hour})
	f.app = newApp(t, application.Ports{
		Identity: f.identity,
		Clock:    f.clock, IDs: f.ids, Keys: f.keys, Limiter: f.limiter, Revocations: f.rev,
	}, application.Grants{Kinds: builtIn(t, f.office.SignOffice, f.realtime.SignRealtime, disabledKinds()...)}, application.RateLimitPolicy{
		Enabled: true, AuthFailures: authLimit,
		Grants: map[domain.GrantKind]domain.Limit{domain.GrantOffice: officeLimit, domain.GrantRealtime: realtimeLimit},
	})
	return f
}

// revocationOf is a revocation of p's user in p's organization recorded
// at now.
func revocationOf(t *testing.T, p domain.Principal, session string) domain.Revocation {
	t.Helper()
	r, err := domain.NewRevocation("rev-1", domain.RevocationRequest{UserID: p.UserID, OrgID: p.OrgID, SessionID: session}, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRevokedCallerIsRefusedBeforeItsBudget: the check follows
// authentication and precedes the budget, so the limiter is never asked
// (the mock has no expectation), for Handle and RefuseUnreadable alike;
// before the first sync every grant is refused as unavailable.
func TestRevokedCallerIsRefusedBeforeItsBudget(t *testing.T) {
	stale := member
	stale.IssuedAt = now.Add(-time.Minute)
	tests := []struct {
		name    string
		load    []domain.Revocation
		synced  bool
		caller  domain.Principal
		wantErr error
	}{
		{name: "revoked", synced: true, load: []domain.Revocation{revocationOf(t, member, "")}, caller: stale, wantErr: domain.ErrRevoked},
		{name: "no iat matches", synced: true, load: []domain.Revocation{revocationOf(t, member, "")}, caller: member, wantErr: domain.ErrRevoked},
		{name: "never synced", caller: stale, wantErr: domain.ErrRevocationsUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newRevocationFixture(t)
			if tt.synced {
				f.store.EXPECT().Load(gomock.Any(), uint64(0)).Return(domain.RevocationSnapshot{Revocations: tt.load, Version: 1}, nil)
				if err := f.rev.Sync(context.Background(), true); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := officeIssuer(f.app).Handle(context.Background(), application.IssueGrant[domain.OfficeRequest]{Caller: tt.caller}); !errors.Is(err, tt.wantErr) {
				t.Fatalf("Handle: %v, want %v", err, tt.wantErr)
			}
			unreadable := errors.New("unreadable body")
			if err := realtimeIssuer(f.app).RefuseUnreadable(context.Background(), tt.caller, unreadable); !errors.Is(err, tt.wantErr) {
				t.Fatalf("RefuseUnreadable: %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// TestIdentityIssuedAtTheCutOffSpendsAndIsServed: the check lets through
// an identity issued at the cut-off, which then spends its budget.
func TestIdentityIssuedAtTheCutOffSpendsAndIsServed(t *testing.T) {
	f := newRevocationFixture(t)
	rev := revocationOf(t, member, "")
	f.store.EXPECT().Load(gomock.Any(), uint64(0)).Return(domain.RevocationSnapshot{Revocations: []domain.Revocation{rev}, Version: 1}, nil)
	if err := f.rev.Sync(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	fresh := member
	fresh.IssuedAt = rev.NotBefore
	f.limiter.EXPECT().Allow(gomock.Any(), gomock.Any(), officeLimit).Return(domain.Decision{Allowed: true}, nil)
	f.ids.EXPECT().NewID().Return("id-1", nil)
	f.office.EXPECT().SignOffice(gomock.Any(), gomock.Any()).Return("signed", nil)
	if _, err := officeIssuer(f.app).Handle(context.Background(), application.IssueGrant[domain.OfficeRequest]{Caller: fresh}); err != nil {
		t.Fatal(err)
	}
}

func TestSyncReadsWhatFollowsTheVersionSeen(t *testing.T) {
	f := newRevocationFixture(t)
	first, second := revocationOf(t, member, ""), revocationOf(t, member, "")
	second.ID, second.OrgID = "rev-2", "org_02"
	gomock.InOrder(
		f.store.EXPECT().Load(gomock.Any(), uint64(0)).Return(domain.RevocationSnapshot{Revocations: []domain.Revocation{first}, Version: 7}, nil),
		f.store.EXPECT().Load(gomock.Any(), uint64(7)).Return(domain.RevocationSnapshot{Revocations: []domain.Revocation{second}, Version: 8}, nil),
		f.store.EXPECT().Load(gomock.Any(), uint64(8)).Return(domain.RevocationSnapshot{}, errBoom),
		// A full sync reads from 0 again, and forgets nothing it held.
		f.store.EXPECT().Load(gomock.Any(), uint64(0)).Return(domain.RevocationSnapshot{Version: 8}, nil),
	)
	for i, full := range []bool{true, false} {
		if err := f.rev.Sync(context.Background(), full); err != nil {
			t.Fatalf("sync %d: %v", i, err)
		}
	}
	if err := f.rev.Sync(context.Background(), false); !errors.Is(err, domain.ErrRevocationsUnavailable) || !errors.Is(err, errBoom) {
		t.Fatalf("failed sync: %v", err)
	}
	if err := f.rev.Sync(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	if got, err := f.rev.Active(member.UserID); err != nil || len(got) != 2 {
		t.Fatalf("active %+v, %v; want both", got, err)
	}
	if _, err := f.rev.Get("rev-2"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.rev.Get("rev-9"); !errors.Is(err, domain.ErrRevocationNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
}

func TestRevokeAccess(t *testing.T) {
	req := domain.RevocationRequest{UserID: "user_01H", AllOrganizations: true, Reason: "left", Source: domain.RevocationSourceAdmin}
	cutOff := now.Add(time.Second) // now is a whole second: the next one
	tests := []struct {
		name    string
		req     domain.RevocationRequest
		setup   func(f revocationFixture)
		wantErr error
	}{
		{name: "recorded once stored", req: req, setup: func(f revocationFixture) {
			f.ids.EXPECT().NewID().Return("rev-1", nil)
			f.store.EXPECT().Record(gomock.Any(), domain.Revocation{ID: "rev-1", RevocationRequest: req, NotBefore: cutOff, ExpiresAt: cutOff.Add(time.Hour)}).Return(nil)
		}},
		{name: "store down: nothing reported done", req: req, wantErr: domain.ErrRevocationsUnavailable, setup: func(f revocationFixture) {
			f.ids.EXPECT().NewID().Return("rev-1", nil)
			f.store.EXPECT().Record(gomock.Any(), gomock.Any()).Return(errBoom)
		}},
		{name: "a request without organization never reaches the store", req: domain.RevocationRequest{UserID: "u"}, wantErr: domain.ErrInvalidRevocation, setup: func(f revocationFixture) {
			f.ids.EXPECT().NewID().Return("rev-1", nil)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newRevocationFixture(t)
			tt.setup(f)
			got, err := f.app.RevokeAccess.Handle(context.Background(), tt.req)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err == nil && (got.ID != "rev-1" || !got.NotBefore.Equal(cutOff)) {
				t.Fatalf("got %+v", got)
			}
		})
	}
}

func TestHandleIdentityEvent(t *testing.T) {
	revoke := &application.RevokeAccess{UserID: "user_01H", OrgID: "org_01", Source: domain.RevocationSourceWorkOS}
	tests := []struct {
		name        string
		cmd         application.HandleIdentityEvent
		setup       func(f revocationFixture)
		wantHandled bool
		wantErr     error
	}{
		{name: "first delivery is recorded", cmd: application.HandleIdentityEvent{ID: "event_1", Revoke: revoke}, wantHandled: true, setup: func(f revocationFixture) {
			f.ledger.EXPECT().Claim(gomock.Any(), "event_1", application.IdentityEventMemory).Return(true, nil)
			f.ids.EXPECT().NewID().Return("rev-1", nil)
			f.store.EXPECT().Record(gomock.Any(), gomock.Any()).Return(nil)
		}},
		{name: "a repeated id records nothing", cmd: application.HandleIdentityEvent{ID: "event_1", Revoke: revoke}, setup: func(f revocationFixture) {
			f.ledger.EXPECT().Claim(gomock.Any(), "event_1", gomock.Any()).Return(false, nil)
		}},
		{name: "an event that calls for nothing touches nothing", cmd: application.HandleIdentityEvent{ID: "event_2"}, wantHandled: true},
		{name: "a record that fails releases the id for the retry", cmd: application.HandleIdentityEvent{ID: "event_3", Revoke: revoke},
			wantErr: domain.ErrRevocationsUnavailable, setup: func(f revocationFixture) {
				f.ledger.EXPECT().Claim(gomock.Any(), "event_3", gomock.Any()).Return(true, nil)
				f.ids.EXPECT().NewID().Return("rev-1", nil)
				f.store.EXPECT().Record(gomock.Any(), gomock.Any()).Return(errBoom)
				f.ledger.EXPECT().Release(gomock.Any(), "event_3").Return(nil)
			}},
		{name: "a ledger that fails records nothing", cmd: application.HandleIdentityEvent{ID: "event_4", Revoke: revoke},
			wantErr: domain.ErrRevocationsUnavailable, setup: func(f revocationFixture) {
				f.ledger.EXPECT().Claim(gomock.Any(), "event_4", gomock.Any()).Return(false, errBoom)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newRevocationFixture(t)
			if tt.setup != nil {
				tt.setup(f)
			}
			handled, err := f.app.HandleIdentityEvent.Handle(context.Background(), tt.cmd)
			if !errors.Is(err, tt.wantErr) || handled != tt.wantHandled {
				t.Fatalf("handled %v, err %v; want %v, %v", handled, err, tt.wantHandled, tt.wantErr)
			}
		})
	}
}
