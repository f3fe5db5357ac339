package e2e_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/test/kit"
)

// chunked hides the body length, so only the bytes read can be limited.
type chunked struct{ io.Reader }

func TestErrorAnswers(t *testing.T) {
	t.Parallel()
	s := startService(t)
	member := s.IDP.Token(t, "user_1", "org_1", "member", time.Minute)
	loner := s.IDP.Token(t, "user_2", "", "", time.Minute)
	expired := s.IDP.Sign(t, jwt.MapClaims{"iss": s.IDP.Issuer, "aud": s.IDP.Audience, "sub": "user_1",
		"org_id": "org_1", "exp": time.Now().Add(-time.Hour).Unix()}, nil)
	wrongAud := s.IDP.Sign(t, jwt.MapClaims{"iss": s.IDP.Issuer, "aud": "another-client", "sub": "user_1",
		"org_id": "org_1", "exp": time.Now().Add(time.Hour).Unix()}, nil)

	// gatepass's own grant presented as the caller's identity.
	own := kit.Post(t, s.URL+kit.OfficePath, kit.Bearer(member)).Token(t)

	big := strings.Repeat("x", 64<<10)
	tests := []struct {
		name        string
		method      string
		path        string
		bearer      string
		rawAuth     string
		contentType string
		body        io.Reader
		status      int
		code        string
	}{
		{name: "no bearer", path: kit.OfficePath, status: 401, code: "missing_credentials"},
		{name: "not a bearer scheme", path: kit.OfficePath, rawAuth: "Basic dXNlcjpwYXNz", status: 401, code: "invalid_token"},
		{name: "garbage bearer", path: kit.OfficePath, bearer: "garbage", status: 401, code: "invalid_token"},
		{name: "expired bearer", path: kit.RealtimePath, bearer: expired, status: 401, code: "invalid_token"},
		{name: "bearer for another audience", path: kit.OfficePath, bearer: wrongAud, status: 401, code: "invalid_token"},
		{name: "own grant as identity", path: kit.OfficePath, bearer: own, status: 401, code: "invalid_token"},
		{name: "huge authorization header", path: kit.OfficePath, rawAuth: "Bearer " + strings.Repeat("a", 9<<10), status: 401, code: "invalid_token"},
		{name: "no organization", path: kit.OfficePath, bearer: loner, status: 403, code: "no_organization"},
		{name: "other organization", path: kit.OfficePath, bearer: member, contentType: "application/json",
			body: strings.NewReader(`{"orgId":"org_2"}`), status: 403, code: "organization_mismatch"},
		{name: "malformed JSON", path: kit.OfficePath, bearer: member, contentType: "application/json",
			body: strings.NewReader(`{"orgId":`), status: 400, code: "malformed_body"},
		{name: "orgId not a string", path: kit.OfficePath, bearer: member, contentType: "application/json",
			body: strings.NewReader(`{"orgId":42}`), status: 400, code: "malformed_body"},
		{name: "JSON array", path: kit.RealtimePath, bearer: member, contentType: "application/json",
			body: strings.NewReader(`[]`), status: 400, code: "malformed_body"},
		{name: "trailing data", path: kit.OfficePath, bearer: member, contentType: "application/json",
			body: strings.NewReader(`{} {}`), status: 400, code: "malformed_body"},
		{name: "stray closing brace", path: kit.RealtimePath, bearer: member, contentType: "application/json",
			body: strings.NewReader(`{}}`), status: 400, code: "malformed_body"},
		{name: "form body", path: kit.OfficePath, bearer: member, contentType: "application/x-www-form-urlencoded",
			body: strings.NewReader(`orgId=org_1`), status: 415, code: "unsupported_media_type"},
		{name: "body without content type", path: kit.RealtimePath, bearer: member,
			body: strings.NewReader(`{}`), status: 415, code: "unsupported_media_type"},
		{name: "large body", path: kit.OfficePath, bearer: member, contentType: "application/json",
			body: strings.NewReader(`{"orgId":"` + big + `"}`), status: 413, code: "body_too_large"},
		{name: "large chunked body", path: kit.RealtimePath, bearer: member, contentType: "application/json",
			body: chunked{strings.NewReader(`{"x":"` + big + `"}`)}, status: 413, code: "body_too_large"},
		{name: "unknown path", method: http.MethodGet, path: "/api/v1/nothing", status: 404, code: "not_found"},
		{name: "GET on a grant endpoint", method: http.MethodGet, path: kit.OfficePath, bearer: member, status: 405, code: "method_not_allowed"},
	}
	// The cases run in parallel inside this group, which ends when they
	// all have.
	t.Run("cases", func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				method := tt.method
				if method == "" {
					method = http.MethodPost
				}
				opts := []kit.Option{kit.Bearer(tt.bearer), kit.Body(tt.contentType, tt.body)}
				if tt.rawAuth != "" {
					opts = append(opts, kit.Authorization(tt.rawAuth))
				}
				r := kit.Call(t, method, s.URL+tt.path, opts...)
				kit.WantProblem(t, tt.name, r, tt.status, tt.code)
				if tt.bearer != "" && strings.Contains(string(r.Body), tt.bearer) {
					t.Error("the problem echoes the bearer token")
				}
			})
		}
	})
	// After all that, the service still serves.
	if r := kit.Post(t, s.URL+kit.RealtimePath, kit.Bearer(member)); r.Status != 200 {
		t.Fatalf("service stopped serving: %d", r.Status)
	}
}
