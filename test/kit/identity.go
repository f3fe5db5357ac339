package kit

import (
	"crypto/rand"
	"crypto/rsa"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// JWKSMode is how an IdentityProvider's JWKS endpoint answers.
type JWKSMode int32

// The JWKS modes.
const (
	// JWKSUp serves the key set.
	JWKSUp JWKSMode = iota
	// JWKSDown answers 503.
	JWKSDown
	// JWKSServerError answers 500.
	JWKSServerError
	// JWKSMalformed answers truncated JSON.
	JWKSMalformed
	// JWKSEmpty answers a set without keys.
	JWKSEmpty
	// JWKSSlow answers the key set after two seconds, unless the client
	// gives up first.
	JWKSSlow
)

// IdentityProvider is a stand-in for WorkOS AuthKit: an RSA key, its JWKS
// served on loopback, and access tokens shaped like AuthKit's.
type IdentityProvider struct {
	Issuer   string
	Audience string
	KID      string
	Key      *rsa.PrivateKey
	// Fetches counts JWKS requests, whatever the answer.
	Fetches atomic.Int64
	server  *httptest.Server
	mode    atomic.Int32
	set     atomic.Pointer[[]byte]
}

// NewIdentityProvider serves a fresh key's JWKS on 127.0.0.1 until the
// test ends.
func NewIdentityProvider(t testing.TB) *IdentityProvider {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &IdentityProvider{Issuer: "https://auth.test.example", Audience: "client_test", KID: "idp-key-1", Key: key}
	p.Publish(KeySet(RSAJWK(p.KID, "RS256", &key.PublicKey)))
	p.server = httptest.NewUnstartedServer(http.HandlerFunc(p.serveJWKS))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.server.Listener = ln
	p.server.Start()
	t.Cleanup(p.server.Close)
	return p
}

func (p *IdentityProvider) serveJWKS(w http.ResponseWriter, r *http.Request) {
	p.Fetches.Add(1)
	w.Header().Set("Content-Type", "application/json")
	switch JWKSMode(p.mode.Load()) {
	case JWKSDown:
		http.Error(w, "down", http.StatusServiceUnavailable)
	case JWKSServerError:
		http.Error(w, "unavailable", http.StatusInternalServerError)
	case JWKSMalformed:
		w.Write([]byte(`{"keys": [ {"kty": `))
	case JWKSEmpty:
		w.Write([]byte(`{"keys": []}`))
	case JWKSSlow:
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
		w.Write(*p.set.Load())
	default:
		w.Write(*p.set.Load())
	}
}

// SetJWKS switches how the JWKS endpoint answers from now on.
func (p *IdentityProvider) SetJWKS(mode JWKSMode) { p.mode.Store(int32(mode)) }

// Publish replaces the key set the JWKS endpoint serves.
func (p *IdentityProvider) Publish(set []byte) { p.set.Store(&set) }

// Published is the key set the JWKS endpoint serves when up.
func (p *IdentityProvider) Published() []byte { return *p.set.Load() }

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

// Sign signs arbitrary claims with the provider's key under its kid; edit
// may change the header first.
func (p *IdentityProvider) Sign(t testing.TB, claims jwt.MapClaims, edit func(*jwt.Token)) string {
	t.Helper()
	return SignRS256(t, p.Key, p.KID, claims, edit)
}

// SignRS256 signs claims with key, kid in the header (unless empty); edit
// may change the header first.
func SignRS256(t testing.TB, key *rsa.PrivateKey, kid string, claims jwt.MapClaims, edit func(*jwt.Token)) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	if edit != nil {
		edit(tok)
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
