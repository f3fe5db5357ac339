package domain_test

import (
	"errors"
	"testing"
	"time"

	"github.com/gatepass/gatepass/domain"
)

var (
	member   = domain.Principal{UserID: "user_01H", OrgID: "org_01", Role: "admin"}
	loner    = domain.Principal{UserID: "user_02H"}
	issuedAt = time.Date(2026, 11, 29, 10, 0, 0, 750_000_000, time.FixedZone("CET", 3600))
)

func issuance() domain.Issuance {
	return domain.Issuance{Issuer: "gatepass", Audience: "office-router", ID: "jti-1", Now: issuedAt, TTL: 60 * time.Second}
}

func TestNewOfficeClaims(t *testing.T) {
	tests := []struct {
		name    string
		caller  domain.Principal
		edit    func(*domain.Issuance)
		wantErr error
	}{
		{name: "member"},
		{name: "no organization", caller: loner, wantErr: domain.ErrNoOrganization},
		{name: "member without role", caller: domain.Principal{UserID: "u", OrgID: "o"}, wantErr: domain.ErrInvalidClaims},
		{name: "no subject", caller: domain.Principal{OrgID: "o", Role: "r"}, wantErr: domain.ErrInvalidClaims},
		{name: "no issuer", edit: func(i *domain.Issuance) { i.Issuer = "" }, wantErr: domain.ErrInvalidClaims},
		{name: "no audience", edit: func(i *domain.Issuance) { i.Audience = "" }, wantErr: domain.ErrInvalidClaims},
		{name: "no id", edit: func(i *domain.Issuance) { i.ID = "" }, wantErr: domain.ErrInvalidClaims},
		{name: "zero time", edit: func(i *domain.Issuance) { i.Now = time.Time{} }, wantErr: domain.ErrInvalidClaims},
		{name: "ttl under a second", edit: func(i *domain.Issuance) { i.TTL = 500 * time.Millisecond }, wantErr: domain.ErrInvalidClaims},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			caller := tt.caller
			if caller == (domain.Principal{}) {
				caller = member
			}
			in := issuance()
			if tt.edit != nil {
				tt.edit(&in)
			}
			c, err := domain.NewOfficeClaims(caller, in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			wantIat := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
			want := domain.OfficeClaims{
				Registered: domain.Registered{
					Issuer: "gatepass", Subject: "user_01H", Audience: "office-router", ID: "jti-1",
					IssuedAt: wantIat, NotBefore: wantIat, ExpiresAt: wantIat.Add(time.Minute),
				},
				UserID: "user_01H", OrgID: "org_01", Role: "admin",
			}
			if c != want {
				t.Fatalf("claims\n got %+v\nwant %+v", c, want)
			}
			if c.TTL() != time.Minute {
				t.Fatalf("TTL = %s", c.TTL())
			}
		})
	}
}

func TestNewRealtimeClaims(t *testing.T) {
	tests := []struct {
		name    string
		caller  domain.Principal
		wantApp *domain.AppMetadata
	}{
		{name: "member carries app metadata", caller: member, wantApp: &domain.AppMetadata{OrgID: "org_01", OrgRole: "admin"}},
		{name: "no organization, no app metadata", caller: loner},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := issuance()
			in.TTL = time.Hour
			c, err := domain.NewRealtimeClaims(tt.caller, in)
			if err != nil {
				t.Fatal(err)
			}
			if c.Audience != domain.RealtimeAudience || c.Role != domain.RealtimeRole {
				t.Fatalf("aud %q role %q, want Supabase's fixed values", c.Audience, c.Role)
			}
			if c.Subject != tt.caller.UserID || c.ExpiresAt.Sub(c.IssuedAt) != time.Hour {
				t.Fatalf("sub %q ttl %s", c.Subject, c.ExpiresAt.Sub(c.IssuedAt))
			}
			switch {
			case tt.wantApp == nil && c.App != nil:
				t.Fatalf("app metadata %+v, want none", *c.App)
			case tt.wantApp != nil && (c.App == nil || *c.App != *tt.wantApp):
				t.Fatalf("app metadata %+v, want %+v", c.App, *tt.wantApp)
			}
		})
	}
	if _, err := domain.NewRealtimeClaims(domain.Principal{}, issuance()); !errors.Is(err, domain.ErrInvalidClaims) {
		t.Fatalf("no subject: err = %v", err)
	}
}

func TestRateLimitedError(t *testing.T) {
	var err error = &domain.RateLimitedError{RetryAfter: 3 * time.Second}
	if !errors.Is(err, domain.ErrRateLimited) {
		t.Fatal("RateLimitedError does not unwrap to ErrRateLimited")
	}
	if (domain.Limit{Rate: 1, Period: time.Second, Burst: 1}).Valid() != true || (domain.Limit{}).Valid() {
		t.Fatal("Limit.Valid")
	}
}
