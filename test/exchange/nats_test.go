package exchange_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/nats-io/nkeys"

	"github.com/gatepass/gatepass/test/inproc"
	"github.com/gatepass/gatepass/test/kit"
)

// withNATS enables NATS with fresh keys; no server is needed to mint its
// JWTs. It returns the account's public key.
func withNATS(t *testing.T, over map[string]string) (map[string]string, string) {
	t.Helper()
	account, err := nkeys.CreateAccount()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := account.PublicKey()
	signing, _ := nkeys.CreateAccount()
	seed, _ := signing.Seed()
	return kit.With(map[string]string{
		"NATS_URL": "tls://nats.example:4222,wss://nats.example", "NATS_ACCOUNT": pub, "NATS_ACCOUNT_SIGNING_KEY": string(seed),
		"PUBLIC_BASE_URL": "https://gatepass.test.example",
	}, over), pub
}

// TestNATSAudience: the audience nats answers a bearer user JWT with the
// servers and the caller's inbox prefix, as the dedicated endpoint does,
// takes no scope, and is listed in the metadata.
func TestNATSAudience(t *testing.T) {
	t.Parallel()
	env, account := withNATS(t, nil)
	s := inproc.ServeService(t, env)
	bearer := s.IDP.Token(t, "user_x", "org_x", "member", time.Hour)

	r := exchange(t, s.URL, form(bearer, "nats", ""))
	if r.Status != http.StatusOK || r.Header.Get("Cache-Control") != "no-store" || r.Header.Get("Pragma") != "no-cache" {
		t.Fatalf("exchange: %s %v", r, r.Header)
	}
	var got struct {
		AccessToken string   `json:"access_token"`
		IssuedType  string   `json:"issued_token_type"`
		TokenType   string   `json:"token_type"`
		ExpiresIn   int      `json:"expires_in"`
		ServerURL   string   `json:"server_url"`
		Servers     []string `json:"servers"`
		InboxPrefix string   `json:"inbox_prefix"`
	}
	if err := json.Unmarshal(r.Body, &got); err != nil {
		t.Fatal(err)
	}
	if got.IssuedType != jwtType || got.TokenType != "N_A" || got.ExpiresIn != 600 || got.ServerURL != "tls://nats.example:4222" ||
		len(got.Servers) != 2 || got.Servers[1] != "wss://nats.example" || got.InboxPrefix != "_INBOX.user_x" {
		t.Fatalf("answer %s", r.Body)
	}
	claims := kit.PayloadOf(t, got.AccessToken)
	nc, _ := claims["nats"].(map[string]any)
	dedicated := kit.PayloadOf(t, kit.Post(t, s.URL+"/api/v1/nats/token", kit.Bearer(bearer)).JSON(t)["user_jwt"].(string))
	dc, _ := dedicated["nats"].(map[string]any)
	// The subjects differ (each bearer JWT has a fresh key); the rest is
	// the dedicated endpoint's.
	pub, _ := json.Marshal([]any{nc["pub"], nc["sub"], nc["resp"], nc["tags"]})
	dpub, _ := json.Marshal([]any{dc["pub"], dc["sub"], dc["resp"], dc["tags"]})
	if claims["name"] != "user_x" || nc["issuer_account"] != account || nc["bearer_token"] != true || string(pub) != string(dpub) {
		t.Fatalf("exchanged claims %v, dedicated %v", claims, dedicated)
	}

	wantOAuthError(t, "a scope with nats", exchange(t, s.URL, form(bearer, "nats", "subject:org.org_x.chat")), 400, "invalid_scope", bearer)
	loner := s.IDP.Token(t, "user_l", "", "", time.Hour)
	wantOAuthError(t, "no organization", exchange(t, s.URL, form(loner, "nats", "")), 400, "invalid_target", loner)

	m := kit.Get(t, s.URL+"/.well-known/oauth-authorization-server").JSON(t)
	audiences, _ := json.Marshal(m["gatepass_audiences_supported"])
	if string(audiences) != `["office-router","supabase-realtime","nats"]` {
		t.Fatalf("metadata lists %s", audiences)
	}
	if n := kit.Scrape(t, s.AdminURL+"/metrics").Sum("gatepass_grants_total", "kind", "nats", "result", "issued"); n != 2 {
		t.Fatalf("%v nats grants counted as issued, want 2", n)
	}
}

// TestNATSAudienceOffWhileDisabled: without NATS_* the audience is not
// offered.
func TestNATSAudienceOffWhileDisabled(t *testing.T) {
	t.Parallel()
	s := inproc.ServeService(t, map[string]string{"PUBLIC_BASE_URL": "https://gatepass.test.example"})
	bearer := s.IDP.Token(t, "user_x", "org_x", "member", time.Hour)
	wantOAuthError(t, "a disabled audience", exchange(t, s.URL, form(bearer, "nats", "")), 400, "invalid_target", bearer)
}
