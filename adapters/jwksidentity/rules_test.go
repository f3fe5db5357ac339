package jwksidentity_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/adapters/jwksidentity"
	"github.com/gatepass/gatepass/domain"
	"github.com/gatepass/gatepass/test/kit"
)

// TestRefusalReasons: every refusal wraps ErrInvalidCredentials and a
// CredentialError that says why, in a word fit for logs.
func TestRefusalReasons(t *testing.T) {
	p := kit.NewIdentityProvider(t)
	v := newVerifier(t, p, "client_123")
	noneToken := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodNone, validClaims())
		s, _ := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
		return s
	}
	header := func(h string) string {
		parts := strings.Split(p.Sign(t, validClaims(), nil), ".")
		return base64.RawURLEncoding.EncodeToString([]byte(h)) + "." + parts[1] + "." + parts[2]
	}
	typ := func(typ any) string {
		return p.Sign(t, validClaims(), func(tok *jwt.Token) { tok.Header["typ"] = typ })
	}
	claims := func(edit func(jwt.MapClaims)) string { return p.Sign(t, with(edit), nil) }
	tests := []struct {
		name   string
		token  string
		reason domain.AuthFailureReason
		claim  string
	}{
		{"line break", "a.b\n.c", domain.ReasonMalformed, ""},
		{"two segments", "a.b", domain.ReasonMalformed, ""},
		{"jku", p.Sign(t, validClaims(), func(tok *jwt.Token) { tok.Header["jku"] = "https://evil.example" }), domain.ReasonForbiddenHeader, "jku"},
		{"crit", p.Sign(t, validClaims(), func(tok *jwt.Token) { tok.Header["crit"] = []string{"exp"} }), domain.ReasonForbiddenHeader, "crit"},
		{"typ logout+jwt", typ("logout+jwt"), domain.ReasonWrongType, "typ"},
		{"typ id_token", typ("id_token+jwt"), domain.ReasonWrongType, "typ"},
		{"typ dpop+jwt", typ("dpop+jwt"), domain.ReasonWrongType, "typ"},
		{"typ empty", typ(""), domain.ReasonWrongType, "typ"},
		{"typ a number", typ(1), domain.ReasonWrongType, "typ"},
		{"alg none", noneToken(), domain.ReasonAlgorithmNotAllowed, "alg"},
		{"alg NONE", header(`{"alg":"NONE","kid":"` + p.KID + `"}`), domain.ReasonAlgorithmNotAllowed, "alg"},
		{"alg missing", header(`{"kid":"` + p.KID + `"}`), domain.ReasonAlgorithmNotAllowed, "alg"},
		{"unknown kid", p.Sign(t, validClaims(), func(tok *jwt.Token) { tok.Header["kid"] = "nope" }), domain.ReasonUnknownKey, "kid"},
		{"no kid", p.Sign(t, validClaims(), func(tok *jwt.Token) { delete(tok.Header, "kid") }), domain.ReasonUnknownKey, "kid"},
		{"tampered signature", p.Sign(t, validClaims(), nil)[:300] + "AAAA" + p.Sign(t, validClaims(), nil)[304:], domain.ReasonBadSignature, ""},
		{"expired", claims(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() }), domain.ReasonExpired, "exp"},
		{"no exp", claims(func(c jwt.MapClaims) { delete(c, "exp") }), domain.ReasonMissingClaim, "exp"},
		{"exp a string", claims(func(c jwt.MapClaims) { c["exp"] = "tomorrow" }), domain.ReasonMalformedClaim, "exp"},
		{"nbf in the future", claims(func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(time.Hour).Unix() }), domain.ReasonNotYetValid, "nbf"},
		{"nbf 1e30", claims(func(c jwt.MapClaims) { c["nbf"] = 1e30 }), domain.ReasonMalformedClaim, "nbf"},
		{"iat in the future", claims(func(c jwt.MapClaims) { c["iat"] = time.Now().Add(time.Hour).Unix() }), domain.ReasonIssuedInFuture, "iat"},
		{"no iss", claims(func(c jwt.MapClaims) { delete(c, "iss") }), domain.ReasonMissingClaim, "iss"},
		{"wrong iss", claims(func(c jwt.MapClaims) { c["iss"] = "https://evil.example" }), domain.ReasonWrongIssuer, "iss"},
		{"iss a number", claims(func(c jwt.MapClaims) { c["iss"] = 7 }), domain.ReasonMalformedClaim, "iss"},
		{"wrong aud", claims(func(c jwt.MapClaims) { c["aud"] = "other" }), domain.ReasonWrongAudience, "aud"},
		{"no aud", claims(func(c jwt.MapClaims) { delete(c, "aud") }), domain.ReasonMissingClaim, "aud"},
		{"no sub", claims(func(c jwt.MapClaims) { delete(c, "sub") }), domain.ReasonMissingClaim, "sub"},
		{"sub empty", claims(func(c jwt.MapClaims) { c["sub"] = "" }), domain.ReasonMalformedClaim, "sub"},
		{"sub a number", claims(func(c jwt.MapClaims) { c["sub"] = 42 }), domain.ReasonMalformedClaim, "sub"},
		{"sub with an ideographic space", claims(func(c jwt.MapClaims) { c["sub"] = "user_01H\u3000" }), domain.ReasonMalformedClaim, "sub"},
		{"sub with a leading space", claims(func(c jwt.MapClaims) { c["sub"] = " user_01H" }), domain.ReasonMalformedClaim, "sub"},
		{"org with a no-break space", claims(func(c jwt.MapClaims) { c["org_id"] = "org_01\u00a0" }), domain.ReasonMalformedClaim, "org_id"},
		{"org with a line separator", claims(func(c jwt.MapClaims) { c["org_id"] = "org_01\u2028" }), domain.ReasonMalformedClaim, "org_id"},
		{"org an array", claims(func(c jwt.MapClaims) { c["org_id"] = []string{"org_01"} }), domain.ReasonMalformedClaim, "org_id"},
		{"org null", claims(func(c jwt.MapClaims) { c["org_id"] = nil }), domain.ReasonMalformedClaim, "org_id"},
		{"org empty", claims(func(c jwt.MapClaims) { c["org_id"] = "" }), domain.ReasonMalformedClaim, "org_id"},
		{"role an array", claims(func(c jwt.MapClaims) { c["role"] = []string{"admin"} }), domain.ReasonMalformedClaim, "role"},
		{"role a number", claims(func(c jwt.MapClaims) { c["role"] = 1 }), domain.ReasonMalformedClaim, "role"},
		{"role an object", claims(func(c jwt.MapClaims) { c["role"] = map[string]any{"slug": "admin"} }), domain.ReasonMalformedClaim, "role"},
		{"role null", claims(func(c jwt.MapClaims) { c["role"] = nil }), domain.ReasonMalformedClaim, "role"},
		{"role a boolean", claims(func(c jwt.MapClaims) { c["role"] = true }), domain.ReasonMalformedClaim, "role"},
		{"role with a control character", claims(func(c jwt.MapClaims) { c["role"] = "admin\x00" }), domain.ReasonMalformedClaim, "role"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := v.VerifyIdentity(context.Background(), tt.token)
			if got != (domain.Principal{}) {
				t.Fatalf("refused token yielded %+v", got)
			}
			if !errors.Is(err, domain.ErrInvalidCredentials) {
				t.Fatalf("err = %v, want ErrInvalidCredentials", err)
			}
			var ce *domain.CredentialError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v holds no CredentialError", err)
			}
			if ce.Reason != tt.reason || ce.Claim != tt.claim {
				t.Fatalf("reason %s (%s), want %s (%s); err %v", ce.Reason, ce.Claim, tt.reason, tt.claim, err)
			}
		})
	}
}

func TestAccessTokenTypesAreAccepted(t *testing.T) {
	p := kit.NewIdentityProvider(t)
	v := newVerifier(t, p, "client_123")
	for _, typ := range []string{"JWT", "jwt", "at+jwt", "AT+JWT", "application/at+jwt", "Application/AT+JWT"} {
		tok := p.Sign(t, validClaims(), func(tok *jwt.Token) { tok.Header["typ"] = typ })
		if _, err := v.VerifyIdentity(context.Background(), tok); err != nil {
			t.Errorf("typ %q: %v", typ, err)
		}
	}
	tok := p.Sign(t, validClaims(), func(tok *jwt.Token) { delete(tok.Header, "typ") })
	if _, err := v.VerifyIdentity(context.Background(), tok); err != nil {
		t.Errorf("no typ: %v", err)
	}
}

// TestMissingRoleDefaultsToMember: an absent role is WorkOS's default; a
// malformed one (above) is never defaulted.
func TestMissingRoleDefaultsToMember(t *testing.T) {
	p := kit.NewIdentityProvider(t)
	v := newVerifier(t, p, "client_123")
	got, err := v.VerifyIdentity(context.Background(), p.Sign(t, with(func(c jwt.MapClaims) { delete(c, "role") }), nil))
	if err != nil || got != (domain.Principal{UserID: "user_01H", OrgID: "org_01", Role: domain.DefaultRole, IssuedAt: issuedAt}) {
		t.Fatalf("got %+v, %v", got, err)
	}
}

func TestNoAudienceMode(t *testing.T) {
	p := kit.NewIdentityProvider(t)
	keys, err := jwksidentity.NewStaticKeys(p.Published())
	if err != nil {
		t.Fatal(err)
	}
	v, err := jwksidentity.New(keys, jwksidentity.Options{Issuer: issuer, NoAudience: true, Algorithms: []string{"RS256"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.VerifyIdentity(context.Background(), p.Sign(t, with(func(c jwt.MapClaims) { delete(c, "aud") }), nil)); err != nil {
		t.Fatalf("token without aud: %v", err)
	}
	for name, aud := range map[string]any{"string": "client_other", "array": []string{"client_other"}, "empty": "", "empty array": []string{}} {
		tok := p.Sign(t, with(func(c jwt.MapClaims) { c["aud"] = aud }), nil)
		_, err := v.VerifyIdentity(context.Background(), tok)
		var ce *domain.CredentialError
		if !errors.As(err, &ce) || ce.Reason != domain.ReasonWrongAudience {
			t.Errorf("aud %s: err = %v, want wrong_audience", name, err)
		}
	}
	if _, err := jwksidentity.New(keys, jwksidentity.Options{Issuer: issuer, Audience: "a", NoAudience: true, Algorithms: []string{"RS256"}}); !errors.Is(err, jwksidentity.ErrAudienceConflict) {
		t.Fatalf("Audience with NoAudience: err = %v", err)
	}
}

func TestNewWithSecret(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	v, err := jwksidentity.NewWithSecret(secret, jwksidentity.Options{Issuer: issuer, Algorithms: []string{"HS256"}})
	if err != nil {
		t.Fatal(err)
	}
	sign := func(c jwt.MapClaims, edit func(*jwt.Token)) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
		if edit != nil {
			edit(tok)
		}
		s, _ := tok.SignedString(secret)
		return s
	}
	if _, err := v.VerifyIdentity(context.Background(), sign(validClaims(), nil)); err != nil {
		t.Fatalf("valid: %v", err)
	}
	for name, tok := range map[string]string{
		"no iss": sign(with(func(c jwt.MapClaims) { delete(c, "iss") }), nil),
		"jku":    sign(validClaims(), func(tok *jwt.Token) { tok.Header["jku"] = "https://evil.example" }),
		"nbf":    sign(with(func(c jwt.MapClaims) { c["nbf"] = 1e30 }), nil),
	} {
		if _, err := v.VerifyIdentity(context.Background(), tok); !errors.Is(err, domain.ErrInvalidCredentials) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if _, err := jwksidentity.NewWithSecret(secret[:16], jwksidentity.Options{Issuer: issuer, Algorithms: []string{"HS256"}}); !errors.Is(err, jwksidentity.ErrShortSecret) {
		t.Errorf("short secret: %v", err)
	}
	if _, err := jwksidentity.NewWithSecret(secret, jwksidentity.Options{Issuer: issuer, Algorithms: []string{"RS256"}}); !errors.Is(err, jwksidentity.ErrBadAlgorithmList) {
		t.Errorf("RS256 with a secret: %v", err)
	}
}
