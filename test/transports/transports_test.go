// Package transports_test proves LiveKit and Centrifugo grants against the
// real servers: livekit-server and centrifugo, built at the versions the
// harnesses pin and started on loopback, with grants from gatepass served
// in process.
package transports_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatepass/gatepass/test/centrifugoserver"
	"github.com/gatepass/gatepass/test/inproc"
	"github.com/gatepass/gatepass/test/kit"
	"github.com/gatepass/gatepass/test/livekitserver"
)

// env is a production configuration against idp with a fresh office key,
// signing in Go, and no transport unless over adds one.
func env(t *testing.T, idp *kit.IdentityProvider, over ...map[string]string) map[string]string {
	_, keyPEM := kit.NewRSAKey(t, 2048)
	return kit.ProductionEnv(idp, keyPEM, append([]map[string]string{{"JWT_SIGNER": "go"}}, over...)...)
}

// post calls a grant endpoint with a bearer (none when empty) and a JSON
// body (none when empty).
func post(t *testing.T, url, bearer, body string) kit.Response {
	t.Helper()
	var opts []kit.Option
	if bearer != "" {
		opts = append(opts, kit.Bearer(bearer))
	}
	if body != "" {
		opts = append(opts, kit.JSONBody(body))
	}
	return kit.Post(t, url, opts...)
}

// str is a string member of r's JSON body, "" when absent or r has none.
func str(t *testing.T, r kit.Response, key string) string {
	t.Helper()
	if len(bytes.TrimSpace(r.Body)) == 0 {
		return ""
	}
	v, _ := r.JSON(t)[key].(string)
	return v
}

func TestLiveKitGrantsJoinTheRealServer(t *testing.T) {
	t.Parallel()
	lk := livekitserver.Start(t, livekitserver.Config{})
	idp := kit.NewIdentityProvider(t)
	gp := inproc.Serve(t, env(t, idp, map[string]string{
		"LIVEKIT_URL": lk.URL(), "LIVEKIT_API_KEY": lk.APIKey, "LIVEKIT_API_SECRET": lk.APISecret,
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	tests := []struct {
		name, role     string
		wantPublish    bool
		wantSubscribe  bool
		wantPubData    bool
		wantUpdateMeta bool
	}{
		{name: "admin", role: "admin", wantPublish: true, wantSubscribe: true, wantPubData: true},
		{name: "member", role: "member", wantPublish: true, wantSubscribe: true, wantPubData: true},
		{name: "viewer joins to watch only", role: "viewer", wantSubscribe: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user := "user_lk_" + tt.role
			a := post(t, gp.URL+"/api/v1/livekit/token", idp.Token(t, user, "org_lk", tt.role, time.Hour),
				`{"room_name":"standup","participant_identity":"`+user+`#laptop","participant_attributes":{"role":"owner","team":"core"}}`)
			if a.Status != http.StatusCreated || str(t, a, "server_url") != lk.URL() || a.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("answer %s", a)
			}
			joined, err := livekitserver.Join(ctx, lk.URL(), str(t, a, "participant_token"))
			if err != nil {
				t.Fatalf("join: %v", err)
			}
			if joined.Room != "org_lk/standup" || joined.Identity != user+"#laptop" {
				t.Fatalf("joined room %q as %q", joined.Room, joined.Identity)
			}
			perm := joined.Permission
			if perm == nil || perm.CanPublish != tt.wantPublish || perm.CanSubscribe != tt.wantSubscribe ||
				perm.CanPublishData != tt.wantPubData || perm.CanUpdateMetadata != tt.wantUpdateMeta {
				t.Fatalf("permission %+v", perm)
			}
		})
	}

	t.Run("a tampered grant is refused by the server", func(t *testing.T) {
		a := post(t, gp.URL+"/api/v1/livekit/token", idp.Token(t, "user_lk_v", "org_lk", "viewer", time.Hour), `{"room_name":"standup"}`)
		parts := strings.Split(str(t, a, "participant_token"), ".")
		if len(parts) != 3 {
			t.Fatalf("token %s", a)
		}
		// A flipped bit in the payload keeps the token well formed but
		// breaks its signature.
		forged := parts[0] + "." + kit.FlipBit(t, parts[1], 20) + "." + parts[2]
		if _, err := livekitserver.Join(ctx, lk.URL(), forged); !errors.Is(err, livekitserver.ErrRefused) {
			t.Fatalf("tampered grant: %v", err)
		}
	})

	t.Run("a grant signed with another secret is refused by the server", func(t *testing.T) {
		other := inproc.Serve(t, env(t, idp, map[string]string{
			"LIVEKIT_URL": lk.URL(), "LIVEKIT_API_KEY": lk.APIKey, "LIVEKIT_API_SECRET": strings.Repeat("x", 40),
		}))
		a := post(t, other.URL+"/api/v1/livekit/token", idp.Token(t, "user_lk_m", "org_lk", "member", time.Hour), `{"room_name":"standup"}`)
		if a.Status != http.StatusCreated {
			t.Fatalf("answer %s", a)
		}
		if _, err := livekitserver.Join(ctx, lk.URL(), str(t, a, "participant_token")); !errors.Is(err, livekitserver.ErrRefused) {
			t.Fatalf("grant with another secret: %v", err)
		}
	})
}

func TestCentrifugoGrantsConnectAndSubscribe(t *testing.T) {
	t.Parallel()
	idp := kit.NewIdentityProvider(t)
	addr := kit.FreeAddr(t)
	currentKey, keyPEM := kit.NewRSAKey(t, 2048)
	base := env(t, idp, map[string]string{
		"HTTP_ADDR": addr, "JWT_PRIVATE_KEY": keyPEM, "CENTRIFUGO_URL": "ws://127.0.0.1:8000/connection/websocket",
	})
	gp := inproc.Serve(t, base)
	cf := centrifugoserver.Start(t, centrifugoserver.Config{
		JWKSURL: gp.URL + "/.well-known/jwks.json", Issuer: kit.GrantIssuer, Audience: "centrifugo",
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	bearer := idp.Token(t, "user_cf_1", "org_cf", "member", time.Hour)

	connectAndSubscribe := func(t *testing.T, gatepassURL string) {
		t.Helper()
		conn := post(t, gatepassURL+"/api/v1/centrifugo/connection-token", bearer, "")
		if conn.Status != http.StatusOK || str(t, conn, "url") != base["CENTRIFUGO_URL"] || str(t, conn, "tokenType") != "Bearer" {
			t.Fatalf("connection token: %s", conn)
		}
		client, err := centrifugoserver.Connect(ctx, cf.WebSocketURL(), str(t, conn, "token"))
		if err != nil {
			t.Fatalf("connect: %v", err)
		}
		defer client.Close()
		sub := post(t, gatepassURL+"/api/v1/centrifugo/subscription-token", bearer, `{"channel":"org:org_cf"}`)
		if sub.Status != http.StatusOK || str(t, sub, "url") != "" {
			t.Fatalf("subscription token: %s", sub)
		}
		s, err := client.Subscribe(ctx, "org:org_cf", str(t, sub, "token"))
		if err != nil {
			t.Fatalf("subscribe: %v", err)
		}
		if err := cf.Publish(ctx, "org:org_cf", map[string]string{"hello": "org"}); err != nil {
			t.Fatal(err)
		}
		data, err := s.Next(ctx)
		if err != nil || !strings.Contains(string(data), "hello") {
			t.Fatalf("publication %s: %v", data, err)
		}
	}
	t.Run("connect and subscribe to the organization's channel", func(t *testing.T) { connectAndSubscribe(t, gp.URL) })

	t.Run("another organization's channel is refused by gatepass", func(t *testing.T) {
		a := post(t, gp.URL+"/api/v1/centrifugo/subscription-token", bearer, `{"channel":"org:org_other"}`)
		if a.Status != http.StatusForbidden || str(t, a, "code") != "channel_not_allowed" {
			t.Fatalf("answer %s", a)
		}
	})

	t.Run("an office-router grant is refused by Centrifugo", func(t *testing.T) {
		a := post(t, gp.URL+"/api/v1/cloudflare/request-access", bearer, "")
		if a.Status != http.StatusOK {
			t.Fatalf("office grant: %s", a)
		}
		if _, err := centrifugoserver.Connect(ctx, cf.WebSocketURL(), str(t, a, "token")); !errors.Is(err, centrifugoserver.ErrRefused) {
			t.Fatalf("office grant connected to Centrifugo: %v", err)
		}
	})

	t.Run("a key rotation needs no Centrifugo restart", func(t *testing.T) {
		nextKey, nextPEM := kit.NewRSAKey(t, 2048)
		// Publish next, then switch, each a restart of gatepass on the same
		// address (HTTP_ADDR); Centrifugo keeps running.
		steps := []map[string]string{
			{"JWT_VERIFICATION_KEYS": kit.PublicPEM(t, &nextKey.PublicKey)},
			{"JWT_PRIVATE_KEY": nextPEM, "JWT_VERIFICATION_KEYS": kit.PublicPEM(t, &currentKey.PublicKey)},
		}
		for i, step := range steps {
			gp.Kill()
			gp = inproc.Serve(t, kit.With(base, step))
			connectAndSubscribe(t, gp.URL)
			t.Logf("rotation step %d: new connections work", i+1)
		}
	})
}

// TestDisabledTransportsAnswerBeforeAuthentication: without LIVEKIT_* or
// CENTRIFUGO_* the routes answer 404 transport_disabled, bearer or not.
func TestDisabledTransportsAnswerBeforeAuthentication(t *testing.T) {
	t.Parallel()
	idp := kit.NewIdentityProvider(t)
	gp := inproc.Serve(t, env(t, idp))
	for _, path := range []string{"/api/v1/livekit/token", "/api/v1/centrifugo/connection-token", "/api/v1/centrifugo/subscription-token"} {
		for _, bearer := range []string{"", "not-a-token"} {
			a := post(t, gp.URL+path, bearer, "")
			if a.Status != http.StatusNotFound || str(t, a, "code") != "transport_disabled" {
				t.Errorf("%s (bearer %q): %s", path, bearer, a)
			}
		}
	}
}

// TestTransportRefusals pins every refusal of the transports' endpoints.
func TestTransportRefusals(t *testing.T) {
	t.Parallel()
	idp := kit.NewIdentityProvider(t)
	policyFile := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(policyFile, []byte("version: 1\nlivekit:\n- roles: [admin]\n  rights: [canPublish, canSubscribe, roomCreate]\n- roles: ['*']\n  rights: [canSubscribe]\ncentrifugo:\n  connect:\n  - roles: ['*']\n  subscribe:\n  - roles: ['*']\n    channels: ['org:{orgId}']\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	gp := inproc.Serve(t, env(t, idp, map[string]string{
		"LIVEKIT_URL": "ws://127.0.0.1:7880", "LIVEKIT_API_KEY": "key", "LIVEKIT_API_SECRET": strings.Repeat("k", 40),
		"CENTRIFUGO_URL": "ws://127.0.0.1:8000/connection/websocket", "GATEPASS_POLICY_FILE": policyFile,
	}))
	member := idp.Token(t, "user_r", "org_r", "member", time.Hour)
	admin := idp.Token(t, "user_a", "org_r", "admin", time.Hour)
	loner := idp.Token(t, "user_l", "", "", time.Hour)
	dotted := idp.Token(t, "user_d", "org.r", "member", time.Hour)
	lk, sub, conn := gp.URL+"/api/v1/livekit/token", gp.URL+"/api/v1/centrifugo/subscription-token", gp.URL+"/api/v1/centrifugo/connection-token"
	tests := []struct {
		name, url, bearer, body string
		status                  int
		code                    string
	}{
		{"room missing", lk, member, `{}`, 400, "invalid_room"},
		{"room with a slash", lk, member, `{"room_name":"a/b"}`, 400, "invalid_room"},
		{"room too long", lk, member, `{"room_name":"` + strings.Repeat("r", 65) + `"}`, 400, "invalid_room"},
		{"someone else's identity", lk, member, `{"room_name":"r","participant_identity":"user_x"}`, 403, "identity_mismatch"},
		{"a device label too long", lk, member, `{"room_name":"r","participant_identity":"user_r#` + strings.Repeat("d", 33) + `"}`, 403, "identity_mismatch"},
		{"room config without roomCreate", lk, member, `{"room_name":"r","room_config":{"max_participants":2}}`, 403, "forbidden_field"},
		{"room config with roomCreate", lk, admin, `{"room_name":"r","room_config":{"max_participants":2}}`, 201, ""},
		{"metadata too large", lk, member, `{"room_name":"r","participant_metadata":"` + strings.Repeat("m", 1025) + `"}`, 400, "invalid_participant"},
		{"too many attributes", lk, member, `{"room_name":"r","participant_attributes":{` + manyAttributes(17) + `}}`, 400, "invalid_participant"},
		{"no organization (livekit)", lk, loner, `{"room_name":"r"}`, 403, "no_organization"},
		{"an organization id that cannot name a room", lk, dotted, `{"room_name":"r"}`, 403, "unsupported_identifier"},
		{"no organization (centrifugo)", conn, loner, ``, 403, "no_organization"},
		{"channel missing", sub, member, `{}`, 400, "invalid_channel"},
		{"channel with white space", sub, member, `{"channel":"org:org_r x"}`, 400, "invalid_channel"},
		{"channel too long", sub, member, `{"channel":"` + strings.Repeat("c", 256) + `"}`, 400, "invalid_channel"},
		{"a sub-channel the file does not allow", sub, member, `{"channel":"org:org_r.chat"}`, 403, "channel_not_allowed"},
		{"no bearer", sub, "", `{"channel":"org:org_r"}`, 401, "missing_credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := post(t, tt.url, tt.bearer, tt.body)
			if a.Status != tt.status || str(t, a, "code") != tt.code {
				t.Fatalf("answer %s, want %d %s", a, tt.status, tt.code)
			}
		})
	}
	if logs := gp.Logs(); strings.Contains(logs, "eyJ") {
		t.Fatal("a token is in the logs")
	}
	if !strings.Contains(gp.Logs(), `"grant_kind":"livekit"`) || !strings.Contains(gp.Logs(), `"target":"org_r/r"`) {
		t.Fatalf("the issued grant's log line names no kind or room:\n%s", gp.Logs())
	}
}

func manyAttributes(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = `"k` + string(rune('a'+i)) + `":"v"`
	}
	return strings.Join(parts, ",")
}
