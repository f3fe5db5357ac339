package application_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
	"github.com/gatepass/gatepass/domain/mocks"
)

// TestNewRefusesWhatItsGrantsProtect: the Application is built only over
// grant settings within their invariants, every problem reported at once,
// whatever a caller registers: the constructor of what the rules protect
// holds them, not the wiring.
func TestNewRefusesWhatItsGrantsProtect(t *testing.T) {
	ctrl := gomock.NewController(t)
	centrifugo := mocks.NewMockCentrifugoSigner(ctrl)
	ports := application.Ports{Signers: application.Signers{
		Office: mocks.NewMockOfficeSigner(ctrl).SignOffice, Realtime: mocks.NewMockRealtimeSigner(ctrl).SignRealtime,
	}}
	// A Centrifugo connection definition its constructor accepted beside
	// another office audience than the Application's.
	connection, err := domain.CentrifugoConnectionDefinition(domain.CentrifugoSettings{
		Issuer: "gatepass", Audience: office.Audience, ConnectionTTL: 10 * time.Minute, SubscriptionTTL: 10 * time.Minute,
	}, "another-office-router")
	if err != nil {
		t.Fatal(err)
	}
	liveKit, err := domain.LiveKitDefinition(domain.LiveKitSettings{APIKey: "APIkey", TTL: 10 * time.Minute}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sign := mocks.NewMockLiveKitSigner(ctrl).SignLiveKit
	withTTL := func(ttl time.Duration) application.OfficePolicy { p := office; p.TTL = ttl; return p }

	tests := []struct {
		name       string
		ports      func(*application.Ports)
		grants     application.Grants
		wantErr    error
		wantFields []string
		// wantSaid is part of the error's sentence, which names the grant
		// kind refused.
		wantSaid string
	}{
		{name: "valid", grants: application.Grants{Office: office, Realtime: realtime, Kinds: []application.GrantRegistration{
			application.RegisterGrant(liveKit, application.ExpiryBoundNone, sign),
			application.RegisterDisabled(domain.GrantNATS),
		}}},
		{name: "office for 1000h", grants: application.Grants{Office: withTTL(1000 * time.Hour), Realtime: realtime},
			wantErr: application.ErrTTLOutOfRange, wantFields: []string{"TTL"}, wantSaid: "office grant: TTL: must be between 1s and 1h"},
		{name: "realtime for nothing", grants: application.Grants{Office: office, Realtime: application.RealtimePolicy{Issuer: "qubital-backend"}},
			wantErr: application.ErrTTLOutOfRange, wantFields: []string{"TTL"}, wantSaid: "realtime grant: TTL"},
		{name: "no settings at all", grants: application.Grants{},
			wantErr: application.ErrTTLOutOfRange, wantFields: []string{"TTL", "TTL"}},
		{name: "office and Centrifugo under one audience", grants: application.Grants{Office: office, Realtime: realtime, Kinds: []application.GrantRegistration{
			application.RegisterGrant(connection, application.ExpiryBoundNone, centrifugo.SignCentrifugoConnection),
		}}, wantErr: application.ErrAudienceShared, wantFields: []string{"Audience"}, wantSaid: "centrifugo_connection settings: Audience"},
		// The audit's probe: both refused, at once.
		{name: "office for 1000h and Centrifugo under its audience", grants: application.Grants{Office: withTTL(1000 * time.Hour), Realtime: realtime,
			Kinds: []application.GrantRegistration{application.RegisterGrant(connection, application.ExpiryBoundNone, centrifugo.SignCentrifugoConnection)}},
			wantErr: application.ErrAudienceShared, wantFields: []string{"TTL", "Audience"}},
		{name: "a definition no constructor made", grants: application.Grants{Office: office, Realtime: realtime, Kinds: []application.GrantRegistration{
			application.RegisterGrant(domain.GrantDefinition[domain.LiveKitRequest, domain.LiveKitRights, domain.LiveKitClaims, domain.LiveKitGrant]{},
				application.ExpiryBoundNone, sign),
		}}, wantErr: application.ErrNoDefinition},
		{name: "a disabled kind without a name", grants: application.Grants{Office: office, Realtime: realtime, Kinds: []application.GrantRegistration{
			application.RegisterDisabled(""),
		}}, wantErr: application.ErrNoDefinition},
		{name: "an enabled kind without a signer", grants: application.Grants{Office: office, Realtime: realtime, Kinds: []application.GrantRegistration{
			application.RegisterGrant(liveKit, application.ExpiryBoundNone, nil),
		}}, wantErr: application.ErrNoSigner, wantSaid: "livekit grant"},
		{name: "the office grant without a signer", ports: func(p *application.Ports) { p.Signers.Office = nil },
			grants: application.Grants{Office: office, Realtime: realtime}, wantErr: application.ErrNoSigner, wantSaid: "office grant"},
		{name: "a kind registered twice", grants: application.Grants{Office: office, Realtime: realtime, Kinds: []application.GrantRegistration{
			application.RegisterGrant(liveKit, application.ExpiryBoundNone, sign),
			application.RegisterDisabled(domain.GrantLiveKit),
		}}, wantErr: application.ErrKindRegisteredTwice, wantSaid: "livekit"},
		{name: "an office kind registered", grants: application.Grants{Office: office, Realtime: realtime, Kinds: []application.GrantRegistration{
			application.RegisterDisabled(domain.GrantOffice),
		}}, wantErr: application.ErrKindRegisteredTwice},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ports
			if tt.ports != nil {
				tt.ports(&p)
			}
			app, err := application.New(p, tt.grants, application.RateLimitPolicy{}, nil)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil {
				if app == nil || !app.Enabled(domain.GrantOffice) {
					t.Fatal("no application")
				}
				return
			}
			if app != nil {
				t.Error("an application beside the error")
			}
			var fields []string
			for _, se := range application.SettingErrors(err) {
				fields = append(fields, se.Field)
			}
			if !slices.Equal(fields, tt.wantFields) {
				t.Errorf("err = %q: fields %v, want %v", err, fields, tt.wantFields)
			}
			if !strings.Contains(err.Error(), tt.wantSaid) {
				t.Errorf("err = %q, want it to say %q", err, tt.wantSaid)
			}
		})
	}
}

// TestGrantHandlersRefuseTheirPolicyOutOfBounds: the office and realtime
// handlers' own constructors hold their lifetimes' bounds.
func TestGrantHandlersRefuseTheirPolicyOutOfBounds(t *testing.T) {
	ctrl := gomock.NewController(t)
	clock, ids := mocks.NewMockClock(ctrl), mocks.NewMockIDSource(ctrl)
	officeSign, realtimeSign := mocks.NewMockOfficeSigner(ctrl).SignOffice, mocks.NewMockRealtimeSigner(ctrl).SignRealtime
	withOfficeTTL := func(ttl time.Duration) application.OfficePolicy { p := office; p.TTL = ttl; return p }
	withRealtimeTTL := func(ttl time.Duration) application.RealtimePolicy { p := realtime; p.TTL = ttl; return p }
	office := func(p application.OfficePolicy, sign application.Signer[domain.OfficeClaims]) func() error {
		return func() error {
			_, err := application.NewRequestOfficeAccessHandler(p, application.Unlimited(), sign, clock, ids)
			return err
		}
	}
	realtime := func(p application.RealtimePolicy, sign application.Signer[domain.RealtimeClaims]) func() error {
		return func() error {
			_, err := application.NewIssueRealtimeTokenHandler(p, application.Unlimited(), sign, clock, ids)
			return err
		}
	}
	tests := []struct {
		name    string
		build   func() error
		wantErr error
	}{
		{"office for an hour", office(withOfficeTTL(time.Hour), officeSign), nil},
		{"office for 1000h", office(withOfficeTTL(1000*time.Hour), officeSign), application.ErrTTLOutOfRange},
		{"office under a second", office(withOfficeTTL(time.Second-1), officeSign), application.ErrTTLOutOfRange},
		{"office without a signer", office(withOfficeTTL(time.Minute), nil), application.ErrNoSigner},
		{"realtime for a day", realtime(withRealtimeTTL(24*time.Hour), realtimeSign), nil},
		{"realtime over a day", realtime(withRealtimeTTL(24*time.Hour+1), realtimeSign), application.ErrTTLOutOfRange},
		{"realtime for nothing", realtime(withRealtimeTTL(0), realtimeSign), application.ErrTTLOutOfRange},
		{"realtime without a signer", realtime(withRealtimeTTL(time.Hour), nil), application.ErrNoSigner},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.build(); !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// TestDisabledKindRefusesAtEveryDoor: a kind registered disabled, without
// settings, answers whatever types it is asked through, and spends no
// budget.
func TestDisabledKindRefusesAtEveryDoor(t *testing.T) {
	f := newFixture(t)
	if f.app.Enabled(domain.GrantNATS) {
		t.Fatal("a disabled kind is enabled")
	}
	use := application.Issuer[domain.NATSRequest, domain.NATSGrant](f.app, domain.GrantNATS)
	if use.Kind() != domain.GrantNATS || use.Enabled() {
		t.Fatalf("kind %s enabled %v", use.Kind(), use.Enabled())
	}
	if _, err := use.Handle(context.Background(), application.IssueGrant[domain.NATSRequest]{Caller: member}); !errors.Is(err, application.ErrGrantKindDisabled) {
		t.Errorf("Handle: err = %v, want %v", err, application.ErrGrantKindDisabled)
	}
	if err := use.RefuseUnreadable(context.Background(), member, errBoom); !errors.Is(err, application.ErrGrantKindDisabled) {
		t.Errorf("RefuseUnreadable: err = %v, want %v", err, application.ErrGrantKindDisabled)
	}
}
