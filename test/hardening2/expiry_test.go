package hardening2_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestGrantsDoNotOutliveTheIdentity: with GRANT_EXPIRY_BOUND=identity a
// grant expires no later than the identity token it was issued for, and an
// identity with under 5 s left gets 401; the default keeps the full TTL.
func TestGrantsDoNotOutliveTheIdentity(t *testing.T) {
	bounded := start(t, map[string]string{"GRANT_EXPIRY_BOUND": "identity"})
	identityTTL := 30 * time.Second
	token := bounded.idp.Token(t, "user_exp", "org_1", "member", identityTTL)
	identityExp := time.Now().Add(identityTTL).Truncate(time.Second)
	for _, path := range []string{realtimePath, officePath} {
		r := bounded.do(t, "POST", bounded.URL+path, "Authorization", "Bearer "+token)
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", path, r.status, r.body)
		}
		var g struct {
			ExpiresIn int64  `json:"expiresIn"`
			ExpiresAt string `json:"expiresAt"`
		}
		if err := json.Unmarshal([]byte(r.body), &g); err != nil {
			t.Fatal(err)
		}
		exp, _ := time.Parse(time.RFC3339, g.ExpiresAt)
		if g.ExpiresIn > int64(identityTTL/time.Second) || exp.After(identityExp.Add(time.Second)) {
			t.Fatalf("%s: grant expires in %ds at %s, after the identity at %s", path, g.ExpiresIn, exp, identityExp)
		}
	}
	dying := bounded.idp.Token(t, "user_dying", "org_1", "member", 3*time.Second)
	if r := bounded.do(t, "POST", bounded.URL+realtimePath, "Authorization", "Bearer "+dying); r.status != http.StatusUnauthorized ||
		!strings.Contains(r.body, "invalid_token") {
		t.Fatalf("identity with 3s left: %d %s, want 401 invalid_token", r.status, r.body)
	}

	open := start(t, nil)
	token = open.idp.Token(t, "user_exp", "org_1", "member", identityTTL)
	r := open.do(t, "POST", open.URL+realtimePath, "Authorization", "Bearer "+token)
	if r.status != http.StatusOK || !strings.Contains(r.body, `"expiresIn":3600`) {
		t.Fatalf("default bound: %d %s, want the full hour", r.status, r.body)
	}
}
