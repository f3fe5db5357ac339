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
// holds them, not the wiring. (Each kind's lifetime bounds are its
// definition's constructor's: domain's TestDefinitionsRefuseWhatTheirSettingsRefuse.)
func TestNewRefusesWhatItsGrantsProtect(t *testing.T) {
	ctrl := gomock.NewController(t)
	centrifugo := mocks.NewMockCentrifugoSigner(ctrl)
	officeSign, realtimeSign := mocks.NewMockOfficeSigner(ctrl).SignOffice, mocks.NewMockRealtimeSigner(ctrl).SignRealtime
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
	kinds := func(others ...application.GrantRegistration) []application.GrantRegistration {
		return builtIn(t, officeSign, realtimeSign, others...)
	}

	tests := []struct {
		name       string
		grants     application.Grants
		wantErr    error
		wantFields []string
		// wantSaid is part of the error's sentence, which names the grant
		// kind refused.
		wantSaid string
	}{
		{name: "valid", grants: application.Grants{Kinds: kinds(
			application.RegisterGrant(liveKit, application.ExpiryBoundNone, sign),
			application.RegisterDisabled(domain.GrantNATS),
		)}},
		{name: "office and Centrifugo under one audience", grants: application.Grants{Kinds: kinds(
			application.RegisterGrant(connection, application.ExpiryBoundNone, centrifugo.SignCentrifugoConnection),
		)}, wantErr: application.ErrAudienceShared, wantFields: []string{"Audience"}, wantSaid: "centrifugo_connection settings: Audience"},
		// Centrifugo registered before the office grant is checked
		// against it all the same.
		{name: "Centrifugo under the office audience, registered first", grants: application.Grants{Kinds: append([]application.GrantRegistration{
			application.RegisterGrant(connection, application.ExpiryBoundNone, centrifugo.SignCentrifugoConnection),
		}, kinds()...)}, wantErr: application.ErrAudienceShared, wantFields: []string{"Audience"}, wantSaid: "centrifugo_connection settings: Audience"},
		// Both refused, at once.
		{name: "the office grant without a signer and Centrifugo under its audience", grants: application.Grants{Kinds: []application.GrantRegistration{
			officeKind(t, office, application.ExpiryBoundNone, nil),
			realtimeKind(t, realtime, application.ExpiryBoundNone, realtimeSign),
			application.RegisterGrant(connection, application.ExpiryBoundNone, centrifugo.SignCentrifugoConnection),
		}}, wantErr: application.ErrNoSigner, wantFields: []string{"Audience"}, wantSaid: "office grant"},
		{name: "a definition no constructor made", grants: application.Grants{Kinds: kinds(
			application.RegisterGrant(domain.GrantDefinition[domain.LiveKitRequest, domain.LiveKitRights, domain.LiveKitClaims, domain.LiveKitGrant]{},
				application.ExpiryBoundNone, sign),
		)}, wantErr: application.ErrNoDefinition},
		{name: "a disabled kind without a name", grants: application.Grants{Kinds: kinds(
			application.RegisterDisabled(""),
		)}, wantErr: application.ErrNoDefinition},
		{name: "an enabled kind without a signer", grants: application.Grants{Kinds: kinds(
			application.RegisterGrant(liveKit, application.ExpiryBoundNone, nil),
		)}, wantErr: application.ErrNoSigner, wantSaid: "livekit grant"},
		{name: "the office grant without a signer", grants: application.Grants{Kinds: []application.GrantRegistration{
			officeKind(t, office, application.ExpiryBoundNone, nil),
		}}, wantErr: application.ErrNoSigner, wantSaid: "office grant"},
		{name: "the realtime token without a signer", grants: application.Grants{Kinds: []application.GrantRegistration{
			realtimeKind(t, realtime, application.ExpiryBoundNone, nil),
		}}, wantErr: application.ErrNoSigner, wantSaid: "realtime grant"},
		{name: "a kind registered twice", grants: application.Grants{Kinds: kinds(
			application.RegisterGrant(liveKit, application.ExpiryBoundNone, sign),
			application.RegisterDisabled(domain.GrantLiveKit),
		)}, wantErr: application.ErrKindRegisteredTwice, wantSaid: "livekit"},
		{name: "an office kind registered twice", grants: application.Grants{Kinds: kinds(
			application.RegisterDisabled(domain.GrantOffice),
		)}, wantErr: application.ErrKindRegisteredTwice},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app, err := application.New(application.Ports{}, tt.grants, application.RateLimitPolicy{}, nil)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil {
				if app == nil || !app.Enabled(domain.GrantOffice) || !app.Enabled(domain.GrantRealtime) {
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
