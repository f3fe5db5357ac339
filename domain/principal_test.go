package domain_test

import (
	"errors"
	"fmt"
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
		{name: "non-ASCII letters are identifiers", user: "usér_01", org: "org_ß",
			want: domain.Principal{UserID: "usér_01", OrgID: "org_ß", Role: domain.DefaultRole}},
		{name: "empty user", user: "", org: "org_01", wantErr: domain.ErrInvalidPrincipal},
		{name: "blank user", user: "  ", wantErr: domain.ErrInvalidPrincipal},
		// Trimming made "user_01" and "user_01\u3000" one identity.
		{name: "ASCII spaces around the user", user: " user_01 ", wantErr: domain.ErrInvalidPrincipal},
		{name: "ideographic space after the user", user: "user_01\u3000", wantErr: domain.ErrInvalidPrincipal},
		{name: "no-break space after the organization", user: "user_01", org: "org_01\u00a0", wantErr: domain.ErrInvalidPrincipal},
		{name: "line separator before the organization", user: "user_01", org: "\u2028org_01", wantErr: domain.ErrInvalidPrincipal},
		{name: "space inside the role", user: "user_01", org: "org_01", role: "ad min", wantErr: domain.ErrInvalidPrincipal},
		{name: "tab after the role", user: "user_01", org: "org_01", role: "admin\t", wantErr: domain.ErrInvalidPrincipal},
		{name: "NUL in the user", user: "user\x0001", wantErr: domain.ErrInvalidPrincipal},
		{name: "DEL in the user", user: "user\x7f01", wantErr: domain.ErrInvalidPrincipal},
		{name: "C1 control in the organization", user: "user_01", org: "org\u008501", wantErr: domain.ErrInvalidPrincipal},
		{name: "zero-width space in the user", user: "user\u200b_01", wantErr: domain.ErrInvalidPrincipal},
		{name: "bidi override in the role", user: "user_01", org: "org_01", role: "\u202eadmin", wantErr: domain.ErrInvalidPrincipal},
		{name: "invalid UTF-8 in the user", user: "user_\xff", wantErr: domain.ErrInvalidPrincipal},
		{name: "replacement character in the user", user: "user_\ufffd", wantErr: domain.ErrInvalidPrincipal},
		{name: "malformed role without organization", user: "user_01", role: "admin\n", wantErr: domain.ErrInvalidPrincipal},
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

func TestCredentialError(t *testing.T) {
	var err error = fmt.Errorf("verify: %w", &domain.CredentialError{Reason: domain.ReasonMalformedClaim, Claim: "sub"})
	if !errors.Is(err, domain.ErrInvalidCredentials) {
		t.Fatalf("%v does not wrap ErrInvalidCredentials", err)
	}
	var ce *domain.CredentialError
	if !errors.As(err, &ce) || ce.Reason != domain.ReasonMalformedClaim || ce.Claim != "sub" {
		t.Fatalf("errors.As: %+v", ce)
	}
	if got, want := err.Error(), "verify: invalid credentials: malformed_claim (sub)"; got != want {
		t.Fatalf("message %q, want %q", got, want)
	}
	if got, want := (&domain.CredentialError{Reason: domain.ReasonExpired}).Error(), "invalid credentials: expired"; got != want {
		t.Fatalf("message %q, want %q", got, want)
	}
}
