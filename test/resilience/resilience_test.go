// Package resilience_test runs the real gatepass binary through faults,
// limits and scale-out: rate limits in memory and in a real redis-server
// shared by several replicas, Redis dying and coming back, the identity
// provider's JWKS down at start or later, a flood of unknown key ids,
// SIGTERM under load, and a sustained load that must leave no goroutine or
// memory behind. Every wait is bounded; no test asserts a latency.
package resilience_test

import (
	"bufio"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatepass/gatepass/test/harness"
)

const (
	officePath   = "/api/v1/cloudflare/request-access"
	realtimePath = "/api/v1/realtime/token"

	supabaseSecret = "resilience-supabase-secret-of-more-than-32-bytes"
	jwtIssuer      = "https://gatepass.test.example"
	jwtAudience    = "office-router"
)

// officeKey is the office-router signing key every process of a test run
// shares, as replicas behind one load balancer do.
var officeKey = sync.OnceValues(func() (*rsa.PrivateKey, string) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		panic(err)
	}
	return key, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
})

// productionEnv is a complete production configuration trusting idp, with
// over applied last (an empty value unsets a variable).
func productionEnv(idp *harness.IdentityProvider, over map[string]string) map[string]string {
	_, keyPEM := officeKey()
	env := map[string]string{
		"APP_ENV":             "production",
		"JWT_ISSUER":          jwtIssuer,
		"JWT_AUDIENCE":        jwtAudience,
		"JWT_PRIVATE_KEY":     keyPEM,
		"WEBSOCKET_BASE_URL":  "wss://office.test.example/ws",
		"SUPABASE_JWT_SECRET": supabaseSecret,
		"LOG_LEVEL":           "info",
	}
	maps.Copy(env, idp.Env())
	for k, v := range over {
		if v == "" {
			delete(env, k)
			continue
		}
		env[k] = v
	}
	return env
}

// client is shared by the tests' sequential calls; its timeout bounds every
// request.
var client = &http.Client{Timeout: 10 * time.Second}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// problem is the RFC 9457 body gatepass answers errors with.
type problem struct {
	Type   string `json:"type"`
	Status int    `json:"status"`
	Code   string `json:"code"`
}

func (r response) String() string { return fmt.Sprintf("%d %.300s", r.Status, r.Body) }

// call sends one request; headers alternate name and value.
func call(t testing.TB, method, url, bearer string, headers ...string) response {
	t.Helper()
	r, err := callErr(client, method, url, bearer, headers...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return r
}

func callErr(c *http.Client, method, url, bearer string, headers ...string) (response, error) {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		return response{}, err
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: body}, nil
}

func post(t testing.TB, url, bearer string, headers ...string) response {
	t.Helper()
	return call(t, http.MethodPost, url, bearer, headers...)
}

// wantStatus fails the test unless r has status want.
func wantStatus(t testing.TB, what string, r response, want int) {
	t.Helper()
	if r.Status != want {
		t.Fatalf("%s: got %s, want status %d", what, r, want)
	}
}

// wantProblem fails the test unless r is a problem+json with status and
// code.
func wantProblem(t testing.TB, what string, r response, status int, code string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s: got %s, want status %d (%s)", what, r, status, code)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("%s: Content-Type %q, want application/problem+json", what, ct)
	}
	var p problem
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatalf("%s: body %q is not a problem: %v", what, r.Body, err)
	}
	if p.Code != code || p.Status != status {
		t.Fatalf("%s: problem %+v, want status %d code %q", what, p, status, code)
	}
}

// readiness is the body of /readyz.
type readiness struct {
	Status string `json:"status"`
	Checks map[string]struct {
		Status string `json:"status"`
		Detail string `json:"detail"`
	} `json:"checks"`
}

// ready asks a listener's /readyz.
func ready(t testing.TB, baseURL string) (int, readiness) {
	t.Helper()
	r := call(t, http.MethodGet, baseURL+"/readyz", "")
	var body readiness
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatalf("/readyz body %q: %v", r.Body, err)
	}
	return r.Status, body
}

// eventually polls cond every interval until it holds or timeout passes,
// and reports whether it held.
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

// logLine is one of gatepass's JSON request log lines.
type logLine struct {
	Msg       string `json:"msg"`
	RequestID string `json:"request_id"`
	Status    int    `json:"status"`
	ClientIP  string `json:"client_ip"`
	Route     string `json:"route"`
}

// requestLogs returns the process's request log lines.
func requestLogs(t testing.TB, p *harness.Process) []logLine {
	t.Helper()
	var out []logLine
	sc := bufio.NewScanner(strings.NewReader(p.Logs()))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var l logLine
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "request" {
			out = append(out, l)
		}
	}
	return out
}
