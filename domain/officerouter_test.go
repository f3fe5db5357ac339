package domain_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatepass/gatepass/domain"
)

func TestNewOfficeRouterAdminSettings(t *testing.T) {
	valid := domain.OfficeRouterAdminSettings{
		URL: "https://office.example.com/admin/revoke", Issuer: "gatepass", Audience: domain.DefaultOfficeRouterAdminAudience, GrantTTL: time.Minute,
	}
	others := []domain.NamedAudience{{Name: "JWT_AUDIENCE", Audience: "office-router"}, {Name: "CENTRIFUGO_AUDIENCE", Audience: "centrifugo"}}
	tests := []struct {
		name    string
		edit    func(*domain.OfficeRouterAdminSettings)
		wantErr error
		field   string
		says    string
	}{
		{name: "valid"},
		{name: "the office grants' audience", edit: func(s *domain.OfficeRouterAdminSettings) { s.Audience = "office-router" },
			wantErr: domain.ErrAudienceShared, field: "Audience", says: "must differ from JWT_AUDIENCE"},
		{name: "Centrifugo's audience", edit: func(s *domain.OfficeRouterAdminSettings) { s.Audience = "centrifugo" },
			wantErr: domain.ErrAudienceShared, field: "Audience", says: "must differ from CENTRIFUGO_AUDIENCE"},
		{name: "no audience", edit: func(s *domain.OfficeRouterAdminSettings) { s.Audience = "" },
			wantErr: domain.ErrAudienceMissing, field: "Audience", says: "must not be empty"},
		{name: "no URL", edit: func(s *domain.OfficeRouterAdminSettings) { s.URL = "" },
			wantErr: domain.ErrSettingMissing, field: "URL"},
		{name: "no issuer", edit: func(s *domain.OfficeRouterAdminSettings) { s.Issuer = "" },
			wantErr: domain.ErrSettingMissing, field: "Issuer"},
		{name: "no grant lifetime", edit: func(s *domain.OfficeRouterAdminSettings) { s.GrantTTL = 0 },
			wantErr: domain.ErrTTLOutOfRange, field: "GrantTTL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := valid
			if tt.edit != nil {
				tt.edit(&s)
			}
			got, err := domain.NewOfficeRouterAdminSettings(s, others...)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil {
				if got != s {
					t.Fatalf("settings %+v, want %+v", got, s)
				}
				return
			}
			var se *domain.SettingError
			if !errors.As(err, &se) || se.Field != tt.field || !strings.Contains(se.Reason, tt.says) {
				t.Fatalf("error %v, want field %s saying %q", err, tt.field, tt.says)
			}
		})
	}
}
