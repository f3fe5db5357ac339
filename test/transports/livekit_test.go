package transports_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"

	"github.com/gatepass/gatepass/test/inproc"
	"github.com/gatepass/gatepass/test/kit"
	"github.com/gatepass/gatepass/test/livekitserver"
)

// liveKitEnv points gatepass at lk.
func liveKitEnv(lk *livekitserver.Server) map[string]string {
	return map[string]string{"LIVEKIT_URL": lk.URL(), "LIVEKIT_API_KEY": lk.APIKey, "LIVEKIT_API_SECRET": lk.APISecret}
}

// offlineLiveKitEnv configures LiveKit without a server: for what gatepass
// refuses before any server sees a token.
var offlineLiveKitEnv = map[string]string{
	"LIVEKIT_URL": "ws://127.0.0.1:7880", "LIVEKIT_API_KEY": "key", "LIVEKIT_API_SECRET": strings.Repeat("k", 40),
}

// liveKitGrant asks gp for a LiveKit token with body and wants one.
func liveKitGrant(t *testing.T, gp *kit.Process, bearer, body string) string {
	t.Helper()
	a := post(t, gp.URL+"/api/v1/livekit/token", bearer, body)
	if a.Status != http.StatusCreated {
		t.Fatalf("answer %s", a)
	}
	return str(t, a, "participant_token")
}

// video is the video grant of a LiveKit token.
func video(t *testing.T, token string) map[string]any {
	t.Helper()
	v, _ := kit.PayloadOf(t, token)["video"].(map[string]any)
	return v
}

// TestLiveKitRoomAdminNeedsThePermission: under the default policy an
// admin's grant has no roomAdmin, so the real server refuses its attempt
// to rewrite another participant's verified attributes through the
// RoomService API; the livekit:room_admin permission gives roomAdmin, and
// with it the server does rewrite them, as the README warns.
func TestLiveKitRoomAdminNeedsThePermission(t *testing.T) {
	t.Parallel()
	lk := livekitserver.Start(t, livekitserver.Config{})
	idp := kit.NewIdentityProvider(t)
	gp := inproc.Serve(t, env(t, idp, liveKitEnv(lk)))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const room, viewerID = "org_lk/standup", "user_lk_viewer"

	viewer, err := livekitserver.Connect(ctx, lk.URL(), liveKitGrant(t, gp, idp.Token(t, viewerID, "org_lk", "viewer", time.Hour), `{"room_name":"standup"}`))
	if err != nil {
		t.Fatalf("the viewer joins: %v", err)
	}
	defer viewer.Close()
	attributes := func(t *testing.T) map[string]string {
		t.Helper()
		var list livekit.ListParticipantsResponse
		if err := lk.RoomService(ctx, lk.AdminToken(t, room), "ListParticipants", &livekit.ListParticipantsRequest{Room: room}, &list); err != nil {
			t.Fatal(err)
		}
		for _, p := range list.GetParticipants() {
			if p.GetIdentity() == viewerID {
				return p.GetAttributes()
			}
		}
		t.Fatalf("the viewer is not in the room: %v", list.GetParticipants())
		return nil
	}
	verified := func(t *testing.T) {
		t.Helper()
		if a := attributes(t); a["userId"] != viewerID || a["orgId"] != "org_lk" || a["role"] != "viewer" {
			t.Fatalf("the viewer's attributes are %v", a)
		}
	}
	verified(t)
	rewrite := &livekit.UpdateParticipantRequest{Room: room, Identity: viewerID,
		Attributes: map[string]string{"userId": "user_other", "orgId": "org_other", "role": "admin"}}

	t.Run("an admin cannot rewrite another participant's attributes", func(t *testing.T) {
		token := liveKitGrant(t, gp, idp.Token(t, "user_lk_admin", "org_lk", "admin", time.Hour), `{"room_name":"standup"}`)
		err := lk.RoomService(ctx, token, "UpdateParticipant", rewrite, &livekit.ParticipantInfo{})
		var refused *livekitserver.APIError
		if !errors.As(err, &refused) || refused.Status != http.StatusUnauthorized {
			t.Errorf("UpdateParticipant with an admin's grant: %v, want 401", err)
		}
		verified(t)
		if v := video(t, token); v["roomAdmin"] != false || v["canPublish"] != true {
			t.Fatalf("an admin's video grant is %v, want publishing without roomAdmin", v)
		}
	})

	t.Run("livekit:room_admin gives roomAdmin, which rewrites them", func(t *testing.T) {
		claims := idp.Claims("user_lk_ops", "org_lk", "member", time.Hour)
		claims["permissions"] = []string{"livekit:room_admin"}
		token := liveKitGrant(t, gp, idp.Sign(t, claims, nil), `{"room_name":"standup"}`)
		if v := video(t, token); v["roomAdmin"] != true {
			t.Fatalf("video grant %v, want roomAdmin", v)
		}
		var info livekit.ParticipantInfo
		if err := lk.RoomService(ctx, token, "UpdateParticipant", rewrite, &info); err != nil {
			t.Fatalf("UpdateParticipant with roomAdmin: %v", err)
		}
		if a := attributes(t); a["orgId"] != "org_other" || a["role"] != "admin" {
			t.Fatalf("the viewer's attributes are %v after a roomAdmin rewrote them", a)
		}
	})
}

// TestLiveKitAttributeKeys: keys in LiveKit's and its SIP service's
// namespaces, look-alikes of the verified keys, and keys with invisible
// characters are refused; the verified keys themselves keep their
// contract (the caller's values are dropped).
func TestLiveKitAttributeKeys(t *testing.T) {
	t.Parallel()
	idp := kit.NewIdentityProvider(t)
	gp := inproc.Serve(t, env(t, idp, offlineLiveKitEnv))
	tests := []struct {
		name, key string
		status    int
	}{
		{"LiveKit's namespace", "lk.agent.state", 400},
		{"LiveKit's namespace in capitals", "LK.agent.state", 400},
		{"the SIP namespace", "sip.phoneNumber", 400},
		{"the SIP namespace, mixed case", "Sip.callID", 400},
		{"userId in another case", "UserId", 400},
		{"orgId in lower case", "orgid", 400},
		{"role in capitals", "ROLE", 400},
		{"a trailing space", "role ", 400},
		{"a space inside", "te am", 400},
		{"a tab", "team\t", 400},
		{"a no-break space", "\u00a0team", 400},
		{"a zero-width space", "role\u200b", 400},
		{"a right-to-left override", "team\u202e", 400},
		{"a byte order mark", "\ufeffteam", 400},
		{"a name of 65 bytes", strings.Repeat("k", 65), 400},
		{"a name of 64 bytes", strings.Repeat("k", 64), 201},
		{"an ordinary key", "team", 201},
		{"lk without its dot", "lkx", 201},
		{"the verified role as it is", "role", 201},
		{"the verified orgId as it is", "orgId", 201},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// One user per case: refusals spend the user's budget.
			bearer := idp.Token(t, "user_k"+strconv.Itoa(i), "org_k", "viewer", time.Hour)
			a := post(t, gp.URL+"/api/v1/livekit/token", bearer, `{"room_name":"r","participant_attributes":{`+kit.MustJSON(t, tt.key)+`:"forged"}}`)
			if a.Status != tt.status {
				t.Fatalf("answer %s, want %d", a, tt.status)
			}
			if tt.status != http.StatusCreated {
				if str(t, a, "code") != "invalid_participant" {
					t.Fatalf("answer %s, want invalid_participant", a)
				}
				return
			}
			attrs, _ := kit.PayloadOf(t, str(t, a, "participant_token"))["attributes"].(map[string]any)
			if attrs["orgId"] != "org_k" || attrs["role"] != "viewer" || attrs["userId"] != "user_k"+strconv.Itoa(i) {
				t.Fatalf("attributes %v, want the verified values", attrs)
			}
		})
	}
}

// TestLiveKitExpensiveBodiesCostTheirSender: a body of two thousand
// attributes, or one nested too deeply, is refused with 400 and spends
// the sender's LiveKit budget like a grant, so its next request meets
// 429; another user's budget is untouched.
func TestLiveKitExpensiveBodiesCostTheirSender(t *testing.T) {
	t.Parallel()
	idp := kit.NewIdentityProvider(t)
	gp := inproc.Serve(t, env(t, idp, offlineLiveKitEnv, map[string]string{
		"RATE_LIMIT_LIVEKIT_RATE": "1", "RATE_LIMIT_LIVEKIT_PERIOD": "1h", "RATE_LIMIT_LIVEKIT_BURST": "3",
	}))
	many := manyDistinctAttributes(2000)
	if len(many) > 16<<10 {
		t.Fatalf("the body is %d bytes, over the 16 KiB a LiveKit body may have", len(many))
	}
	deep := `{"room_name":"r","x":` + strings.Repeat("[", 8) + strings.Repeat("]", 8) + `}`
	sender := idp.Token(t, "user_x", "org_x", "member", time.Hour)
	steps := []struct {
		what, body string
		status     int
		code       string
	}{
		{"two thousand attributes", many, 400, "invalid_participant"},
		{"two thousand attributes again", many, 400, "invalid_participant"},
		{"nesting nine deep", deep, 400, "malformed_body"},
		{"a good request, the budget spent", `{"room_name":"r"}`, 429, "rate_limited"},
	}
	for _, s := range steps {
		a := post(t, gp.URL+"/api/v1/livekit/token", sender, s.body)
		if a.Status != s.status || str(t, a, "code") != s.code {
			t.Fatalf("%s: answer %s, want %d %s", s.what, a, s.status, s.code)
		}
	}
	if a := post(t, gp.URL+"/api/v1/livekit/token", idp.Token(t, "user_y", "org_x", "member", time.Hour), `{"room_name":"r"}`); a.Status != http.StatusCreated {
		t.Fatalf("another user: answer %s", a)
	}
}

// manyDistinctAttributes is a LiveKit body of n attributes with distinct
// names as short as they come and empty values: about two thousand fit in
// 16 KiB.
func manyDistinctAttributes(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	parts := make([]string, n)
	for i := range parts {
		name := string(alphabet[i%len(alphabet)])
		if i >= len(alphabet) {
			name = string(alphabet[i/len(alphabet)-1]) + name
		}
		parts[i] = `"` + name + `":""`
	}
	return `{"room_name":"r","participant_attributes":{` + strings.Join(parts, ",") + `}}`
}

// TestLiveKitRoomConfigurations: a room configuration is checked as
// LiveKit's own library checks it. What it refuses (credentials, stream
// keys, unknown fields, wrong types) is 400 invalid_room; a good one is
// granted, and the real server creates the room with it.
func TestLiveKitRoomConfigurations(t *testing.T) {
	t.Parallel()
	lk := livekitserver.Start(t, livekitserver.Config{})
	idp := kit.NewIdentityProvider(t)
	policyFile := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(policyFile, []byte("version: 1\nlivekit:\n- roles: [admin]\n  rights: [canPublish, canSubscribe, roomCreate]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	gp := inproc.Serve(t, env(t, idp, liveKitEnv(lk), map[string]string{"GATEPASS_POLICY_FILE": policyFile}))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	refused := []struct{ name, config string }{
		{"an S3 secret", `{"egress":{"room":{"file_outputs":[{"filepath":"r.mp4","s3":{"access_key":"AKIA","secret":"s3-secret","bucket":"b"}}]}}}`},
		{"GCP credentials", `{"egress":{"tracks":{"gcp":{"credentials":"{\"private_key\":\"k\"}","bucket":"b"}}}}`},
		{"an image output's S3 secret", `{"egress":{"room":{"image_outputs":[{"capture_interval":5,"s3":{"access_key":"AKIA","secret":"s3-secret","bucket":"b"}}]}}}`},
		{"a stream key", `{"egress":{"room":{"stream_outputs":[{"urls":["rtmp://live.example/app/stream-key"]}]}}}`},
		{"an unknown field", `{"max_participants":2,"maximum_participants":3}`},
		{"a wrong type", `{"max_participants":"two"}`},
		{"a negative count", `{"empty_timeout":-1}`},
	}
	for i, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			bearer := idp.Token(t, "user_c"+strconv.Itoa(i), "org_c", "admin", time.Hour)
			a := post(t, gp.URL+"/api/v1/livekit/token", bearer, `{"room_name":"r","room_config":`+tt.config+`}`)
			if a.Status != http.StatusBadRequest || str(t, a, "code") != "invalid_room" {
				t.Fatalf("answer %s, want 400 invalid_room", a)
			}
		})
	}
	if logs := gp.Logs(); strings.Contains(logs, "s3-secret") || strings.Contains(logs, "stream-key") {
		t.Fatal("a credential of a refused room configuration is in the logs")
	}

	t.Run("a configuration LiveKit accepts", func(t *testing.T) {
		bearer := idp.Token(t, "user_c_ok", "org_c", "admin", time.Hour)
		token := liveKitGrant(t, gp, bearer, `{"room_name":"configured","room_config":{"max_participants":2,"emptyTimeout":60,"egress":{"room":{"file_outputs":[{"filepath":"r.mp4","s3":{"bucket":"b"}}]}}}}`)
		joined, err := livekitserver.Join(ctx, lk.URL(), token)
		if err != nil {
			t.Fatalf("join: %v", err)
		}
		if r := joined.Response.GetRoom(); r.GetName() != "org_c/configured" || r.GetMaxParticipants() != 2 || r.GetEmptyTimeout() != 60 {
			t.Fatalf("room %s: max participants %d, empty timeout %d; want 2 and 60", r.GetName(), r.GetMaxParticipants(), r.GetEmptyTimeout())
		}
	})
}
