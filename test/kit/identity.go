package kit

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
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
	// JWKSHeld makes answers wait until the mode is switched again, then
	// answers as the new mode says (unless the client gave up first).
	// Held signals every answer that starts waiting.
	JWKSHeld
	// JWKSEndless answers a key set that never closes: up to 256 MiB of
	// it, without Content-Length. EndlessTaken tells how much of each such
	// answer the client read.
	JWKSEndless
)

// endlessSize is how much of an endless answer is written at most.
const endlessSize = 256 << 20

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
	set     atomic.Pointer[[]byte]
	held    chan struct{}

	mu     sync.Mutex
	mode   JWKSMode
	gate   chan struct{} // closed when the mode next changes
	header http.Header
	taken  []int64
}

// NewIdentityProvider serves a fresh key's JWKS on 127.0.0.1 until the
// test ends.
func NewIdentityProvider(t testing.TB) *IdentityProvider {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &IdentityProvider{Issuer: "https://auth.test.example", Audience: "client_test", KID: "idp-key-1", Key: key,
		held: make(chan struct{}, 64), gate: make(chan struct{}), header: http.Header{}}
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

// state is the mode now and the gate its next change closes.
func (p *IdentityProvider) state() (JWKSMode, chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mode, p.gate
}

func (p *IdentityProvider) serveJWKS(w http.ResponseWriter, r *http.Request) {
	p.Fetches.Add(1)
	mode, gate := p.state()
	for mode == JWKSHeld {
		select {
		case p.held <- struct{}{}:
		default: // nobody watches: do not block the answer on it
		}
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		}
		mode, gate = p.state()
	}
	p.mu.Lock()
	for k, v := range p.header {
		w.Header()[k] = slices.Clone(v)
	}
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch mode {
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
	case JWKSEndless:
		p.serveEndless(w)
	default:
		w.Write(*p.set.Load())
	}
}

// serveEndless writes a JWK Set that never closes and records how much of
// it the client took.
func (p *IdentityProvider) serveEndless(w http.ResponseWriter) {
	var n int64
	defer func() {
		p.mu.Lock()
		p.taken = append(p.taken, n)
		p.mu.Unlock()
	}()
	chunk := []byte(`{"keys":[` + strings.Repeat(" ", 64<<10-9))
	for n < endlessSize {
		k, err := w.Write(chunk)
		n += int64(k)
		if err != nil {
			return
		}
		chunk = []byte(strings.Repeat(" ", 64<<10))
	}
}

// SetJWKS switches how the JWKS endpoint answers from now on; answers held
// by JWKSHeld go on as mode says.
func (p *IdentityProvider) SetJWKS(mode JWKSMode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = mode
	close(p.gate)
	p.gate = make(chan struct{})
}

// Held receives once for every answer that starts waiting in JWKSHeld
// (up to 64 not yet received).
func (p *IdentityProvider) Held() <-chan struct{} { return p.held }

// EndlessTaken is, for every JWKSEndless answer that ended, how many bytes
// of it were written before the client stopped reading.
func (p *IdentityProvider) EndlessTaken() []int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.taken)
}

// SetHeader makes every JWKS answer from now on carry the header (such as
// Cache-Control); an empty value removes it.
func (p *IdentityProvider) SetHeader(name, value string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if value == "" {
		p.header.Del(name)
		return
	}
	p.header.Set(name, value)
}

// Publish replaces the key set the JWKS endpoint serves.
func (p *IdentityProvider) Publish(set []byte) { p.set.Store(&set) }

// Published is the key set the JWKS endpoint serves when up.
func (p *IdentityProvider) Published() []byte { return *p.set.Load() }

// SigningKey is one RSA key the provider signs with, under its kid.
type SigningKey struct {
	KID string
	Key *rsa.PrivateKey
}

// NewSigningKey returns a fresh RSA key of bits under kid.
func NewSigningKey(t testing.TB, kid string, bits int) SigningKey {
	t.Helper()
	key, _ := NewRSAKey(t, bits)
	return SigningKey{KID: kid, Key: key}
}

// JWK is the key's public JWK for RS256.
func (k SigningKey) JWK() map[string]any { return RSAJWK(k.KID, "RS256", &k.Key.PublicKey) }

// Sign signs claims with the key under its kid; edit may change the header
// first.
func (k SigningKey) Sign(t testing.TB, claims jwt.MapClaims, edit func(*jwt.Token)) string {
	t.Helper()
	return SignRS256(t, k.Key, k.KID, claims, edit)
}

// SigningKey is the provider's own key, the one Token and Sign use.
func (p *IdentityProvider) SigningKey() SigningKey { return SigningKey{KID: p.KID, Key: p.Key} }

// AddKey makes a fresh RSA key of bits under kid, adds it to the published
// key set and returns it.
func (p *IdentityProvider) AddKey(t testing.TB, kid string, bits int) SigningKey {
	t.Helper()
	k := NewSigningKey(t, kid, bits)
	keys := p.publishedKeys(t)
	p.Publish(KeySet(append(keys, k.JWK())...))
	return k
}

// RemoveKey takes the key of kid out of the published key set.
func (p *IdentityProvider) RemoveKey(t testing.TB, kid string) {
	t.Helper()
	keys := slices.DeleteFunc(p.publishedKeys(t), func(k map[string]any) bool { return k["kid"] == kid })
	p.Publish(KeySet(keys...))
}

func (p *IdentityProvider) publishedKeys(t testing.TB) []map[string]any {
	t.Helper()
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(p.Published(), &set); err != nil {
		t.Fatalf("the published key set is not a JWK Set: %v", err)
	}
	return set.Keys
}

// JWKSURL is where the provider's keys are served.
func (p *IdentityProvider) JWKSURL() string { return p.server.URL + "/sso/jwks/client_test" }

// Env is the AUTH_* configuration that trusts this provider.
func (p *IdentityProvider) Env() map[string]string {
	return map[string]string{"AUTH_JWKS_URL": p.JWKSURL(), "AUTH_ISSUER": p.Issuer, "AUTH_AUDIENCE": p.Audience}
}

// Claims are an AuthKit access token's for user in org with role (org and
// role may be empty), valid for ttl, with a jti of their own.
func (p *IdentityProvider) Claims(user, org, role string, ttl time.Duration) jwt.MapClaims {
	now := time.Now()
	claims := jwt.MapClaims{
		"iss": p.Issuer, "sub": user, "aud": p.Audience, "sid": "session_1", "jti": rand.Text(),
		"iat": now.Unix(), "exp": now.Add(ttl).Unix(),
	}
	if org != "" {
		claims["org_id"] = org
	}
	if role != "" {
		claims["role"] = role
	}
	return claims
}

// Token signs an access token for user in org with role (org and role may
// be empty), valid for ttl.
func (p *IdentityProvider) Token(t testing.TB, user, org, role string, ttl time.Duration) string {
	t.Helper()
	return p.TokenOf(t, p.SigningKey(), user, org, role, ttl)
}

// TokenOf is Token signed with k instead of the provider's own key.
func (p *IdentityProvider) TokenOf(t testing.TB, k SigningKey, user, org, role string, ttl time.Duration) string {
	t.Helper()
	return k.Sign(t, p.Claims(user, org, role, ttl), nil)
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
