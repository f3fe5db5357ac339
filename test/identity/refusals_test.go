package identity_test

// What a refused caller is told: in development the 401 or 403 problem
// names its reason, the one the log line has; in production it does not.

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/test/inproc"
	"github.com/gatepass/gatepass/test/kit"
)

// reasonOf is the reason member of a problem answer, and whether it has
// one.
func reasonOf(t *testing.T, r kit.Response) (string, bool) {
	t.Helper()
	var body map[string]any
	if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
		t.Fatalf("not JSON: %s", r)
	}
	v, ok := body["reason"]
	s, _ := v.(string)
	return s, ok
}

// loggedReason is the reason of the request log line of the request that
// answered r.
func loggedReason(t *testing.T, p *kit.Process, r kit.Response) string {
	t.Helper()
	id := r.Header.Get("X-Request-ID")
	var reason string
	if !kit.Eventually(5*time.Second, 10*time.Millisecond, func() bool {
		for _, line := range strings.Split(p.Stderr.String(), "\n") {
			var l struct {
				RequestID string `json:"request_id"`
				Reason    string `json:"reason"`
			}
			if json.Unmarshal([]byte(line), &l) == nil && l.RequestID == id && l.Reason != "" {
				reason = l.Reason
				return true
			}
		}
		return false
	}) {
		t.Fatalf("no log line with a reason for request %s:\n%s", id, p.Stderr.String())
	}
	return reason
}

// TestDevelopmentRefusalsNameTheirReason: a token signed by a key gatepass
// does not know, one of another issuer, and a caller in no organization
// are told unknown_key, wrong_issuer and no_organization, as the log says.
func TestDevelopmentRefusalsNameTheirReason(t *testing.T) {
	t.Parallel()
	claims := func(iss string) jwt.MapClaims {
		now := time.Now()
		return jwt.MapClaims{"iss": iss, "sub": "user_1", "org_id": "org_1", "role": "member",
			"iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}
	}
	dir := t.TempDir()
	p := inproc.Serve(t, map[string]string{"APP_ENV": "development", "DEV_DIR": dir})
	stranger, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	// The development identity key, as the server made it.
	raw, err := os.ReadFile(filepath.Join(dir, "identity-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		t.Fatal("identity-key.pem holds no PEM block")
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	identity := parsed.(*rsa.PrivateKey)
	kid := kit.Thumbprint(&identity.PublicKey)
	noOrg := claims("gatepass-dev-identity")
	delete(noOrg, "org_id")
	tests := []struct {
		name   string
		bearer string
		status int
		reason string
	}{
		{name: "no bearer", status: 401, reason: "missing_credentials"},
		{name: "unknown key", bearer: kit.SignRS256(t, stranger, "stranger", claims("gatepass-dev-identity"), nil), status: 401, reason: "unknown_key"},
		{name: "malformed", bearer: "x.y.z", status: 401, reason: "malformed"},
		{name: "wrong issuer", bearer: kit.SignRS256(t, identity, kid, claims("someone-else"), nil), status: 401, reason: "wrong_issuer"},
		{name: "no organization", bearer: kit.SignRS256(t, identity, kid, noOrg, nil), status: 403, reason: "no_organization"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var opts []kit.Option
			if tt.bearer != "" {
				opts = append(opts, kit.Bearer(tt.bearer))
			}
			r := kit.Post(t, p.URL+kit.OfficePath, opts...)
			code := map[int]string{401: "invalid_token", 403: tt.reason}[tt.status]
			if tt.reason == "missing_credentials" {
				code = "missing_credentials"
			}
			kit.WantProblem(t, tt.name, r, tt.status, code)
			got, ok := reasonOf(t, r)
			if !ok || got != tt.reason {
				t.Errorf("reason %q (present %v), want %q: %s", got, ok, tt.reason, r)
			}
			if logged := loggedReason(t, p, r); logged != got {
				t.Errorf("the answer says %q, the log %q", got, logged)
			}
		})
	}
}

// TestProductionRefusalsStayAsTheyAre: the same refusals in production
// carry no reason.
func TestProductionRefusalsStayAsTheyAre(t *testing.T) {
	t.Parallel()
	s := inproc.ServeService(t)
	stranger, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	claims := s.IDP.Claims("user_1", "org_1", "member", time.Minute)
	for name, opts := range map[string][]kit.Option{
		"no bearer":       nil,
		"unknown key":     {kit.Bearer(kit.SignRS256(t, stranger, "stranger", claims, nil))},
		"malformed":       {kit.Bearer("x.y.z")},
		"no organization": {kit.Bearer(s.IDP.Token(t, "user_1", "", "member", time.Minute))},
	} {
		r := kit.Post(t, s.URL+kit.OfficePath, opts...)
		if r.Status != 401 && r.Status != 403 {
			t.Fatalf("%s: %s", name, r)
		}
		if reason, ok := reasonOf(t, r); ok {
			t.Errorf("%s: a production refusal names its reason %q: %s", name, reason, r)
		}
		if loggedReason(t, s.Process, r) == "" {
			t.Errorf("%s: no reason in the log", name)
		}
	}
}
