package jwtsigner_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/adapters/jwtsigner"
	"github.com/gatepass/gatepass/domain"
	"github.com/gatepass/gatepass/foundation/jwa"
	"github.com/gatepass/gatepass/test/kit"
)

var iat = time.Unix(1_800_000_000, 0).UTC()

func officeClaims() domain.OfficeClaims {
	return domain.OfficeClaims{
		Registered: domain.Registered{Issuer: "gatepass", Subject: "user_01H", Audience: "office-router", ID: "jti-1",
			IssuedAt: iat, NotBefore: iat, ExpiresAt: iat.Add(time.Minute)},
		UserID: "user_01H", OrgID: "org_01", Role: "admin",
	}
}

func decodeSegment(t *testing.T, seg string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestOfficeSignerRoundTrip(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jwtsigner.NewOfficeSigner(key, "RS256")
	if err != nil {
		t.Fatal(err)
	}
	wantKID := kit.Thumbprint(&key.PublicKey)
	if s.KeyID() != wantKID || s.Algorithm() != "RS256" {
		t.Fatalf("kid %s alg %s", s.KeyID(), s.Algorithm())
	}
	token, err := s.SignOffice(context.Background(), officeClaims())
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(token, ".")
	header := decodeSegment(t, parts[0])
	if header["alg"] != "RS256" || header["typ"] != "JWT" || header["kid"] != wantKID {
		t.Fatalf("header %v", header)
	}
	claims := decodeSegment(t, parts[1])
	want := map[string]string{
		"iss": "gatepass", "sub": "user_01H", "aud": "office-router", "jti": "jti-1",
		"userId": "user_01H", "orgId": "org_01", "role": "admin",
		"iat": "1800000000", "nbf": "1800000000", "exp": "1800000060",
	}
	if len(claims) != len(want) {
		t.Fatalf("claims %v, want exactly %v", claims, want)
	}
	for k, v := range want {
		if got := claims[k]; got == nil || toString(got) != v {
			t.Errorf("claim %s = %v, want %s", k, got, v)
		}
	}
	// Verify with golang-jwt's own RS256 and the public key.
	parsed, err := jwt.Parse(token, func(*jwt.Token) (any, error) { return &key.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithTimeFunc(func() time.Time { return iat.Add(time.Second) }))
	if err != nil || !parsed.Valid {
		t.Fatalf("verify: %v", err)
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	if _, err := jwt.Parse(token, func(*jwt.Token) (any, error) { return &other.PublicKey, nil },
		jwt.WithTimeFunc(func() time.Time { return iat })); err == nil {
		t.Fatal("token verified with another key")
	}
}

func toString(v any) string {
	if n, ok := v.(json.Number); ok {
		return n.String()
	}
	s, _ := v.(string)
	return s
}

func TestOfficeSignerRefusesUnknownAlgorithm(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	if _, err := jwtsigner.NewOfficeSigner(key, "HS256"); !errors.Is(err, jwa.ErrUnsupportedAlgorithm) {
		t.Fatalf("err = %v", err)
	}
}

func TestRealtimeSignerRoundTrip(t *testing.T) {
	secret := []byte("super-secret-jwt-token-with-at-least-32-characters-long")
	s, err := jwtsigner.NewRealtimeSigner(secret)
	if err != nil {
		t.Fatal(err)
	}
	c := domain.RealtimeClaims{
		Registered: domain.Registered{Issuer: "qubital-backend", Subject: "user_01H", Audience: "authenticated", ID: "jti-2",
			IssuedAt: iat, NotBefore: iat, ExpiresAt: iat.Add(time.Hour)},
		Role: "authenticated", App: &domain.AppMetadata{OrgID: "org_01", OrgRole: "admin"},
	}
	token, err := s.SignRealtime(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(token, ".")
	if h := decodeSegment(t, parts[0]); h["alg"] != "HS256" || h["typ"] != "JWT" {
		t.Fatalf("header %v", h)
	}
	claims := decodeSegment(t, parts[1])
	for k, v := range map[string]string{"iss": "qubital-backend", "aud": "authenticated", "role": "authenticated",
		"sub": "user_01H", "jti": "jti-2", "iat": "1800000000", "exp": "1800003600"} {
		if toString(claims[k]) != v {
			t.Errorf("claim %s = %v, want %s", k, claims[k], v)
		}
	}
	if _, ok := claims["nbf"]; ok {
		t.Error("Supabase tokens carry no nbf")
	}
	app, _ := claims["app_metadata"].(map[string]any)
	if app["org_id"] != "org_01" || app["org_role"] != "admin" {
		t.Errorf("app_metadata %v", claims["app_metadata"])
	}
	if _, err := jwt.Parse(token, func(*jwt.Token) (any, error) { return secret, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithTimeFunc(func() time.Time { return iat })); err != nil {
		t.Fatalf("verify: %v", err)
	}
	c.App = nil
	token, _ = s.SignRealtime(context.Background(), c)
	if _, ok := decodeSegment(t, strings.Split(token, ".")[1])["app_metadata"]; ok {
		t.Error("app_metadata present for a caller without organization")
	}
}

func TestRealtimeSignerRefusesShortSecret(t *testing.T) {
	if _, err := jwtsigner.NewRealtimeSigner(make([]byte, 31)); !errors.Is(err, jwtsigner.ErrWeakSecret) {
		t.Fatalf("err = %v", err)
	}
}
