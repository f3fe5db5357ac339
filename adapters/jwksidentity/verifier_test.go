package jwksidentity_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/adapters/jwks"
	"github.com/gatepass/gatepass/adapters/jwksidentity"
	"github.com/gatepass/gatepass/adapters/pemkey"
	"github.com/gatepass/gatepass/domain"
)

const issuer = "https://auth.example.com"

type idp struct {
	key     *rsa.PrivateKey
	kid     string
	server  *httptest.Server
	fetches atomic.Int32
	set     atomic.Value // []byte
}

func newIDP(t *testing.T) *idp {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := jwks.Thumbprint(&key.PublicKey)
	p := &idp{key: key, kid: kid}
	set, err := jwks.SetJSON([]jwks.Key{{Public: &key.PublicKey, Algorithm: "RS256", KID: kid}})
	if err != nil {
		t.Fatal(err)
	}
	p.set.Store(set)
	p.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write(p.set.Load().([]byte))
	}))
	t.Cleanup(p.server.Close)
	return p
}

func (p *idp) sign(t *testing.T, claims jwt.MapClaims, edit func(*jwt.Token)) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = p.kid
	if edit != nil {
		edit(tok)
	}
	s, err := tok.SignedString(p.key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validClaims() jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"iss": issuer, "sub": "user_01H", "aud": []string{"client_123"},
		"org_id": "org_01", "role": "admin",
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
	}
}

func with(edit func(jwt.MapClaims)) jwt.MapClaims {
	c := validClaims()
	edit(c)
	return c
}

func newVerifier(t *testing.T, p *idp, audience string) *jwksidentity.Verifier {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	keys, err := jwksidentity.NewRemoteKeys(ctx, p.server.URL, jwksidentity.RemoteOptions{UnknownKIDInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	v, err := jwksidentity.New(keys, jwksidentity.Options{
		Issuer: issuer, Audience: audience, Algorithms: []string{"RS256"}, Leeway: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVerifyIdentity(t *testing.T) {
	p := newIDP(t)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	pubPEM, _ := pemkey.EncodePublicKey(&p.key.PublicKey)

	hsWith := func(secret []byte) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, validClaims())
		tok.Header["kid"] = p.kid
		s, err := tok.SignedString(secret)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	none := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodNone, validClaims())
		tok.Header["kid"] = p.kid
		s, err := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tampered := func() string {
		parts := strings.Split(p.sign(t, validClaims(), nil), ".")
		payload := base64.RawURLEncoding.EncodeToString([]byte(
			`{"iss":"` + issuer + `","sub":"user_evil","aud":["client_123"],"org_id":"org_01","role":"admin","exp":9999999999}`))
		return parts[0] + "." + payload + "." + parts[2]
	}
	noneCased := func(alg string) string {
		h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"` + alg + `","typ":"JWT","kid":"` + p.kid + `"}`))
		parts := strings.Split(p.sign(t, validClaims(), nil), ".")
		return h + "." + parts[1] + "."
	}
	otherKey := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, validClaims())
		tok.Header["kid"] = p.kid
		s, _ := tok.SignedString(other)
		return s
	}

	tests := []struct {
		name  string
		token string
		want  domain.Principal
	}{
		{name: "valid", token: p.sign(t, validClaims(), nil), want: domain.Principal{UserID: "user_01H", OrgID: "org_01", Role: "admin"}},
		{name: "valid without organization", token: p.sign(t, with(func(c jwt.MapClaims) { delete(c, "org_id"); delete(c, "role") }), nil),
			want: domain.Principal{UserID: "user_01H"}},
		{name: "expired", token: p.sign(t, with(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Minute).Unix() }), nil)},
		{name: "no exp", token: p.sign(t, with(func(c jwt.MapClaims) { delete(c, "exp") }), nil)},
		{name: "future iat", token: p.sign(t, with(func(c jwt.MapClaims) { c["iat"] = time.Now().Add(time.Hour).Unix() }), nil)},
		{name: "future nbf", token: p.sign(t, with(func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(time.Hour).Unix() }), nil)},
		{name: "wrong issuer", token: p.sign(t, with(func(c jwt.MapClaims) { c["iss"] = "https://evil.example.com" }), nil)},
		{name: "issuer case changed", token: p.sign(t, with(func(c jwt.MapClaims) { c["iss"] = strings.ToUpper(issuer) }), nil)},
		{name: "no issuer", token: p.sign(t, with(func(c jwt.MapClaims) { delete(c, "iss") }), nil)},
		{name: "wrong audience", token: p.sign(t, with(func(c jwt.MapClaims) { c["aud"] = "client_other" }), nil)},
		{name: "no subject", token: p.sign(t, with(func(c jwt.MapClaims) { delete(c, "sub") }), nil)},
		{name: "unknown kid", token: p.sign(t, validClaims(), func(tok *jwt.Token) { tok.Header["kid"] = "unknown" })},
		{name: "signed by another key", token: otherKey()},
		{name: "alg none", token: none()},
		{name: "alg NONE", token: noneCased("NONE")},
		{name: "alg nOnE", token: noneCased("nOnE")},
		{name: "HS256 with the public key PEM as secret", token: hsWith(pubPEM)},
		{name: "HS256 with the modulus as secret", token: hsWith(p.key.N.Bytes())},
		{name: "tampered payload", token: tampered()},
		{name: "truncated signature", token: p.sign(t, validClaims(), nil)[:200]},
		{name: "stripped signature", token: strings.Join(strings.Split(p.sign(t, validClaims(), nil), ".")[:2], ".") + "."},
		{name: "jku header", token: p.sign(t, validClaims(), func(tok *jwt.Token) { tok.Header["jku"] = "https://evil.example.com/jwks" })},
		{name: "x5u header", token: p.sign(t, validClaims(), func(tok *jwt.Token) { tok.Header["x5u"] = "https://evil.example.com/cert" })},
		{name: "jwk header", token: p.sign(t, validClaims(), func(tok *jwt.Token) { tok.Header["jwk"] = map[string]any{"kty": "RSA"} })},
		{name: "crit header", token: p.sign(t, validClaims(), func(tok *jwt.Token) { tok.Header["crit"] = []string{"exp"} })},
		{name: "garbage", token: "not.a.jwt"},
	}
	v := newVerifier(t, p, "client_123")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := v.VerifyIdentity(context.Background(), tt.token)
			if tt.want != (domain.Principal{}) {
				if err != nil {
					t.Fatalf("valid token refused: %v", err)
				}
				if got != tt.want {
					t.Fatalf("principal %+v, want %+v", got, tt.want)
				}
				return
			}
			if !errors.Is(err, domain.ErrInvalidCredentials) {
				t.Fatalf("err = %v, want ErrInvalidCredentials", err)
			}
			if got != (domain.Principal{}) {
				t.Fatalf("refused token returned %+v", got)
			}
		})
	}
}

func TestVerifyIdentityWithoutAudienceAndCustomClaims(t *testing.T) {
	p := newIDP(t)
	keys, err := jwksidentity.NewRemoteKeys(t.Context(), p.server.URL, jwksidentity.RemoteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v, err := jwksidentity.New(keys, jwksidentity.Options{
		Issuer: issuer, Algorithms: []string{"RS256"}, OrgClaim: "organization", RoleClaim: "org_role",
	})
	if err != nil {
		t.Fatal(err)
	}
	tok := p.sign(t, with(func(c jwt.MapClaims) {
		delete(c, "aud")
		c["organization"], c["org_role"] = "org_9", "owner"
	}), nil)
	got, err := v.VerifyIdentity(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if got != (domain.Principal{UserID: "user_01H", OrgID: "org_9", Role: "owner"}) {
		t.Fatalf("principal %+v", got)
	}
}

func TestHMACKeyInTheSetIsNeverUsed(t *testing.T) {
	p := newIDP(t)
	secret := []byte("0123456789abcdef0123456789abcdef")
	p.set.Store([]byte(`{"keys":[{"kty":"oct","kid":"hmac","k":"` + base64.RawURLEncoding.EncodeToString(secret) + `"}]}`))
	v := newVerifier(t, p, "")
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, validClaims())
	tok.Header["kid"] = "hmac"
	s, _ := tok.SignedString(secret)
	if _, err := v.VerifyIdentity(context.Background(), s); !errors.Is(err, domain.ErrInvalidCredentials) {
		t.Fatalf("HS256 against an oct key: err = %v", err)
	}
}

func TestUnknownKIDRefreshesAreRateLimited(t *testing.T) {
	p := newIDP(t)
	v := newVerifier(t, p, "")
	before := p.fetches.Load()
	for i := range 50 {
		tok := p.sign(t, validClaims(), func(tok *jwt.Token) { tok.Header["kid"] = "unknown-" + string(rune('a'+i%26)) })
		if _, err := v.VerifyIdentity(context.Background(), tok); err == nil {
			t.Fatal("unknown kid accepted")
		}
	}
	if n := p.fetches.Load() - before; n > 1 {
		t.Fatalf("50 unknown kids caused %d refreshes, want at most 1", n)
	}
}

func TestNewRefusesUnsafeOptions(t *testing.T) {
	tests := []struct {
		name string
		o    jwksidentity.Options
		want error
	}{
		{name: "no issuer", o: jwksidentity.Options{Algorithms: []string{"RS256"}}, want: jwksidentity.ErrNoIssuer},
		{name: "no algorithms", o: jwksidentity.Options{Issuer: issuer}, want: jwksidentity.ErrBadAlgorithmList},
		{name: "none", o: jwksidentity.Options{Issuer: issuer, Algorithms: []string{"none"}}, want: jwksidentity.ErrBadAlgorithmList},
		{name: "HMAC", o: jwksidentity.Options{Issuer: issuer, Algorithms: []string{"RS256", "HS256"}}, want: jwksidentity.ErrBadAlgorithmList},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := jwksidentity.New(nil, tt.o); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestCheckURL(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"https://api.workos.com/sso/jwks/client_1", true},
		{"http://127.0.0.1:8080/jwks", true},
		{"http://localhost/jwks", true},
		{"http://[::1]:9/jwks", true},
		{"http://api.workos.com/sso/jwks/client_1", false},
		{"http://10.0.0.1/jwks", false},
		{"ftp://example.com/jwks", false},
		{"/relative", false},
	}
	for _, tt := range tests {
		if err := jwksidentity.CheckURL(tt.url); (err == nil) != tt.ok {
			t.Errorf("CheckURL(%q) = %v, want ok=%v", tt.url, err, tt.ok)
		}
	}
}
