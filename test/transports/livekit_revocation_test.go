package transports_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"

	"github.com/gatepass/gatepass/test/inproc"
	"github.com/gatepass/gatepass/test/kit"
	"github.com/gatepass/gatepass/test/livekitserver"
)

const liveKitAdminToken = "an-admin-api-token-of-at-least-32-bytes"

// liveKitWithWebhook is a livekit-server whose webhook calls gatepass,
// and gatepass serving it, with the admin API: livekit-server is started
// first with its webhook pointed at a relay, which is pointed at gatepass
// once gatepass knows the server's address.
func liveKitWithWebhook(t *testing.T) (*livekitserver.Server, *kit.Service) {
	t.Helper()
	relay := kit.NewRelay(t)
	lk := livekitserver.Start(t, livekitserver.Config{WebhookURLs: []string{relay.URL + "/webhooks/livekit"}})
	idp := kit.NewIdentityProvider(t)
	gp := inproc.ServeServiceTrusting(t, idp, map[string]string{"JWT_SIGNER": "go", "ADMIN_API_TOKEN": liveKitAdminToken},
		liveKitEnv(lk), map[string]string{"RATE_LIMIT_LIVEKIT_BURST": "100"})
	relay.To(t, gp.URL)
	return lk, gp
}

// joinedLogged counts the webhooks gp logged of participants that joined
// for which it removed removed participants.
func joinedLogged(t *testing.T, gp *kit.Service, removed int) int {
	t.Helper()
	n := 0
	for line := range strings.Lines(gp.Logs()) {
		var l struct {
			Msg     string `json:"msg"`
			Event   string `json:"event"`
			Removed int    `json:"removed"`
		}
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "livekit webhook" && l.Event == "participant_joined" && l.Removed == removed {
			n++
		}
	}
	return n
}

// liveKitFanout is the fan-out's LiveKit entry of revocation id, as the
// admin API shows it.
func liveKitFanout(t *testing.T, gp *kit.Service, id string) (status string, count int) {
	t.Helper()
	r := kit.Get(t, gp.AdminURL+"/admin/v1/revocations/"+id, kit.Bearer(liveKitAdminToken))
	var out struct {
		Fanout map[string]struct {
			Status string `json:"status"`
			Count  int    `json:"count"`
		} `json:"fanout"`
	}
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &out) != nil {
		t.Fatalf("revocation %s: %s", id, r)
	}
	return out.Fanout["livekit"].Status, out.Fanout["livekit"].Count
}

// TestLiveKitRevokedParticipantsStayOut: every grant carries its issue
// time; a revocation through the admin API removes the user's
// participants (each device) and the fan-out reports how many; the
// user's rejoin with the token livekit-server refreshed for it is then
// removed through the webhook, while another user's participant stays;
// webhook calls that are not livekit-server's change nothing.
func TestLiveKitRevokedParticipantsStayOut(t *testing.T) {
	t.Parallel()
	lk, gp := liveKitWithWebhook(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	const room = "org_lkr/standup"
	grant := func(user, identity string) string {
		a := post(t, gp.URL+"/api/v1/livekit/token", gp.IDP.Token(t, user, "org_lkr", "member", time.Hour),
			`{"room_name":"standup","participant_identity":"`+identity+`"}`)
		if a.Status != http.StatusCreated {
			t.Fatalf("grant for %s: %s", identity, a)
		}
		return str(t, a, "participant_token")
	}

	t.Run("every grant carries its issue time", func(t *testing.T) {
		claims := verified(t, grant("user_lkr_c", "user_lkr_c"), lk)
		attrs, _ := claims["attributes"].(map[string]any)
		iat, _ := claims.GetIssuedAt()
		if iat == nil || attrs["gatepass.iat"] != strconv.FormatInt(iat.Unix(), 10) {
			t.Fatalf("attributes %v, want gatepass.iat = iat %v", attrs, iat)
		}
	})
	t.Run("a caller cannot set gatepass. attributes", func(t *testing.T) {
		for _, key := range []string{"gatepass.iat", "GatePass.IAT", "gatepass.other"} {
			a := post(t, gp.URL+"/api/v1/livekit/token", gp.IDP.Token(t, "user_lkr_c", "org_lkr", "member", time.Hour),
				`{"room_name":"standup","participant_attributes":{"`+key+`":"9999999999"}}`)
			kit.WantProblem(t, key, a, http.StatusBadRequest, "invalid_participant")
		}
	})

	// The revoked user's grant, and the token livekit-server refreshes it
	// with; another user in the same room.
	revokedGrant := grant("user_lkr_a", "user_lkr_a#phone")
	refreshed, err := livekitserver.RefreshedToken(ctx, lk.URL(), revokedGrant)
	if err != nil {
		t.Fatalf("no refreshed token: %v", err)
	}
	if attrs, _ := verified(t, refreshed, lk)["attributes"].(map[string]any); attrs["gatepass.iat"] == nil {
		t.Fatalf("the refreshed token's attributes %v lack gatepass.iat", attrs)
	}
	for _, identity := range []string{"user_lkr_a", "user_lkr_a#phone", "user_lkr_b"} {
		user, _, _ := strings.Cut(identity, "#")
		p, err := livekitserver.ConnectMedia(ctx, lk.URL(), grant(user, identity))
		if err != nil {
			t.Fatalf("%s joins: %v", identity, err)
		}
		t.Cleanup(p.Close)
	}
	if !kit.Eventually(20*time.Second, 50*time.Millisecond, func() bool { return joinedLogged(t, gp, 0) == 3 }) {
		t.Fatalf("gatepass did not log the three participant_joined webhooks:\n%s", gp.Logs())
	}

	t.Run("webhooks not signed by livekit-server change nothing", func(t *testing.T) {
		body := []byte(`{"event":"participant_joined","room":{"name":"` + room + `"},"participant":{"identity":"user_lkr_b"}}`)
		sum := sha256.Sum256(body)
		forged, err := auth.NewAccessToken(lk.APIKey, strings.Repeat("f", 40)).SetValidFor(time.Minute).
			SetSha256(base64.StdEncoding.EncodeToString(sum[:])).ToJWT()
		if err != nil {
			t.Fatal(err)
		}
		genuine, err := auth.NewAccessToken(lk.APIKey, lk.APISecret).SetValidFor(time.Minute).
			SetSha256(base64.StdEncoding.EncodeToString(sum[:])).ToJWT()
		if err != nil {
			t.Fatal(err)
		}
		big := append([]byte(`{"event":"participant_joined","pad":"`), strings.Repeat("x", 64<<10)...)
		big = append(big, `"}`...)
		for _, c := range []struct {
			name, authorization, contentType string
			body                             []byte
			status                           int
			code                             string
		}{
			{name: "unsigned", contentType: "application/webhook+json", body: body, status: 401, code: "invalid_signature"},
			{name: "forged", authorization: forged, contentType: "application/webhook+json", body: body, status: 401, code: "invalid_signature"},
			{name: "signed over another body", authorization: genuine, contentType: "application/webhook+json",
				body: []byte(strings.Replace(string(body), "user_lkr_b", "user_lkr_a", 1)), status: 401, code: "invalid_signature"},
			{name: "oversized", authorization: genuine, contentType: "application/webhook+json", body: big, status: 413, code: "body_too_large"},
			{name: "not webhook+json", authorization: genuine, contentType: "application/json", body: body, status: 415, code: "unsupported_media_type"},
		} {
			opts := []kit.Option{kit.Body(c.contentType, strings.NewReader(string(c.body)))}
			if c.authorization != "" {
				opts = append(opts, kit.Authorization(c.authorization))
			}
			kit.WantProblem(t, c.name, kit.Post(t, gp.URL+"/webhooks/livekit", opts...), c.status, c.code)
		}
		if ids := lk.Participants(t, room); !slices.Contains(ids, "user_lkr_b") {
			t.Fatalf("user_lkr_b left the room: %v", ids)
		}
	})

	t.Run("a revocation removes the user's participants", func(t *testing.T) {
		r := kit.Post(t, gp.AdminURL+"/admin/v1/revocations", kit.Bearer(liveKitAdminToken), kit.JSONBody(`{"user_id":"user_lkr_a","org_id":"org_lkr"}`))
		kit.WantStatus(t, "revoke", r, http.StatusAccepted)
		id, _ := r.JSON(t)["id"].(string)
		var status string
		var count int
		if !kit.Eventually(20*time.Second, 20*time.Millisecond, func() bool {
			status, count = liveKitFanout(t, gp, id)
			return status == "done"
		}) {
			t.Fatalf("fanout.livekit %q; the 202 was %s", status, r)
		}
		if count != 2 {
			t.Fatalf("fanout.livekit done with count %d, want 2 (two devices)", count)
		}
		if !kit.Eventually(10*time.Second, 20*time.Millisecond, func() bool {
			return slices.Equal(lk.Participants(t, room), []string{"user_lkr_b"})
		}) {
			t.Fatalf("room holds %v, want user_lkr_b only", lk.Participants(t, room))
		}
	})

	t.Run("the refreshed token's rejoin is removed", func(t *testing.T) {
		start := time.Now()
		rejoined, err := livekitserver.ConnectMedia(ctx, lk.URL(), refreshed)
		if err != nil {
			// Removed before its connection came up is removed too.
			t.Logf("rejoin: %v", err)
		} else {
			t.Cleanup(rejoined.Close)
			if rejoined.Joined.Identity != "user_lkr_a#phone" || rejoined.Joined.Room != room {
				t.Fatalf("rejoined %s as %s", rejoined.Joined.Room, rejoined.Joined.Identity)
			}
		}
		if !kit.Eventually(20*time.Second, 20*time.Millisecond, func() bool {
			return joinedLogged(t, gp, 1) == 1 && !slices.Contains(lk.Participants(t, room), "user_lkr_a#phone")
		}) {
			t.Fatalf("the rejoin stays: room %v\n%s", lk.Participants(t, room), gp.Logs())
		}
		t.Logf("removed %v after the rejoin began", time.Since(start))
		if rejoined != nil {
			select {
			case <-rejoined.Left():
			case <-ctx.Done():
				t.Fatal("the server did not end the removed participant's session")
			}
		}
		if ids := lk.Participants(t, room); !slices.Equal(ids, []string{"user_lkr_b"}) {
			t.Fatalf("room holds %v, want user_lkr_b only", ids)
		}
	})
}
