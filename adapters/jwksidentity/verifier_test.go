package jwksidentity_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/adapters/jwksidentity"
	"github.com/gatepass/gatepass/domain"
	"github.com/gatepass/gatepass/test/kit"
)

const issuer = "https://auth.example.com"

// issuedAt is the iat of validClaims, which the verified Principal
// carries.
var issuedAt = time.Now().Truncate(time.Second)

func validClaims() jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"iss": issuer, "sub": "user_01H", "aud": []string{"client_123"},
		"org_id": "org_01", "role": "admin",
		"iat": issuedAt.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
	}
}

func with(edit func(jwt.MapClaims)) jwt.MapClaims {
	c := validClaims()
	edit(c)
	return c
}

func newVerifier(t *testing.T, p *kit.IdentityProvider, audience string) *jwksidentity.Verifier {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	keys, err := jwksidentity.NewRemoteKeys(ctx, p.JWKSURL(), jwksidentity.RemoteOptions{UnknownKIDInterval: time.Hour})
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
	p := kit.NewIdentityProvider(t)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	pubPEM := []byte(kit.PublicPEM(t, &p.Key.PublicKey))

	hsWith := func(secret []byte) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, validClaims())
		tok.Header["kid"] = p.KID
		s, err := tok.SignedString(secret)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	none := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodNone, validClaims())
		tok.Header["kid"] = p.KID
		s, err := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tampered := func() string {
		parts := strings.Split(p.Sign(t, validClaims(), nil), ".")
		payload := kit.B64([]byte(
			`{"iss":"` + issuer + `","sub":"user_evil","aud":["client_123"],"org_id":"org_01","role":"admin","exp":9999999999}`))
		return parts[0] + "." + payload + "." + parts[2]
	}
	noneCased := func(alg string) string {
		h := kit.B64([]byte(`{"alg":"` + alg + `","typ":"JWT","kid":"` + p.KID + `"}`))
		parts := strings.Split(p.Sign(t, validClaims(), nil), ".")
		return h + "." + parts[1] + "."
	}
	otherKey := func() string { return kit.SignRS256(t, other, p.KID, validClaims(), nil) }

	tests := []struct {
		name  string
		token string
		want  domain.Principal
	}{
		{name: "valid", token: p.Sign(t, validClaims(), nil), want: domain.Principal{UserID: "user_01H", OrgID: "org_01", Role: "admin", IssuedAt: issuedAt}},
		{name: "valid without organization", token: p.Sign(t, with(func(c jwt.MapClaims) { delete(c, "org_id"); delete(c, "role") }), nil),
			want: domain.Principal{UserID: "user_01H", IssuedAt: issuedAt}},
		{name: "valid with a session", token: p.Sign(t, with(func(c jwt.MapClaims) { c["sid"] = "session_01" }), nil),
			want: domain.Principal{UserID: "user_01H", OrgID: "org_01", Role: "admin", IssuedAt: issuedAt, SessionID: "session_01"}},
		{name: "valid without iat", token: p.Sign(t, with(func(c jwt.MapClaims) { delete(c, "iat") }), nil),
			want: domain.Principal{UserID: "user_01H", OrgID: "org_01", Role: "admin"}},
		{name: "sid not a string", token: p.Sign(t, with(func(c jwt.MapClaims) { c["sid"] = 7 }), nil)},
		{name: "sid empty", token: p.Sign(t, with(func(c jwt.MapClaims) { c["sid"] = "" }), nil)},
		{name: "sid with white space", token: p.Sign(t, with(func(c jwt.MapClaims) { c["sid"] = "session 01" }), nil)},
		{name: "expired", token: p.Sign(t, with(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Minute).Unix() }), nil)},
		{name: "no exp", token: p.Sign(t, with(func(c jwt.MapClaims) { delete(c, "exp") }), nil)},
		{name: "future iat", token: p.Sign(t, with(func(c jwt.MapClaims) { c["iat"] = time.Now().Add(time.Hour).Unix() }), nil)},
		{name: "future nbf", token: p.Sign(t, with(func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(time.Hour).Unix() }), nil)},
		{name: "wrong issuer", token: p.Sign(t, with(func(c jwt.MapClaims) { c["iss"] = "https://evil.example.com" }), nil)},
		{name: "issuer case changed", token: p.Sign(t, with(func(c jwt.MapClaims) { c["iss"] = strings.ToUpper(issuer) }), nil)},
		{name: "no issuer", token: p.Sign(t, with(func(c jwt.MapClaims) { delete(c, "iss") }), nil)},
		{name: "wrong audience", token: p.Sign(t, with(func(c jwt.MapClaims) { c["aud"] = "client_other" }), nil)},
		{name: "no subject", token: p.Sign(t, with(func(c jwt.MapClaims) { delete(c, "sub") }), nil)},
		{name: "unknown kid", token: p.Sign(t, validClaims(), func(tok *jwt.Token) { tok.Header["kid"] = "unknown" })},
		{name: "signed by another key", token: otherKey()},
		{name: "alg none", token: none()},
		{name: "alg NONE", token: noneCased("NONE")},
		{name: "alg nOnE", token: noneCased("nOnE")},
		{name: "HS256 with the public key PEM as secret", token: hsWith(pubPEM)},
		{name: "HS256 with the modulus as secret", token: hsWith(p.Key.N.Bytes())},
		{name: "tampered payload", token: tampered()},
		{name: "truncated signature", token: p.Sign(t, validClaims(), nil)[:200]},
		{name: "stripped signature", token: strings.Join(strings.Split(p.Sign(t, validClaims(), nil), ".")[:2], ".") + "."},
		{name: "jku header", token: p.Sign(t, validClaims(), func(tok *jwt.Token) { tok.Header["jku"] = "https://evil.example.com/jwks" })},
		{name: "x5u header", token: p.Sign(t, validClaims(), func(tok *jwt.Token) { tok.Header["x5u"] = "https://evil.example.com/cert" })},
		{name: "jwk header", token: p.Sign(t, validClaims(), func(tok *jwt.Token) { tok.Header["jwk"] = map[string]any{"kty": "RSA"} })},
		{name: "crit header", token: p.Sign(t, validClaims(), func(tok *jwt.Token) { tok.Header["crit"] = []string{"exp"} })},
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
	p := kit.NewIdentityProvider(t)
	keys, err := jwksidentity.NewRemoteKeys(t.Context(), p.JWKSURL(), jwksidentity.RemoteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v, err := jwksidentity.New(keys, jwksidentity.Options{
		Issuer: issuer, Algorithms: []string{"RS256"}, OrgClaim: "organization", RoleClaim: "org_role",
	})
	if err != nil {
		t.Fatal(err)
	}
	tok := p.Sign(t, with(func(c jwt.MapClaims) {
		delete(c, "aud")
		c["organization"], c["org_role"] = "org_9", "owner"
	}), nil)
	got, err := v.VerifyIdentity(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if got != (domain.Principal{UserID: "user_01H", OrgID: "org_9", Role: "owner", IssuedAt: issuedAt}) {
		t.Fatalf("principal %+v", got)
	}
}

func TestHMACKeyInTheSetIsNeverUsed(t *testing.T) {
	p := kit.NewIdentityProvider(t)
	secret := []byte("0123456789abcdef0123456789abcdef")
	p.Publish([]byte(`{"keys":[{"kty":"oct","kid":"hmac","k":"` + kit.B64(secret) + `"}]}`))
	v := newVerifier(t, p, "")
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, validClaims())
	tok.Header["kid"] = "hmac"
	s, _ := tok.SignedString(secret)
	if _, err := v.VerifyIdentity(context.Background(), s); !errors.Is(err, domain.ErrInvalidCredentials) {
		t.Fatalf("HS256 against an oct key: err = %v", err)
	}
}

func TestUnknownKIDRefreshesAreRateLimited(t *testing.T) {
	p := kit.NewIdentityProvider(t)
	v := newVerifier(t, p, "")
	before := p.Fetches.Load()
	for i := range 50 {
		tok := p.Sign(t, validClaims(), func(tok *jwt.Token) { tok.Header["kid"] = "unknown-" + string(rune('a'+i%26)) })
		if _, err := v.VerifyIdentity(context.Background(), tok); err == nil {
			t.Fatal("unknown kid accepted")
		}
	}
	if n := p.Fetches.Load() - before; n > 1 {
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
