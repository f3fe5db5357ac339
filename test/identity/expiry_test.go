package identity_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatepass/gatepass/test/inproc"
	"github.com/gatepass/gatepass/test/kit"
)

// goSigner is the expiry test's setting on top of the production one:
// the Go signer, and warnings only.
var goSigner = map[string]string{"JWT_SIGNER": "go", "LOG_LEVEL": "warn"}

// TestGrantsDoNotOutliveTheIdentity: with GRANT_EXPIRY_BOUND=identity a
// grant expires no later than the identity token it was issued for, and an
// identity with under 5 s left gets 401; the default keeps the full TTL.
func TestGrantsDoNotOutliveTheIdentity(t *testing.T) {
	t.Parallel()
	bounded := inproc.ServeService(t, goSigner, map[string]string{"GRANT_EXPIRY_BOUND": "identity"})
	identityTTL := 30 * time.Second
	token := bounded.IDP.Token(t, "user_exp", "org_1", "member", identityTTL)
	identityExp := time.Now().Add(identityTTL).Truncate(time.Second)
	for _, path := range []string{kit.RealtimePath, kit.OfficePath} {
		r := kit.Post(t, bounded.URL+path, kit.Bearer(token))
		if r.Status != http.StatusOK {
			t.Fatalf("%s: %s", path, r)
		}
		var g struct {
			ExpiresIn int64  `json:"expiresIn"`
			ExpiresAt string `json:"expiresAt"`
		}
		if err := json.Unmarshal(r.Body, &g); err != nil {
			t.Fatal(err)
		}
		exp, _ := time.Parse(time.RFC3339, g.ExpiresAt)
		if g.ExpiresIn > int64(identityTTL/time.Second) || exp.After(identityExp.Add(time.Second)) {
			t.Fatalf("%s: grant expires in %ds at %s, after the identity at %s", path, g.ExpiresIn, exp, identityExp)
		}
	}
	dying := bounded.IDP.Token(t, "user_dying", "org_1", "member", 3*time.Second)
	if r := kit.Post(t, bounded.URL+kit.RealtimePath, kit.Bearer(dying)); r.Status != http.StatusUnauthorized ||
		!strings.Contains(string(r.Body), "invalid_token") {
		t.Fatalf("identity with 3s left: %s, want 401 invalid_token", r)
	}

	open := inproc.ServeService(t, goSigner)
	token = open.IDP.Token(t, "user_exp", "org_1", "member", identityTTL)
	r := kit.Post(t, open.URL+kit.RealtimePath, kit.Bearer(token))
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"expiresIn":3600`) {
		t.Fatalf("default bound: %s, want the full hour", r)
	}
}
