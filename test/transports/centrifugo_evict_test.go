package transports_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatepass/gatepass/test/centrifugoserver"
	"github.com/gatepass/gatepass/test/inproc"
	"github.com/gatepass/gatepass/test/kit"
)

const adminToken = "an-admin-api-token-of-at-least-32-bytes"

// fanoutAnswer is the admin API's answer to a revocation, and its GET.
type fanoutAnswer struct {
	ID     string `json:"id"`
	Fanout map[string]struct {
		Status    string `json:"status"`
		Count     *int   `json:"count"`
		ExpiresAt string `json:"expires_at"`
	} `json:"fanout"`
}

// TestCentrifugoEvictsTheRevokedUser: a revocation disconnects the
// revoked user's client from the real Centrifugo with code 3503, after
// which it stays disconnected; another user's client stays connected.
func TestCentrifugoEvictsTheRevokedUser(t *testing.T) {
	t.Parallel()
	idp := kit.NewIdentityProvider(t)
	addr := kit.FreeAddr(t)
	_, keyPEM := kit.NewRSAKey(t, 2048)
	// Centrifugo needs gatepass's JWKS, gatepass Centrifugo's API: gatepass
	// first on a chosen address, then again with the API's URL.
	base := env(t, idp, map[string]string{
		"HTTP_ADDR": addr, "JWT_PRIVATE_KEY": keyPEM, "CENTRIFUGO_URL": "ws://127.0.0.1:8000/connection/websocket",
		"ADMIN_API_TOKEN": adminToken,
	})
	cf := centrifugoserver.Start(t, centrifugoserver.Config{
		JWKSURL: "http://" + addr + "/.well-known/jwks.json", Issuer: kit.GrantIssuer, Audience: "centrifugo",
	})
	gp := inproc.Serve(t, kit.With(base, map[string]string{"CENTRIFUGO_API_URL": cf.HTTPURL() + "/api", "CENTRIFUGO_API_KEY": cf.APIKey}))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	connect := func(user string) (*centrifugoserver.Client, *centrifugoserver.Subscription) {
		t.Helper()
		bearer := idp.Token(t, user, "org_cf", "member", time.Hour)
		conn := post(t, gp.URL+"/api/v1/centrifugo/connection-token", bearer, "")
		client, err := centrifugoserver.Connect(ctx, cf.WebSocketURL(), str(t, conn, "token"))
		if err != nil {
			t.Fatalf("connect %s: %v", user, err)
		}
		t.Cleanup(client.Close)
		sub := post(t, gp.URL+"/api/v1/centrifugo/subscription-token", bearer, `{"channel":"org:org_cf"}`)
		s, err := client.Subscribe(ctx, "org:org_cf", str(t, sub, "token"))
		if err != nil {
			t.Fatalf("subscribe %s: %v", user, err)
		}
		return client, s
	}
	revoked, _ := connect("user_cf_revoked")
	other, otherSub := connect("user_cf_other")

	// Every pair of transports and results is exported at zero.
	series := 0
	for _, smp := range kit.Scrape(t, gp.AdminURL+"/metrics") {
		if smp.Name == "gatepass_revocation_fanout_total" {
			series++
			if smp.Value != 0 {
				t.Fatalf("before any revocation: %+v", smp)
			}
		}
	}
	if series != 5*7 {
		t.Fatalf("%d series of gatepass_revocation_fanout_total, want 5 transports times 7 results", series)
	}

	start := time.Now()
	r := kit.Post(t, gp.AdminURL+"/admin/v1/revocations", kit.Bearer(adminToken), kit.JSONBody(`{"user_id":"user_cf_revoked","org_id":"org_cf"}`))
	var answer fanoutAnswer
	if r.Status != http.StatusAccepted || json.Unmarshal(r.Body, &answer) != nil {
		t.Fatalf("revoke: %s", r)
	}
	if got := answer.Fanout["centrifugo"].Status; got != "done" {
		t.Fatalf("centrifugo fan-out %q, want done: %s", got, r)
	}
	gone, err := revoked.Disconnected(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("centrifugo: revoked client disconnected %s after the revocation call", time.Since(start).Round(time.Millisecond))
	if gone.Code != 3503 {
		t.Fatalf("revoked client disconnected with %d %q, want 3503", gone.Code, gone.Reason)
	}

	// The other user still receives publications; by then the revoked
	// client has had its chance to reconnect, and has not.
	if err := cf.Publish(ctx, "org:org_cf", map[string]string{"after": "revocation"}); err != nil {
		t.Fatal(err)
	}
	if data, err := otherSub.Next(ctx); err != nil || !strings.Contains(string(data), "revocation") {
		t.Fatalf("other user's publication %s: %v", data, err)
	}
	if s := other.State(); s != "connected" {
		t.Fatalf("other user's client is %s", s)
	}
	if s := revoked.State(); s != "disconnected" {
		t.Fatalf("revoked client is %s, want disconnected for good", s)
	}

	m := kit.Scrape(t, gp.AdminURL+"/metrics")
	if m.Sum("gatepass_revocation_fanout_total", "transport", "centrifugo", "result", "done") != 1 ||
		m.Sum("gatepass_revocation_fanout_total", "transport", "supabase_realtime", "result", "expires") != 1 {
		t.Fatalf("fan-out counted %+v", m)
	}

	got := kit.Get(t, gp.AdminURL+"/admin/v1/revocations/"+answer.ID, kit.Bearer(adminToken))
	var view fanoutAnswer
	if got.Status != http.StatusOK || json.Unmarshal(got.Body, &view) != nil || view.Fanout["centrifugo"].Status != "done" {
		t.Fatalf("GET: %s", got)
	}
}
