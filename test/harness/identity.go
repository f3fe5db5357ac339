package harness

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// IdentityProvider is a stand-in for WorkOS AuthKit: an RSA key, its JWKS
// served on loopback, and access tokens shaped like AuthKit's.
type IdentityProvider struct {
	Issuer   string
	Audience string
	KID      string
	Key      *rsa.PrivateKey
	server   *httptest.Server
	// Down makes the JWKS endpoint answer 503.
	Down atomic.Bool
	// Fetches counts JWKS requests.
	Fetches atomic.Int64
}

// NewIdentityProvider serves a fresh key's JWKS on 127.0.0.1.
func NewIdentityProvider(t testing.TB) *IdentityProvider {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &IdentityProvider{Issuer: "https://auth.test.example", Audience: "client_test", KID: "idp-key-1", Key: key}
	set, _ := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": p.KID,
		"n": base64.RawURLEncoding.EncodeToString(key.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes()),
	}}})
	p.server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.Fetches.Add(1)
		if p.Down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(set)
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.server.Listener = ln
	p.server.Start()
	t.Cleanup(p.server.Close)
	return p
}

// JWKSURL is where the provider's keys are served.
func (p *IdentityProvider) JWKSURL() string { return p.server.URL + "/sso/jwks/client_test" }

// Env is the AUTH_* configuration that trusts this provider.
func (p *IdentityProvider) Env() map[string]string {
	return map[string]string{"AUTH_JWKS_URL": p.JWKSURL(), "AUTH_ISSUER": p.Issuer, "AUTH_AUDIENCE": p.Audience}
}

// Token signs an access token for user in org with role (org and role may
// be empty), valid for ttl.
func (p *IdentityProvider) Token(t testing.TB, user, org, role string, ttl time.Duration) string {
	t.Helper()
	now := time.Now()
	claims := jwt.MapClaims{
		"iss": p.Issuer, "sub": user, "aud": p.Audience, "sid": "session_1",
		"iat": now.Unix(), "exp": now.Add(ttl).Unix(),
	}
	if org != "" {
		claims["org_id"] = org
	}
	if role != "" {
		claims["role"] = role
	}
	return p.Sign(t, claims, nil)
}

// Sign signs arbitrary claims with the provider's key; edit may change the
// header first.
func (p *IdentityProvider) Sign(t testing.TB, claims jwt.MapClaims, edit func(*jwt.Token)) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = p.KID
	if edit != nil {
		edit(tok)
	}
	s, err := tok.SignedString(p.Key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
