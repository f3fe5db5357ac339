package jwtsigner_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/adapters/jwtsigner"
	"github.com/gatepass/gatepass/domain"
	"github.com/gatepass/gatepass/test/kit"
)

func centrifugoKeys(t *testing.T) map[string]crypto.Signer {
	t.Helper()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey := kit.NewECKey(t)
	edKey := kit.NewEd25519Key(t)
	return map[string]crypto.Signer{"RS256": rsaKey, "ES256": ecKey, "EdDSA": edKey}
}

func centrifugoIssuance() domain.Issuance {
	return domain.Issuance{Issuer: "gatepass", Audience: "centrifugo", ID: "jti-cf", Now: iat, TTL: 5 * time.Minute}
}

// verifyCentrifugo checks the token with golang-jwt and the public key, as
// Centrifugo does with gatepass's JWKS, and returns its claims.
func verifyCentrifugo(t *testing.T, token, alg, kid string, pub crypto.PublicKey) map[string]any {
	t.Helper()
	claims := jwt.MapClaims{}
	parsed, err := jwt.NewParser(jwt.WithValidMethods([]string{alg}), jwt.WithIssuer("gatepass"), jwt.WithAudience("centrifugo"),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithJSONNumber(),
		jwt.WithTimeFunc(func() time.Time { return iat.Add(time.Second) })).
		ParseWithClaims(token, claims, func(*jwt.Token) (any, error) { return pub, nil })
	if err != nil || !parsed.Valid {
		t.Fatalf("verify: %v", err)
	}
	if h := parsed.Header; h["alg"] != alg || h["kid"] != kid || h["typ"] != "JWT" {
		t.Fatalf("header %v, want alg %s kid %s", h, alg, kid)
	}
	return claims
}

func TestCentrifugoSignerSignsWithTheOfficeKey(t *testing.T) {
	for alg, key := range centrifugoKeys(t) {
		t.Run(alg, func(t *testing.T) {
			office, err := jwtsigner.NewOfficeSigner(key, alg)
			if err != nil {
				t.Fatal(err)
			}
			s, err := jwtsigner.NewCentrifugoSigner(office)
			if err != nil {
				t.Fatal(err)
			}
			caller := domain.Principal{UserID: "user_01H", OrgID: "org_01", Role: "admin"}

			// Connection, with server-side subscriptions.
			conn, err := domain.NewCentrifugoConnectionClaims(caller, []string{"user:user_01H", "org:org_01"}, centrifugoIssuance())
			if err != nil {
				t.Fatal(err)
			}
			token, err := s.SignCentrifugoConnection(context.Background(), conn)
			if err != nil {
				t.Fatal(err)
			}
			claims := verifyCentrifugo(t, token, alg, office.KeyID(), key.Public())
			wantKeys := []string{"sub", "iss", "aud", "iat", "exp", "jti", "info", "channels"}
			if got := slices.Sorted(maps.Keys(claims)); !slices.Equal(got, slices.Sorted(slices.Values(wantKeys))) {
				t.Fatalf("connection claims %v, want exactly %v", got, wantKeys)
			}
			checkRegistered(t, claims)
			if info, _ := claims["info"].(map[string]any); !maps.Equal(info, map[string]any{"orgId": "org_01", "role": "admin"}) {
				t.Errorf("info %v", claims["info"])
			}
			if ch, _ := claims["channels"].([]any); !slices.Equal(ch, []any{"org:org_01", "user:user_01H"}) {
				t.Errorf("channels %v", claims["channels"])
			}

			// Connection without server-side subscriptions: no channels claim.
			conn, _ = domain.NewCentrifugoConnectionClaims(caller, nil, centrifugoIssuance())
			token, err = s.SignCentrifugoConnection(context.Background(), conn)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := verifyCentrifugo(t, token, alg, office.KeyID(), key.Public())["channels"]; ok {
				t.Error("channels claim without server-side subscriptions")
			}

			// Subscription.
			sub, err := domain.NewCentrifugoSubscriptionClaims(caller, "org:org_01.lobby", centrifugoIssuance())
			if err != nil {
				t.Fatal(err)
			}
			token, err = s.SignCentrifugoSubscription(context.Background(), sub)
			if err != nil {
				t.Fatal(err)
			}
			claims = verifyCentrifugo(t, token, alg, office.KeyID(), key.Public())
			wantKeys = []string{"sub", "channel", "iss", "aud", "iat", "exp", "jti", "info"}
			if got := slices.Sorted(maps.Keys(claims)); !slices.Equal(got, slices.Sorted(slices.Values(wantKeys))) {
				t.Fatalf("subscription claims %v, want exactly %v", got, wantKeys)
			}
			checkRegistered(t, claims)
			if claims["channel"] != "org:org_01.lobby" {
				t.Errorf("channel %v", claims["channel"])
			}
			if info, _ := claims["info"].(map[string]any); !maps.Equal(info, map[string]any{"orgId": "org_01", "role": "admin"}) {
				t.Errorf("info %v", claims["info"])
			}

			// Another key of the same type does not verify it.
			other := centrifugoKeys(t)[alg]
			if _, err := jwt.Parse(token, func(*jwt.Token) (any, error) { return other.Public(), nil },
				jwt.WithTimeFunc(func() time.Time { return iat })); err == nil {
				t.Error("verified with another key")
			}
		})
	}
	if _, err := jwtsigner.NewCentrifugoSigner(nil); err == nil {
		t.Error("a Centrifugo signer without an office signer")
	}
}

func checkRegistered(t *testing.T, claims map[string]any) {
	t.Helper()
	for k, v := range map[string]string{"sub": "user_01H", "iss": "gatepass", "aud": "centrifugo", "jti": "jti-cf",
		"iat": "1800000000", "exp": "1800000300"} {
		if toString(claims[k]) != v {
			t.Errorf("claim %s = %v, want %s", k, claims[k], v)
		}
	}
}
