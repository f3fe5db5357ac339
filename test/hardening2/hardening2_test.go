// Package hardening2_test checks gatepass's defences against clients that
// abuse it, on the real binary over loopback: metric labels a client
// cannot multiply, per-address budgets a client can neither spread nor use
// to lock others out, a failing Redis that neither turns limits off nor
// hides from readiness, connection and header caps, and a public port that
// tells little.
package hardening2_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatepass/gatepass/test/kit"
)

const (
	officePath   = "/api/v1/cloudflare/request-access"
	realtimePath = "/api/v1/realtime/token"
)

type service struct {
	*kit.Process
	idp    *kit.IdentityProvider
	client *http.Client
}

// start runs gatepass in production mode against a stand-in identity
// provider, with extra settings on top.
func start(t *testing.T, extra map[string]string) *service {
	t.Helper()
	idp := kit.NewIdentityProvider(t)
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
		"JWT_SIGNER":          "go",
		"WEBSOCKET_BASE_URL":  "wss://office.hardening.example/ws",
		"SUPABASE_JWT_SECRET": "hardening-supabase-secret-of-more-than-32-bytes",
		"LOG_LEVEL":           "warn",
	}
	for k, v := range idp.Env() {
		env[k] = v
	}
	for k, v := range extra {
		env[k] = v
	}
	return &service{Process: kit.Start(t, env), idp: idp, client: &http.Client{Timeout: 10 * time.Second}}
}

type response struct {
	status int
	header http.Header
	body   string
}

// do sends one request; header values are added in order, so a name may
// repeat.
func (s *service) do(t *testing.T, method, url string, header ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// readiness is a /readyz answer.
type readiness struct {
	Status string `json:"status"`
	Checks map[string]struct {
		Status string `json:"status"`
		Detail string `json:"detail"`
	} `json:"checks"`
}

func (s *service) readiness(t *testing.T, base string) (int, readiness, string) {
	t.Helper()
	r := s.do(t, "GET", base+"/readyz")
	var out readiness
	if err := json.Unmarshal([]byte(r.body), &out); err != nil {
		t.Fatalf("readiness body %q: %v", r.body, err)
	}
	return r.status, out, r.body
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
