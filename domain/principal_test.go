package domain_test

import (
	"errors"
	"testing"

	"github.com/gatepass/gatepass/domain"
)

func TestNewPrincipal(t *testing.T) {
	tests := []struct {
		name            string
		user, org, role string
		want            domain.Principal
		wantErr         error
	}{
		{name: "member with role", user: "user_01", org: "org_01", role: "admin",
			want: domain.Principal{UserID: "user_01", OrgID: "org_01", Role: "admin"}},
		{name: "member without role gets the default", user: "user_01", org: "org_01",
			want: domain.Principal{UserID: "user_01", OrgID: "org_01", Role: domain.DefaultRole}},
		{name: "no organization drops the role", user: "user_01", role: "admin",
			want: domain.Principal{UserID: "user_01"}},
		{name: "spaces are trimmed", user: " user_01 ", org: " org_01 ", role: " admin ",
			want: domain.Principal{UserID: "user_01", OrgID: "org_01", Role: "admin"}},
		{name: "empty user", user: "", org: "org_01", wantErr: domain.ErrInvalidPrincipal},
		{name: "blank user", user: "  ", wantErr: domain.ErrInvalidPrincipal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := domain.NewPrincipal(tt.user, tt.org, tt.role)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			if got.HasOrganization() != (tt.want.OrgID != "") {
				t.Fatalf("HasOrganization = %v", got.HasOrganization())
			}
		})
	}
}
