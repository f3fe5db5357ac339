// Package e2e_test drives the real gatepass binary over loopback, with a
// stand-in identity provider, and checks the returned tokens with a
// verifier that shares no code with gatepass.
package e2e_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatepass/gatepass/test/harness"
)

const (
	supabaseSecret = "e2e-supabase-secret-of-more-than-32-bytes!"
	wsURL          = "wss://office.test.example/ws"
)

type service struct {
	*harness.Process
	idp *harness.IdentityProvider
	key *rsa.PrivateKey
}

func genKey(t testing.TB, bits int) (*rsa.PrivateKey, string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	return key, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func baseEnv(t testing.TB, idp *harness.IdentityProvider, keyPEM string) map[string]string {
	env := map[string]string{
		"APP_ENV":             "production",
		"JWT_ISSUER":          "https://gatepass.test.example",
		"JWT_AUDIENCE":        "office-router",
		"JWT_PRIVATE_KEY":     keyPEM,
		"WEBSOCKET_BASE_URL":  wsURL,
		"SUPABASE_JWT_SECRET": supabaseSecret,
		"LOG_LEVEL":           "debug",
	}
	for k, v := range idp.Env() {
		env[k] = v
	}
	return env
}

func startService(t *testing.T) *service {
	t.Helper()
	idp := harness.NewIdentityProvider(t)
	key, keyPEM := genKey(t, 2048)
	return &service{Process: harness.Start(t, baseEnv(t, idp, keyPEM)), idp: idp, key: key}
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body %q is not JSON: %v", r.Body, err)
	}
	return m
}

func call(t *testing.T, method, url, bearer, contentType string, body io.Reader) response {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

const (
	officePath   = "/api/v1/cloudflare/request-access"
	realtimePath = "/api/v1/realtime/token"
)

func TestOfficeAccessGrant(t *testing.T) {
	s := startService(t)
	bearer := s.idp.Token(t, "user_01HXYZ", "org_01HABC", "admin", 5*time.Minute)
	before := time.Now().Unix()
	r := call(t, http.MethodPost, s.URL+officePath, bearer, "", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("status %d: %s", r.Status, r.Body)
	}
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", r.Header.Get("Cache-Control"))
	}
	body := r.json(t)
	if body["url"] != wsURL || body["tokenType"] != "Bearer" || body["expiresIn"] != float64(60) {
		t.Fatalf("body %s", r.Body)
	}
	token, _ := body["token"].(string)
	got, err := verifyRS256(token, &s.key.PublicKey)
	if err != nil {
		t.Fatalf("token does not verify with the configured key: %v", err)
	}
	if got.Header["typ"] != "JWT" || got.Header["kid"] != rfc7638(&s.key.PublicKey) {
		t.Errorf("header %v", got.Header)
	}
	c := got.Claims
	for name, want := range map[string]string{
		"iss": "https://gatepass.test.example", "aud": "office-router", "sub": "user_01HXYZ",
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
	r2 := call(t, http.MethodPost, s.URL+officePath, bearer, "application/json", strings.NewReader(`{"orgId":"org_01HABC"}`))
	if r2.Status != http.StatusOK {
		t.Fatalf("matching orgId: status %d: %s", r2.Status, r2.Body)
	}
	second, err := verifyRS256(r2.json(t)["token"].(string), &s.key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if second.Claims["jti"] == jti {
		t.Error("two grants share a jti")
	}

	// The published JWKS names the same key.
	jwksResp := call(t, http.MethodGet, s.URL+"/.well-known/jwks.json", "", "", nil)
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
	if k["kid"] != got.Header["kid"] || k["n"] != base64.RawURLEncoding.EncodeToString(s.key.N.Bytes()) ||
		k["use"] != "sig" || k["alg"] != "RS256" || k["d"] != "" {
		t.Errorf("jwks key %v", k)
	}
}

func TestRealtimeToken(t *testing.T) {
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
			r := call(t, http.MethodPost, s.URL+realtimePath, s.idp.Token(t, "user_9", tt.org, tt.role, time.Minute), "", nil)
			if r.Status != http.StatusOK {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
			if r.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", r.Header.Get("Cache-Control"))
			}
			body := r.json(t)
			if body["tokenType"] != "Bearer" || body["expiresIn"] != float64(3600) {
				t.Fatalf("body %s", r.Body)
			}
			got, err := verifyHS256(body["token"].(string), []byte(supabaseSecret))
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
