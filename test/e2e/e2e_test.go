// Package e2e_test drives gatepass end to end over loopback, with a
// stand-in identity provider, and checks the returned tokens with a
// verifier that shares no code with gatepass. Grants, errors, signers and
// logs are served in process; the real binary starts where the process is
// the subject: refusals at start, signals and draining, the development
// quick start, the PKCS#11 token, and the commands that check what a
// server issued (the rest of the command line: test/cli).
package e2e_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatepass/gatepass/test/inproc"
	"github.com/gatepass/gatepass/test/kit"
)

// debug is the log level of every service here: the logs test checks that
// even debug logs carry no secret.
var debug = map[string]string{"LOG_LEVEL": "debug"}

func startService(t *testing.T) *kit.Service {
	t.Helper()
	return inproc.ServeService(t, debug)
}

func TestOfficeAccessGrant(t *testing.T) {
	t.Parallel()
	s := startService(t)
	bearer := s.IDP.Token(t, "user_01HXYZ", "org_01HABC", "admin", 5*time.Minute)
	before := time.Now().Unix()
	r := kit.Post(t, s.URL+kit.OfficePath, kit.Bearer(bearer))
	if r.Status != http.StatusOK {
		t.Fatalf("status %d: %s", r.Status, r.Body)
	}
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", r.Header.Get("Cache-Control"))
	}
	body := r.JSON(t)
	if body["url"] != kit.OfficeURL || body["tokenType"] != "Bearer" || body["expiresIn"] != float64(60) {
		t.Fatalf("body %s", r.Body)
	}
	token, _ := body["token"].(string)
	got, err := verifyRS256(token, &s.Key.PublicKey)
	if err != nil {
		t.Fatalf("token does not verify with the configured key: %v", err)
	}
	if got.Header["typ"] != "JWT" || got.Header["kid"] != kit.Thumbprint(&s.Key.PublicKey) {
		t.Errorf("header %v", got.Header)
	}
	c := got.Claims
	for name, want := range map[string]string{
		"iss": kit.GrantIssuer, "aud": "office-router", "sub": "user_01HXYZ",
		"userId": "user_01HXYZ", "orgId": "org_01HABC", "role": "admin",
	} {
		if c[name] != want {
			t.Errorf("claim %s = %#v, want %q", name, c[name], want)
		}
	}
	iat, err1 := intClaim(c, "iat")
	nbf, err2 := intClaim(c, "nbf")
	exp, err3 := intClaim(c, "exp")
	if err1 != nil || err2 != nil || err3 != nil {
		t.Fatalf("NumericDates: %v %v %v", err1, err2, err3)
	}
	if iat < before-1 || iat > time.Now().Unix()+1 || nbf != iat || exp != iat+60 {
		t.Errorf("iat %d nbf %d exp %d (request at %d)", iat, nbf, exp, before)
	}
	if body["expiresAt"] != time.Unix(exp, 0).UTC().Format(time.RFC3339) {
		t.Errorf("expiresAt %v, exp %d", body["expiresAt"], exp)
	}
	jti, _ := c["jti"].(string)
	if raw, err := base64.RawURLEncoding.DecodeString(jti); err != nil || len(raw) < 16 {
		t.Errorf("jti %q is not 128 random bits", jti)
	}

	// Every grant has its own jti; an orgId in the body must match.
	r2 := kit.Post(t, s.URL+kit.OfficePath, kit.Bearer(bearer), kit.JSONBody(`{"orgId":"org_01HABC"}`))
	if r2.Status != http.StatusOK {
		t.Fatalf("matching orgId: status %d: %s", r2.Status, r2.Body)
	}
	second, err := verifyRS256(r2.Token(t), &s.Key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if second.Claims["jti"] == jti {
		t.Error("two grants share a jti")
	}

	// The published JWKS names the same key.
	jwksResp := kit.Get(t, s.URL+kit.JWKSPath)
	if jwksResp.Status != http.StatusOK || !strings.HasPrefix(jwksResp.Header.Get("Content-Type"), "application/json") ||
		jwksResp.Header.Get("Cache-Control") != "public, max-age=300" {
		t.Fatalf("jwks: %d %v", jwksResp.Status, jwksResp.Header)
	}
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(jwksResp.Body, &set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("jwks %s", jwksResp.Body)
	}
	k := set.Keys[0]
	if k["kid"] != got.Header["kid"] || k["n"] != base64.RawURLEncoding.EncodeToString(s.Key.N.Bytes()) ||
		k["use"] != "sig" || k["alg"] != "RS256" || k["d"] != "" {
		t.Errorf("jwks key %v", k)
	}
}

func TestRealtimeToken(t *testing.T) {
	t.Parallel()
	s := startService(t)
	tests := []struct {
		name     string
		org      string
		role     string
		wantMeta map[string]any
	}{
		{name: "member", org: "org_7", role: "member", wantMeta: map[string]any{"org_id": "org_7", "org_role": "member"}},
		{name: "no organization", org: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := kit.Post(t, s.URL+kit.RealtimePath, kit.Bearer(s.IDP.Token(t, "user_9", tt.org, tt.role, time.Minute)))
			if r.Status != http.StatusOK {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
			if r.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", r.Header.Get("Cache-Control"))
			}
			body := r.JSON(t)
			if body["tokenType"] != "Bearer" || body["expiresIn"] != float64(3600) {
				t.Fatalf("body %s", r.Body)
			}
			got, err := verifyHS256(body["token"].(string), []byte(kit.SupabaseSecret))
			if err != nil {
				t.Fatalf("token does not verify with the Supabase secret: %v", err)
			}
			c := got.Claims
			for name, want := range map[string]string{"iss": "qubital-backend", "aud": "authenticated", "role": "authenticated", "sub": "user_9"} {
				if c[name] != want {
					t.Errorf("claim %s = %#v, want %q", name, c[name], want)
				}
			}
			iat, _ := intClaim(c, "iat")
			exp, err := intClaim(c, "exp")
			if err != nil || exp != iat+3600 || body["expiresAt"] != time.Unix(exp, 0).UTC().Format(time.RFC3339) {
				t.Errorf("iat %d exp %d expiresAt %v (%v)", iat, exp, body["expiresAt"], err)
			}
			if jti, _ := c["jti"].(string); len(jti) < 22 {
				t.Errorf("jti %q", jti)
			}
			meta, present := c["app_metadata"]
			if tt.wantMeta == nil {
				if present {
					t.Errorf("app_metadata %v for a caller without organization", meta)
				}
				return
			}
			m, _ := meta.(map[string]any)
			for k, v := range tt.wantMeta {
				if m[k] != v {
					t.Errorf("app_metadata.%s = %v, want %v", k, m[k], v)
				}
			}
		})
	}
}
