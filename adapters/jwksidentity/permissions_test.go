package jwksidentity_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/domain"
	"github.com/gatepass/gatepass/test/kit"
)

func TestPermissionsClaim(t *testing.T) {
	p := kit.NewIdentityProvider(t)
	v := newVerifier(t, p, "client_123")
	tests := []struct {
		name    string
		value   any
		present bool
		want    []string
		wantErr error
	}{
		{name: "absent means none"},
		{name: "null means none", present: true, value: nil},
		{name: "an array of strings", present: true, value: []string{"livekit:publish", "reports:read", "livekit:publish"},
			want: []string{"livekit:publish", "reports:read"}},
		{name: "a string is not an array", present: true, value: "livekit:publish", wantErr: domain.ErrInvalidCredentials},
		{name: "a number in the array", present: true, value: []any{"a", 1}, wantErr: domain.ErrInvalidCredentials},
		{name: "white space in a permission", present: true, value: []string{"livekit: publish"}, wantErr: domain.ErrInvalidCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := p.Sign(t, with(func(c jwt.MapClaims) {
				if tt.present {
					c["permissions"] = tt.value
				}
			}), nil)
			got, err := v.VerifyIdentity(context.Background(), tok)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				var ce *domain.CredentialError
				if !errors.As(err, &ce) || ce.Reason != domain.ReasonMalformedClaim || ce.Claim != "permissions" {
					t.Fatalf("refusal %v does not name the malformed permissions claim", err)
				}
				return
			}
			if !slices.Equal(got.Permissions.List(), tt.want) {
				t.Fatalf("permissions %v, want %v", got.Permissions.List(), tt.want)
			}
		})
	}
}
