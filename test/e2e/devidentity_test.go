package e2e_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gatepass/gatepass/test/inproc"
	"github.com/gatepass/gatepass/test/kit"
)

// devIdentity asks a development gatepass for an identity token with body
// ("" for none) and returns it, failing unless it is answered as the
// interface says: 200, no-store, a bearer token for 12 hours.
func devIdentity(t *testing.T, baseURL, body string) string {
	t.Helper()
	var opts []kit.Option
	if body != "" {
		opts = append(opts, kit.JSONBody(body))
	}
	r := kit.Post(t, baseURL+kit.DevIdentityPath, opts...)
	kit.WantStatus(t, "dev identity token", r, http.StatusOK)
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	m := r.JSON(t)
	if m["token_type"] != "Bearer" || m["expires_in"] != float64(12*3600) {
		t.Errorf("answer %s", r.Body)
	}
	tok, _ := m["access_token"].(string)
	if tok == "" {
		t.Fatalf("no access_token in %s", r.Body)
	}
	return tok
}

// TestDevIdentityTokenSignsInAsAnyDevelopmentUser: in development the
// route mints, for the user, organization and role of the body (the
// defaults of `gatepass dev-token` for those left out), an identity token
// gatepass accepts; the token is never logged.
func TestDevIdentityTokenSignsInAsAnyDevelopmentUser(t *testing.T) {
	t.Parallel()
	p := inproc.Serve(t, map[string]string{"APP_ENV": "development"})
	tests := []struct {
		name             string
		body             string
		wantSub, wantOrg string
		wantRole         any
		officeStatus     int
		officeCode       string
	}{
		{name: "every field", body: `{"user":"user_page_1","org":"org_page","role":"admin"}`,
			wantSub: "user_page_1", wantOrg: "org_page", wantRole: "admin", officeStatus: http.StatusOK},
		{name: "no body: the defaults", wantSub: "user_dev_01", wantOrg: "org_dev_01", wantRole: "member", officeStatus: http.StatusOK},
		{name: "an empty object: the defaults", body: `{}`, wantSub: "user_dev_01", wantOrg: "org_dev_01", wantRole: "member", officeStatus: http.StatusOK},
		{name: "no organization", body: `{"user":"user_alone","org":""}`, wantSub: "user_alone", wantRole: "member",
			officeStatus: http.StatusForbidden, officeCode: "no_organization"},
		{name: "no role", body: `{"role":""}`, wantSub: "user_dev_01", wantOrg: "org_dev_01", officeStatus: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := devIdentity(t, p.URL, tt.body)
			claims := kit.PayloadOf(t, tok)
			if claims["sub"] != tt.wantSub || claims["role"] != tt.wantRole {
				t.Errorf("claims %v, want sub %s role %v", claims, tt.wantSub, tt.wantRole)
			}
			if org, _ := claims["org_id"].(string); org != tt.wantOrg {
				t.Errorf("org_id %q, want %q", org, tt.wantOrg)
			}
			// The minted token is a caller's identity: it gets grants.
			r := kit.Post(t, p.URL+kit.RealtimePath, kit.Bearer(tok))
			kit.WantStatus(t, "realtime token", r, http.StatusOK)
			if sub := kit.PayloadOf(t, r.Token(t))["sub"]; sub != tt.wantSub {
				t.Errorf("realtime token's sub %v, want %s", sub, tt.wantSub)
			}
			office := kit.Post(t, p.URL+kit.OfficePath, kit.Bearer(tok))
			if tt.officeCode != "" {
				kit.WantProblem(t, "office grant", office, tt.officeStatus, tt.officeCode)
			} else {
				kit.WantStatus(t, "office grant", office, tt.officeStatus)
			}
			if strings.Contains(p.Logs(), tok) {
				t.Error("the identity token is in the logs")
			}
		})
	}
}

// TestDevIdentityTokenRefusesBadBodies: a body is refused with 400 naming
// the field at fault, and a body past HTTP_MAX_BODY_BYTES with 413.
func TestDevIdentityTokenRefusesBadBodies(t *testing.T) {
	t.Parallel()
	p := inproc.Serve(t, map[string]string{"APP_ENV": "development", "HTTP_MAX_BODY_BYTES": "1024"})
	tests := []struct {
		name      string
		body      string
		status    int
		code      string
		wantField string
	}{
		{name: "empty user", body: `{"user":""}`, status: 400, code: "malformed_body", wantField: "user"},
		{name: "user not a string", body: `{"user":5}`, status: 400, code: "malformed_body", wantField: "user"},
		{name: "org null", body: `{"org":["a"]}`, status: 400, code: "malformed_body", wantField: "org"},
		{name: "role with a control character", body: `{"role":"admin\u0000"}`, status: 400, code: "malformed_body", wantField: "role"},
		{name: "org too long", body: `{"org":"` + strings.Repeat("o", 129) + `"}`, status: 400, code: "malformed_body", wantField: "org"},
		{name: "an unknown field", body: `{"user":"u","ttl":"1h"}`, status: 400, code: "malformed_body", wantField: "ttl"},
		{name: "not an object", body: `["user"]`, status: 400, code: "malformed_body", wantField: "body"},
		{name: "two objects", body: `{}{}`, status: 400, code: "malformed_body", wantField: "body"},
		{name: "too large", body: `{"user":"` + strings.Repeat("u", 2048) + `"}`, status: 413, code: "body_too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := kit.Post(t, p.URL+kit.DevIdentityPath, kit.JSONBody(tt.body))
			pr := kit.WantProblem(t, tt.name, r, tt.status, tt.code)
			if pr.Field != tt.wantField {
				t.Errorf("field %q, want %q: %s", pr.Field, tt.wantField, r.Body)
			}
			if tt.wantField != "" && !strings.HasPrefix(pr.Detail, tt.wantField+" ") {
				t.Errorf("detail %q does not name %s", pr.Detail, tt.wantField)
			}
		})
	}
}

// TestDevIdentityTokenIsForThisMachineAndItsPage: a request that came
// through a proxy is answered as if there were no such route, and the
// page's origin (CORS_ALLOWED_ORIGINS) may call the route from a browser.
func TestDevIdentityTokenIsForThisMachineAndItsPage(t *testing.T) {
	t.Parallel()
	const page = "http://127.0.0.1:5173"
	p := inproc.Serve(t, map[string]string{"APP_ENV": "development", "CORS_ALLOWED_ORIGINS": page})
	for _, h := range []string{"X-Forwarded-For", "Forwarded"} {
		r := kit.Post(t, p.URL+kit.DevIdentityPath, kit.Header(h, "203.0.113.7"))
		kit.WantProblem(t, "through a proxy ("+h+")", r, http.StatusNotFound, "not_found")
	}
	pre := kit.Call(t, http.MethodOptions, p.URL+kit.DevIdentityPath, kit.Header("Origin", page),
		kit.Header("Access-Control-Request-Method", "POST"), kit.Header("Access-Control-Request-Headers", "content-type"))
	if pre.Status/100 != 2 || pre.Header.Get("Access-Control-Allow-Origin") != page {
		t.Fatalf("preflight from the page: %s %v", pre, pre.Header)
	}
	r := kit.Post(t, p.URL+kit.DevIdentityPath, kit.Header("Origin", page), kit.JSONBody(`{"user":"user_page"}`))
	kit.WantStatus(t, "from the page", r, http.StatusOK)
	if r.Header.Get("Access-Control-Allow-Origin") != page {
		t.Errorf("Access-Control-Allow-Origin %q, want %s", r.Header.Get("Access-Control-Allow-Origin"), page)
	}
}

// TestDevIdentityTokenIsNotServedOutsideDevelopment: production, and
// development with a real identity provider, have no such route.
func TestDevIdentityTokenIsNotServedOutsideDevelopment(t *testing.T) {
	t.Parallel()
	idp := kit.NewIdentityProvider(t)
	for name, url := range map[string]string{
		"production":                     inproc.ServeServiceTrusting(t, idp).URL,
		"development with AUTH_JWKS_URL": inproc.Serve(t, kit.With(idp.Env(), map[string]string{"APP_ENV": "development"})).URL,
	} {
		r := kit.Post(t, url+kit.DevIdentityPath, kit.JSONBody(`{}`))
		kit.WantProblem(t, name, r, http.StatusNotFound, "not_found")
	}
}

// TestDevIdentityTokenOfTheBinary: the real binary serves the route in
// development, the token it mints gets a grant, and production answers
// 404.
func TestDevIdentityTokenOfTheBinary(t *testing.T) {
	t.Parallel()
	devDir := t.TempDir()
	dev := kit.Start(t, map[string]string{"APP_ENV": "development", "DEV_DIR": devDir})
	tok := devIdentity(t, dev.URL, `{"user":"user_binary","org":"org_binary","role":"member"}`)
	r := kit.Post(t, dev.URL+kit.RealtimePath, kit.Bearer(tok))
	kit.WantStatus(t, "realtime token", r, http.StatusOK)
	if org := kit.PayloadOf(t, r.Token(t))["app_metadata"]; !strings.Contains(fmt.Sprint(org), "org_binary") {
		t.Errorf("app_metadata %v, want org_binary", org)
	}
	// `gatepass dev-token` mints through the same path, with the same
	// refusals.
	_, stderr, err := kit.Run(t, map[string]string{"APP_ENV": "development", "DEV_DIR": devDir}, "dev-token", "--user", "")
	if err == nil || !strings.Contains(stderr, "--user is required") {
		t.Errorf("dev-token --user \"\": %v %s", err, stderr)
	}

	prod := kit.StartService(t)
	kit.WantProblem(t, "production", kit.Post(t, prod.URL+kit.DevIdentityPath, kit.JSONBody(`{}`)), http.StatusNotFound, "not_found")
}
