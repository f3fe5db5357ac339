package application_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
	"github.com/gatepass/gatepass/domain/mocks"
)

// transportFixture is the application with every grant kind enabled over
// mock ports; the limiter is a mock that every test must expect
// explicitly, so what a refused request spends is seen.
type transportFixture struct {
	app         *application.Application
	clock       *mocks.MockClock
	ids         *mocks.MockIDSource
	limiter     *mocks.MockRateLimiter
	office      *mocks.MockOfficeSigner
	realtime    *mocks.MockRealtimeSigner
	livekit     *mocks.MockLiveKitSigner
	roomConfigs *mocks.MockRoomConfigChecker
	centrifugo  *mocks.MockCentrifugoSigner
	nats        *mocks.MockNATSSigner
}

var (
	liveKitLimit    = domain.Limit{Budget: domain.BudgetOf(domain.GrantLiveKit), Rate: 30, Period: time.Minute, Burst: 10}
	connectionLimit = domain.Limit{Budget: domain.BudgetOf(domain.GrantCentrifugoConnection), Rate: 30, Period: time.Minute, Burst: 10}
	subscribeLimit  = domain.Limit{Budget: domain.BudgetOf(domain.GrantCentrifugoSubscription), Rate: 120, Period: time.Minute, Burst: 60}
	natsLimit       = domain.Limit{Budget: domain.BudgetOf(domain.GrantNATS), Rate: 30, Period: time.Minute, Burst: 10}
	viewer          = domain.Principal{UserID: "user_03H", OrgID: "org_01", Role: "viewer"}
	allowed         = domain.Decision{Allowed: true, Remaining: 1}
)

var centrifugoSettings = domain.CentrifugoSettings{
	Issuer: "gatepass", Audience: "centrifugo", ConnectionTTL: 10 * time.Minute, SubscriptionTTL: 5 * time.Minute,
	URL: "wss://rt.example/connection/websocket",
}

var natsSettings = domain.NATSSettings{
	Servers: []string{"tls://nats.example:4222"}, Account: "ACCOUNT", SigningKey: "ASIGNINGKEY", TTL: 10 * time.Minute,
}

// fakeUserKeys takes any key starting with U and makes UFRESH.
type fakeUserKeys struct{}

func (fakeUserKeys) CheckUserKey(k string) error {
	if len(k) == 0 || k[0] != 'U' {
		return domain.ErrInvalidUserKey
	}
	return nil
}

func (fakeUserKeys) NewUserKey() (string, error) { return "UFRESH", nil }

func natsIssuer(app *application.Application) application.GrantIssuer[domain.NATSRequest, domain.NATSGrant] {
	return application.Issuer[domain.NATSRequest, domain.NATSGrant](app, domain.GrantNATS)
}

// liveKitIssuer, connectionIssuer and subscriptionIssuer are the
// registered kinds' use cases.
func liveKitIssuer(app *application.Application) application.GrantIssuer[domain.LiveKitRequest, domain.LiveKitGrant] {
	return application.Issuer[domain.LiveKitRequest, domain.LiveKitGrant](app, domain.GrantLiveKit)
}

func connectionIssuer(app *application.Application) application.GrantIssuer[struct{}, domain.CentrifugoGrant] {
	return application.Issuer[struct{}, domain.CentrifugoGrant](app, domain.GrantCentrifugoConnection)
}

func subscriptionIssuer(app *application.Application) application.GrantIssuer[domain.CentrifugoSubscriptionRequest, domain.CentrifugoGrant] {
	return application.Issuer[domain.CentrifugoSubscriptionRequest, domain.CentrifugoGrant](app, domain.GrantCentrifugoSubscription)
}

// newTransportFixture builds the fixture; a nil policy is the default one.
func newTransportFixture(t *testing.T, bound application.GrantExpiryBound, policy *application.Policy) transportFixture {
	return newMeteredTransportFixture(t, bound, policy, nil)
}

// newMeteredTransportFixture builds the fixture with meter as its
// signature meter (Ports.Meter).
func newMeteredTransportFixture(t *testing.T, bound application.GrantExpiryBound, policy *application.Policy, meter domain.SignatureMeter) transportFixture {
	ctrl := gomock.NewController(t)
	f := transportFixture{
		clock: mocks.NewMockClock(ctrl), ids: mocks.NewMockIDSource(ctrl), limiter: mocks.NewMockRateLimiter(ctrl),
		office: mocks.NewMockOfficeSigner(ctrl), realtime: mocks.NewMockRealtimeSigner(ctrl),
		livekit: mocks.NewMockLiveKitSigner(ctrl), roomConfigs: mocks.NewMockRoomConfigChecker(ctrl), centrifugo: mocks.NewMockCentrifugoSigner(ctrl),
		nats: mocks.NewMockNATSSigner(ctrl),
	}
	ports := application.Ports{Clock: f.clock, IDs: f.ids, Limiter: f.limiter, Meter: meter}
	liveKit, err1 := domain.LiveKitDefinition(domain.LiveKitSettings{APIKey: "lk-key", TTL: 10 * time.Minute, URL: "wss://lk.example"}, f.roomConfigs)
	connect, err2 := domain.CentrifugoConnectionDefinition(centrifugoSettings, office.Audience)
	subscribe, err3 := domain.CentrifugoSubscriptionDefinition(centrifugoSettings, office.Audience)
	nats, err4 := domain.NATSDefinition(natsSettings, fakeUserKeys{})
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		t.Fatal(err)
	}
	f.app = newApp(t, ports, application.Grants{
		Policy: policy,
		Kinds: []application.GrantRegistration{
			officeKind(t, office, bound, f.office.SignOffice),
			realtimeKind(t, realtime, bound, f.realtime.SignRealtime),
			application.RegisterGrant(liveKit, bound, f.livekit.SignLiveKit),
			application.RegisterGrant(connect, bound, f.centrifugo.SignCentrifugoConnection),
			application.RegisterGrant(subscribe, bound, f.centrifugo.SignCentrifugoSubscription),
			application.RegisterGrant(nats, bound, f.nats.SignNATSUser),
		},
	}, application.RateLimitPolicy{
		Enabled: true, FailureMode: application.FailClosed, AuthFailures: authLimit,
		Grants: map[domain.GrantKind]domain.Limit{
			domain.GrantOffice: officeLimit, domain.GrantRealtime: realtimeLimit,
			domain.GrantLiveKit: liveKitLimit, domain.GrantCentrifugoConnection: connectionLimit, domain.GrantCentrifugoSubscription: subscribeLimit,
			domain.GrantNATS: natsLimit,
		},
	})
	return f
}

func TestIssueLiveKitToken(t *testing.T) {
	full := domain.LiveKitRights{CanPublish: true, CanSubscribe: true, CanPublishData: true}
	creator := principal(t, "user_04H", "org_01", "member", "livekit:create")
	policy, err := application.NewPolicy(domain.PolicyRules{Version: domain.PolicyVersion, Sections: []domain.PolicySection{domain.LiveKitRules{
		{Subjects: domain.Subjects{Roles: []string{domain.AnyRole}}, Rights: []domain.LiveKitRight{domain.CanSubscribe}},
		{Subjects: domain.Subjects{Permissions: []string{"livekit:create"}}, Rights: []domain.LiveKitRight{domain.RoomCreate}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	errRefusedConfig := fmt.Errorf("%w: egress credentials", domain.ErrInvalidRoom)
	tests := []struct {
		name       string
		policy     *application.Policy
		caller     domain.Principal
		req        domain.LiveKitRequest
		bound      application.GrantExpiryBound
		identityIn time.Duration
		spend      *domain.Decision
		// checkConfig is the room configuration the checker must be
		// asked about, checkErr its answer.
		checkConfig string
		checkErr    error
		signErr     error
		wantRights  domain.LiveKitRights
		wantTTL     time.Duration
		wantErr     error
	}{
		{name: "admin", caller: member, req: domain.LiveKitRequest{Room: "standup"}, spend: &allowed, wantRights: full, wantTTL: 10 * time.Minute},
		{name: "viewer subscribes only", caller: viewer, req: domain.LiveKitRequest{Room: "standup"}, spend: &allowed,
			wantRights: domain.LiveKitRights{CanSubscribe: true}, wantTTL: 10 * time.Minute},
		{name: "caller without organization spends", caller: loner, req: domain.LiveKitRequest{Room: "standup"}, spend: &allowed,
			wantErr: domain.ErrNoOrganization},
		{name: "invalid room spends", caller: member, req: domain.LiveKitRequest{Room: "a/b"}, spend: &allowed, wantErr: domain.ErrInvalidRoom},
		{name: "invalid attributes spend", caller: member, req: domain.LiveKitRequest{Room: "r", Attributes: map[string]string{"lk.agent.state": "x"}},
			spend: &allowed, wantErr: domain.ErrInvalidParticipant},
		{name: "someone else's identity spends", caller: member, req: domain.LiveKitRequest{Room: "r", Identity: "user_x"}, spend: &allowed,
			wantErr: domain.ErrIdentityMismatch},
		{name: "room config without roomCreate", caller: member, req: domain.LiveKitRequest{Room: "r", RoomConfig: []byte(`{"max_participants":2}`)},
			spend: &allowed, wantErr: domain.ErrForbiddenField},
		{name: "room config checked", policy: policy, caller: creator, req: domain.LiveKitRequest{Room: "r", RoomConfig: []byte(`{ "max_participants": 2 }`)},
			spend: &allowed, checkConfig: `{"max_participants":2}`, wantRights: domain.LiveKitRights{CanSubscribe: true, RoomCreate: true}, wantTTL: 10 * time.Minute},
		{name: "room config LiveKit would refuse", policy: policy, caller: creator, req: domain.LiveKitRequest{Room: "r", RoomConfig: []byte(`{"egress":{}}`)},
			spend: &allowed, checkConfig: `{"egress":{}}`, checkErr: errRefusedConfig, wantErr: errRefusedConfig},
		{name: "budget spent", caller: member, req: domain.LiveKitRequest{Room: "r"}, spend: &domain.Decision{RetryAfter: time.Second},
			wantErr: domain.ErrRateLimited},
		{name: "budget spent before the request is read", caller: member, req: domain.LiveKitRequest{Room: "a/b"}, spend: &domain.Decision{RetryAfter: time.Second},
			wantErr: domain.ErrRateLimited},
		{name: "signer fails", caller: member, req: domain.LiveKitRequest{Room: "r"}, spend: &allowed, signErr: errBoom,
			wantRights: full, wantTTL: 10 * time.Minute, wantErr: errBoom},
		{name: "bounded by the identity", caller: member, req: domain.LiveKitRequest{Room: "r"}, bound: application.ExpiryBoundIdentity,
			identityIn: 90 * time.Second, spend: &allowed, wantRights: full, wantTTL: 90 * time.Second},
		{name: "identity about to expire spends", caller: member, req: domain.LiveKitRequest{Room: "r"}, bound: application.ExpiryBoundIdentity,
			identityIn: 2 * time.Second, spend: &allowed, wantErr: domain.ErrInvalidCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newTransportFixture(t, tt.bound, tt.policy)
			f.clock.EXPECT().Now().Return(now).AnyTimes()
			f.ids.EXPECT().NewID().Return("id-lk", nil).AnyTimes()
			if tt.spend != nil {
				f.limiter.EXPECT().Allow(gomock.Any(), "livekit:"+tt.caller.UserID, liveKitLimit).Return(*tt.spend, nil)
			}
			if tt.checkConfig != "" {
				f.roomConfigs.EXPECT().CheckRoomConfig(json.RawMessage(tt.checkConfig)).Return(tt.checkErr)
			}
			if tt.wantTTL > 0 {
				f.livekit.EXPECT().SignLiveKit(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, c domain.LiveKitClaims) (string, error) {
					if c.Issuer != "lk-key" || c.Subject != tt.caller.UserID || c.Video.Room != "org_01/"+tt.req.Room ||
						c.Video.Rights != tt.wantRights || c.ID != "id-lk" || c.TTL() != tt.wantTTL || string(c.RoomConfig) != tt.checkConfig {
						t.Errorf("claims %+v", c)
					}
					return "signed", tt.signErr
				})
			}
			cmd := application.IssueGrant[domain.LiveKitRequest]{Caller: tt.caller, Request: tt.req}
			if tt.identityIn > 0 {
				cmd.IdentityExpiresAt = now.Add(tt.identityIn)
			}
			g, err := liveKitIssuer(f.app).Handle(context.Background(), cmd)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err == nil && (g.Token != "signed" || g.ServerURL != "wss://lk.example" || g.ID != "id-lk" || g.Room != "org_01/"+tt.req.Room) {
				t.Fatalf("grant %+v", g)
			}
		})
	}
}

// TestRefuseUnreadableLiveKitRequest: a request the adapter could not read
// spends the caller's budget like any other, and says why it was refused
// until the budget is spent.
func TestRefuseUnreadableLiveKitRequest(t *testing.T) {
	why := fmt.Errorf("%w: 2300 attributes", domain.ErrInvalidParticipant)
	f := newTransportFixture(t, application.ExpiryBoundNone, nil)
	gomock.InOrder(
		f.limiter.EXPECT().Allow(gomock.Any(), "livekit:"+member.UserID, liveKitLimit).Return(allowed, nil),
		f.limiter.EXPECT().Allow(gomock.Any(), "livekit:"+member.UserID, liveKitLimit).Return(domain.Decision{RetryAfter: time.Second}, nil),
	)
	if err := liveKitIssuer(f.app).RefuseUnreadable(context.Background(), member, why); err != why {
		t.Fatalf("err = %v, want %v", err, why)
	}
	if err := liveKitIssuer(f.app).RefuseUnreadable(context.Background(), member, why); !errors.Is(err, domain.ErrRateLimited) {
		t.Fatalf("err = %v, want %v once the budget is spent", err, domain.ErrRateLimited)
	}
}

// TestLiveKitRoomConfigWithoutChecker: without a checker no room
// configuration passes.
func TestLiveKitRoomConfigWithoutChecker(t *testing.T) {
	ctrl := gomock.NewController(t)
	clock, ids := mocks.NewMockClock(ctrl), mocks.NewMockIDSource(ctrl)
	clock.EXPECT().Now().Return(now).AnyTimes()
	ids.EXPECT().NewID().Return("id-lk", nil).AnyTimes()
	rules := application.DefaultPolicyRules()
	liveKit := domain.PolicySectionOf[domain.LiveKitRules](rules)
	liveKit[0].Rights = append(liveKit[0].Rights, domain.RoomCreate)
	policy, err := application.NewPolicy(rules)
	if err != nil {
		t.Fatal(err)
	}
	def, err := domain.LiveKitDefinition(domain.LiveKitSettings{APIKey: "lk-key", TTL: time.Minute}, nil)
	if err != nil {
		t.Fatal(err)
	}
	app := newApp(t, application.Ports{Clock: clock, IDs: ids}, application.Grants{Policy: policy, Kinds: builtIn(t,
		mocks.NewMockOfficeSigner(ctrl).SignOffice, mocks.NewMockRealtimeSigner(ctrl).SignRealtime,
		application.RegisterGrant(def, application.ExpiryBoundNone, mocks.NewMockLiveKitSigner(ctrl).SignLiveKit),
	)}, application.RateLimitPolicy{})
	_, err = liveKitIssuer(app).Handle(context.Background(), application.IssueGrant[domain.LiveKitRequest]{
		Caller: member, Request: domain.LiveKitRequest{Room: "r", RoomConfig: []byte(`{}`)},
	})
	if !errors.Is(err, domain.ErrInvalidRoom) {
		t.Fatalf("err = %v, want %v", err, domain.ErrInvalidRoom)
	}
}

func TestIssueCentrifugoConnectionToken(t *testing.T) {
	t.Run("member", func(t *testing.T) {
		f := newTransportFixture(t, application.ExpiryBoundNone, nil)
		f.clock.EXPECT().Now().Return(now)
		f.ids.EXPECT().NewID().Return("id-c", nil)
		f.limiter.EXPECT().Allow(gomock.Any(), "centrifugo_connection:user_01H", connectionLimit).Return(allowed, nil)
		f.centrifugo.EXPECT().SignCentrifugoConnection(gomock.Any(), gomock.Any()).DoAndReturn(
			func(_ context.Context, c domain.CentrifugoConnectionClaims) (string, error) {
				if c.Subject != "user_01H" || c.Audience != "centrifugo" || c.Issuer != "gatepass" ||
					c.Info != (domain.CentrifugoInfo{OrgID: "org_01", Role: "admin"}) || len(c.Channels) != 0 || c.TTL() != 10*time.Minute {
					t.Errorf("claims %+v", c)
				}
				return "signed", nil
			})
		g, err := connectionIssuer(f.app).Handle(context.Background(), application.IssueGrant[struct{}]{Caller: member})
		if err != nil || g.URL != "wss://rt.example/connection/websocket" || g.Token != "signed" || g.ID != "id-c" {
			t.Fatalf("grant %+v, err %v", g, err)
		}
	})
	t.Run("caller without organization spends", func(t *testing.T) {
		f := newTransportFixture(t, application.ExpiryBoundNone, nil)
		f.limiter.EXPECT().Allow(gomock.Any(), "centrifugo_connection:"+loner.UserID, connectionLimit).Return(allowed, nil)
		_, err := connectionIssuer(f.app).Handle(context.Background(), application.IssueGrant[struct{}]{Caller: loner})
		if !errors.Is(err, domain.ErrNoOrganization) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestIssueCentrifugoSubscriptionToken(t *testing.T) {
	tests := []struct {
		name    string
		channel string
		wantErr error
	}{
		{name: "the organization's channel", channel: "org:org_01"},
		{name: "a sub-channel", channel: "org:org_01.chat"},
		{name: "another organization's channel spends", channel: "org:org_02", wantErr: domain.ErrChannelNotAllowed},
		{name: "a prefix that only looks alike", channel: "org:org_01x", wantErr: domain.ErrChannelNotAllowed},
		{name: "white space", channel: "org:org_01 ", wantErr: domain.ErrInvalidChannel},
		{name: "empty", channel: "", wantErr: domain.ErrInvalidChannel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newTransportFixture(t, application.ExpiryBoundNone, nil)
			// Every request spends the budget, refused or not.
			f.limiter.EXPECT().Allow(gomock.Any(), "centrifugo_subscription:user_01H", subscribeLimit).Return(allowed, nil)
			if tt.wantErr == nil {
				f.clock.EXPECT().Now().Return(now)
				f.ids.EXPECT().NewID().Return("id-s", nil)
				f.centrifugo.EXPECT().SignCentrifugoSubscription(gomock.Any(), gomock.Any()).DoAndReturn(
					func(_ context.Context, c domain.CentrifugoSubscriptionClaims) (string, error) {
						if c.Channel != tt.channel || c.Subject != "user_01H" || c.TTL() != 5*time.Minute {
							t.Errorf("claims %+v", c)
						}
						return "signed", nil
					})
			}
			g, err := subscriptionIssuer(f.app).Handle(context.Background(),
				application.IssueGrant[domain.CentrifugoSubscriptionRequest]{Caller: member, Request: domain.CentrifugoSubscriptionRequest{Channel: tt.channel}})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err == nil && (g.Channel != tt.channel || g.URL != "" || g.Token != "signed") {
				t.Fatalf("grant %+v", g)
			}
		})
	}
}
