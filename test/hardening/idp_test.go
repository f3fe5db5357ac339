// Package hardening_test drives the real gatepass binary against a
// stand-in identity provider that misbehaves on purpose: a JWKS that
// answers slowly, rotates, drops keys, publishes unfit keys or never ends.
// Each test pins one finding of an outside attack on the identity checks.
package hardening_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/test/kit"
)

const (
	idpIssuer   = "https://auth.hardening.example"
	idpAudience = "client_hardening"
	officePath  = "/api/v1/cloudflare/request-access"
)

// signingKey is one of the provider's keys.
type signingKey struct {
	kid string
	key *rsa.PrivateKey
}

func newKey(t testing.TB, kid string, bits int) signingKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return signingKey{kid: kid, key: k}
}

func (k signingKey) jwk() map[string]string {
	return map[string]string{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": k.kid,
		"n": base64.RawURLEncoding.EncodeToString(k.key.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.key.E)).Bytes()),
	}
}

// claims are an AuthKit-shaped access token's, valid for ten minutes.
func claims(sub, org, role string) jwt.MapClaims {
	now := time.Now()
	c := jwt.MapClaims{"iss": idpIssuer, "aud": idpAudience, "sub": sub, "sid": "session_1",
		"jti": rand.Text(), "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()}
	if org != "" {
		c["org_id"] = org
	}
	if role != "" {
		c["role"] = role
	}
	return c
}

// sign signs c with k; edit may change the header first.
func (k signingKey) sign(t testing.TB, c jwt.MapClaims, edit func(*jwt.Token)) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	tok.Header["kid"] = k.kid
	if edit != nil {
		edit(tok)
	}
	s, err := tok.SignedString(k.key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (k signingKey) token(t testing.TB) string {
	return k.sign(t, claims("user_1", "org_1", "member"), nil)
}

// idp serves a JWKS on loopback that the test changes as it goes.
type idp struct {
	srv     *httptest.Server
	mu      sync.Mutex
	keys    []signingKey
	header  http.Header
	gate    chan struct{} // when set, answers wait for it to close
	endless bool          // when set, answers are a JWKS that never ends
	// waiting gets a value when an answer starts waiting at the gate.
	waiting chan struct{}
	fetches atomic.Int64
	// written holds, per endless answer, the bytes written before the
	// client stopped reading.
	written []int64
}

func newIDP(t testing.TB, keys ...signingKey) *idp {
	t.Helper()
	p := &idp{keys: keys, header: http.Header{}, waiting: make(chan struct{}, 64)}
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(p.serve))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.srv.Listener = ln
	p.srv.Start()
	t.Cleanup(p.srv.Close)
	return p
}

func (p *idp) serve(w http.ResponseWriter, r *http.Request) {
	p.fetches.Add(1)
	p.mu.Lock()
	gate, endless, header := p.gate, p.endless, p.header.Clone()
	set := []map[string]string{}
	for _, k := range p.keys {
		set = append(set, k.jwk())
	}
	p.mu.Unlock()
	if gate != nil {
		p.waiting <- struct{}{}
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		}
	}
	for k, v := range header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	if endless {
		p.serveEndless(w)
		return
	}
	json.NewEncoder(w).Encode(map[string]any{"keys": set})
}

// serveEndless writes up to 256 MiB of a JWK Set that never closes, with
// no Content-Length, and records how much of it was taken.
func (p *idp) serveEndless(w http.ResponseWriter) {
	var n int64
	defer func() {
		p.mu.Lock()
		p.written = append(p.written, n)
		p.mu.Unlock()
	}()
	chunk := []byte(`{"keys":[` + strings.Repeat(" ", 64<<10-9))
	for n < 256<<20 {
		k, err := w.Write(chunk)
		n += int64(k)
		if err != nil {
			return
		}
		chunk = []byte(strings.Repeat(" ", 64<<10))
	}
}

func (p *idp) setKeys(keys ...signingKey) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys = keys
}

// hold makes answers wait until the returned function is called.
func (p *idp) hold() (release func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	gate := make(chan struct{})
	p.gate = gate
	return func() {
		p.mu.Lock()
		p.gate = nil
		p.mu.Unlock()
		close(gate)
	}
}

func (p *idp) url() string { return p.srv.URL + "/sso/jwks/" + idpAudience }

// env is a production configuration of gatepass trusting p, with the
// rate limits off (the tests count 401s, not 429s), and extra on top.
func (p *idp) env(t testing.TB, extra map[string]string) map[string]string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	env := map[string]string{
		"APP_ENV":             "production",
		"JWT_ISSUER":          "https://gatepass.hardening.example",
		"JWT_AUDIENCE":        "office-router",
		"JWT_PRIVATE_KEY":     string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"WEBSOCKET_BASE_URL":  "wss://office.hardening.example/ws",
		"SUPABASE_JWT_SECRET": "hardening-supabase-secret-of-more-than-32-bytes",
		"AUTH_JWKS_URL":       p.url(),
		"AUTH_ISSUER":         idpIssuer,
		"AUTH_AUDIENCE":       idpAudience,
		"RATE_LIMIT_ENABLED":  "false",
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// office asks gp for an office grant with bearer and returns the status.
func office(t testing.TB, ctx context.Context, gp *kit.Process, bearer string) (int, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, gp.URL+officePath, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// status is office that fails the test when the call itself fails.
func status(t testing.TB, gp *kit.Process, bearer string) int {
	t.Helper()
	code, err := office(t, context.Background(), gp, bearer)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// eventually polls cond every interval until it holds or timeout passes.
func eventually(timeout, interval time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(interval)
	}
}
