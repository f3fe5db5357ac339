package identity_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/test/kit"
)

// TestTokenVerifyAppliesTheServiceRules: `gatepass token verify` said
// VALID for tokens the service refuses. It must refuse exactly what the
// service refuses, and fetch the JWKS as the service does.
func TestTokenVerifyAppliesTheServiceRules(t *testing.T) {
	t.Parallel()
	p := kit.NewIdentityProvider(t)
	key, weak := p.SigningKey(), p.AddKey(t, "weak", 1024)
	redirect := httptest.NewServer(http.RedirectHandler(p.JWKSURL(), http.StatusFound))
	t.Cleanup(redirect.Close)
	pubFile := filepath.Join(t.TempDir(), "pub.pem")
	if err := os.WriteFile(pubFile, []byte(kit.PublicPEM(t, &key.Key.PublicKey)), 0o644); err != nil {
		t.Fatal(err)
	}

	member := func() jwt.MapClaims { return p.Claims("user_1", "org_1", "member", ttl) }
	valid := p.Token(t, "user_1", "org_1", "member", ttl)
	header := func(name string, v any) string {
		return p.Sign(t, member(), func(tok *jwt.Token) { tok.Header[name] = v })
	}
	edit := func(f func(jwt.MapClaims)) string {
		c := member()
		f(c)
		return p.Sign(t, c, nil)
	}
	jwks := []string{"--jwks", p.JWKSURL(), "--issuer", p.Issuer, "--audience", p.Audience}
	tests := []struct {
		name  string
		args  []string
		valid bool
	}{
		{name: "valid", args: append(jwks, valid), valid: true},
		{name: "valid, public key", args: []string{"--public-key", pubFile, "--issuer", p.Issuer, "--audience", p.Audience, valid}, valid: true},
		{name: "jku header", args: append(jwks, header("jku", p.JWKSURL()))},
		{name: "x5u header", args: append(jwks, header("x5u", "https://evil.example/cert.pem"))},
		{name: "crit header", args: append(jwks, header("crit", []string{"exp"}))},
		{name: "typ logout+jwt", args: append(jwks, header("typ", "logout+jwt"))},
		{name: "nbf 1e30", args: append(jwks, edit(func(c jwt.MapClaims) { c["nbf"] = 1e30 }))},
		{name: "iat 1e30", args: append(jwks, edit(func(c jwt.MapClaims) { c["iat"] = 1e30 }))},
		{name: "no iss claim", args: append(jwks, edit(func(c jwt.MapClaims) { delete(c, "iss") }))},
		{name: "no iss claim, public key", args: []string{"--public-key", pubFile, "--issuer", p.Issuer, edit(func(c jwt.MapClaims) { delete(c, "iss") })}},
		{name: "no --issuer", args: []string{"--jwks", p.JWKSURL(), valid}},
		{name: "sub with U+3000", args: append(jwks, edit(func(c jwt.MapClaims) { c["sub"] = "user_1\u3000" }))},
		{name: "role an array", args: append(jwks, edit(func(c jwt.MapClaims) { c["role"] = []string{"admin"} }))},
		{name: "aud with --no-audience", args: []string{"--jwks", p.JWKSURL(), "--issuer", p.Issuer, "--no-audience", valid}},
		{name: "1024-bit key of the set", args: append(jwks, p.TokenOf(t, weak, "user_1", "org_1", "member", ttl))},
		{name: "JWKS behind a redirect", args: []string{"--jwks", redirect.URL, "--issuer", p.Issuer, "--audience", p.Audience, valid}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, stderr, err := kit.Run(t, nil, append([]string{"token", "verify"}, tt.args...)...)
			if tt.valid {
				if err != nil || !strings.Contains("\n"+stderr, "\nVALID\n") {
					t.Fatalf("refused: %s", kit.ExitError(err, stderr))
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted: %s", stderr)
			}
		})
	}
}
