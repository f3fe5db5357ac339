package application_test

import (
	"errors"
	"testing"
	"time"

	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
)

func TestPolicyConstructorsKeepTheirBounds(t *testing.T) {
	office := domain.OfficeSettings{Issuer: "gatepass", Audience: "office-router", TTL: time.Minute}
	centrifugo := domain.CentrifugoSettings{Issuer: "gatepass", Audience: "centrifugo", ConnectionTTL: time.Hour, SubscriptionTTL: time.Hour}
	withAudience := func(aud string) domain.CentrifugoSettings { c := centrifugo; c.Audience = aud; return c }
	withTTLs := func(conn, sub time.Duration) domain.CentrifugoSettings {
		c := centrifugo
		c.ConnectionTTL, c.SubscriptionTTL = conn, sub
		return c
	}
	tests := []struct {
		name       string
		build      func() error
		wantErr    error
		wantFields []string
	}{
		{"office at its bounds", func() error {
			_, err := domain.NewOfficeSettings(domain.OfficeSettings{TTL: time.Hour})
			return err
		}, nil, nil},
		{"office under a second", func() error {
			_, err := domain.NewOfficeSettings(domain.OfficeSettings{TTL: time.Second - 1})
			return err
		}, application.ErrTTLOutOfRange, []string{"TTL"}},
		{"realtime over a day", func() error {
			_, err := domain.NewRealtimeSettings(domain.RealtimeSettings{TTL: 24*time.Hour + 1})
			return err
		}, application.ErrTTLOutOfRange, []string{"TTL"}},
		{"livekit under a minute", func() error {
			_, err := domain.NewLiveKitSettings(domain.LiveKitSettings{TTL: 59 * time.Second})
			return err
		}, application.ErrTTLOutOfRange, []string{"TTL"}},
		{"livekit six hours", func() error {
			_, err := domain.NewLiveKitSettings(domain.LiveKitSettings{TTL: 6 * time.Hour})
			return err
		}, nil, nil},
		{"centrifugo", func() error { _, err := domain.NewCentrifugoSettings(centrifugo, office.Audience); return err }, nil, nil},
		{"centrifugo with the office audience", func() error {
			_, err := domain.NewCentrifugoSettings(withAudience("office-router"), office.Audience)
			return err
		}, application.ErrAudienceShared, []string{"Audience"}},
		{"centrifugo without an audience", func() error {
			_, err := domain.NewCentrifugoSettings(withAudience(""), office.Audience)
			return err
		}, application.ErrAudienceMissing, []string{"Audience"}},
		{"centrifugo: every problem at once", func() error {
			c := withTTLs(time.Second, 25*time.Hour)
			c.Audience = "office-router"
			_, err := domain.NewCentrifugoSettings(c, office.Audience)
			return err
		}, application.ErrTTLOutOfRange, []string{"Audience", "ConnectionTTL", "SubscriptionTTL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.build()
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("err = %v, want none", err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			var fields []string
			for _, se := range application.SettingErrors(err) {
				fields = append(fields, se.Field)
				if se.Reason == "" {
					t.Errorf("%s: no reason", se.Field)
				}
			}
			if len(fields) != len(tt.wantFields) {
				t.Fatalf("fields %v, want %v", fields, tt.wantFields)
			}
			for i := range fields {
				if fields[i] != tt.wantFields[i] {
					t.Errorf("fields %v, want %v", fields, tt.wantFields)
				}
			}
		})
	}
}
