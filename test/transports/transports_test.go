// Package transports_test proves LiveKit and Centrifugo grants against the
// real servers: livekit-server and centrifugo, built at the versions the
// harnesses pin and started on loopback, with grants from the real
// gatepass binary.
package transports_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatepass/gatepass/test/centrifugoserver"
	"github.com/gatepass/gatepass/test/kit"
	"github.com/gatepass/gatepass/test/livekitserver"
)

const officeIssuer = "https://gatepass.test.example"

func privatePEM(t *testing.T) (string, *rsa.PrivateKey) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), k
}

func publicPEM(t *testing.T, k *rsa.PrivateKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// baseEnv is a production configuration against idp, with no transport.
func baseEnv(t *testing.T, idp *kit.IdentityProvider) map[string]string {
	key, _ := privatePEM(t)
	env := map[string]string{
		"APP_ENV": "production", "JWT_ISSUER": officeIssuer, "JWT_AUDIENCE": "office-router", "JWT_PRIVATE_KEY": key,
		"WEBSOCKET_BASE_URL": "wss://office.test.example/ws", "SUPABASE_JWT_SECRET": strings.Repeat("s", 40),
		"JWT_SIGNER": "go", "LOG_LEVEL": "info",
	}
	for k, v := range idp.Env() {
		env[k] = v
	}
	return env
}

func with(env map[string]string, more map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range env {
		out[k] = v
	}
	for k, v := range more {
		out[k] = v
	}
	return out
}

type answer struct {
	status int
	body   map[string]any
	header http.Header
}

func post(t *testing.T, url, bearer, body string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	a := answer{status: res.StatusCode, header: res.Header}
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &a.body); err != nil {
			t.Fatalf("%s: not JSON: %s", url, raw)
		}
	}
	return a
}

func (a answer) str(k string) string { s, _ := a.body[k].(string); return s }

func TestLiveKitGrantsJoinTheRealServer(t *testing.T) {
	lk := livekitserver.Start(t, livekitserver.Config{})
	idp := kit.NewIdentityProvider(t)
	gp := kit.Start(t, with(baseEnv(t, idp), map[string]string{
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
			if a.status != http.StatusCreated || a.str("server_url") != lk.URL() || a.header.Get("Cache-Control") != "no-store" {
				t.Fatalf("status %d body %v", a.status, a.body)
			}
			joined, err := livekitserver.Join(ctx, lk.URL(), a.str("participant_token"))
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
		parts := strings.Split(a.str("participant_token"), ".")
		if len(parts) != 3 {
			t.Fatalf("token %v", a.body)
		}
		payload := strings.Replace(parts[1], parts[1][:4], "eyJh", 1)
		forged := parts[0] + "." + payload + "x." + parts[2]
		if _, err := livekitserver.Join(ctx, lk.URL(), forged); !errors.Is(err, livekitserver.ErrRefused) {
			t.Fatalf("tampered grant: %v", err)
		}
	})

	t.Run("a grant signed with another secret is refused by the server", func(t *testing.T) {
		other := kit.Start(t, with(baseEnv(t, idp), map[string]string{
			"LIVEKIT_URL": lk.URL(), "LIVEKIT_API_KEY": lk.APIKey, "LIVEKIT_API_SECRET": strings.Repeat("x", 40),
		}))
		a := post(t, other.URL+"/api/v1/livekit/token", idp.Token(t, "user_lk_m", "org_lk", "member", time.Hour), `{"room_name":"standup"}`)
		if a.status != http.StatusCreated {
			t.Fatalf("status %d %v", a.status, a.body)
		}
		if _, err := livekitserver.Join(ctx, lk.URL(), a.str("participant_token")); !errors.Is(err, livekitserver.ErrRefused) {
			t.Fatalf("grant with another secret: %v", err)
		}
	})
}

func TestCentrifugoGrantsConnectAndSubscribe(t *testing.T) {
	idp := kit.NewIdentityProvider(t)
	addr := kit.FreeAddr(t)
	keyPEM, _ := privatePEM(t)
	env := with(baseEnv(t, idp), map[string]string{
		"HTTP_ADDR": addr, "JWT_PRIVATE_KEY": keyPEM, "CENTRIFUGO_URL": "ws://127.0.0.1:8000/connection/websocket",
	})
	gp := kit.Start(t, env)
	cf := centrifugoserver.Start(t, centrifugoserver.Config{
		JWKSURL: gp.URL + "/.well-known/jwks.json", Issuer: officeIssuer, Audience: "centrifugo",
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	bearer := idp.Token(t, "user_cf_1", "org_cf", "member", time.Hour)

	connectAndSubscribe := func(t *testing.T, base string) {
		t.Helper()
		conn := post(t, base+"/api/v1/centrifugo/connection-token", bearer, "")
		if conn.status != http.StatusOK || conn.str("url") != env["CENTRIFUGO_URL"] || conn.str("tokenType") != "Bearer" {
			t.Fatalf("connection token: %d %v", conn.status, conn.body)
		}
		client, err := centrifugoserver.Connect(ctx, cf.WebSocketURL(), conn.str("token"))
		if err != nil {
			t.Fatalf("connect: %v", err)
		}
		defer client.Close()
		sub := post(t, base+"/api/v1/centrifugo/subscription-token", bearer, `{"channel":"org:org_cf"}`)
		if sub.status != http.StatusOK || sub.str("url") != "" {
			t.Fatalf("subscription token: %d %v", sub.status, sub.body)
		}
		s, err := client.Subscribe(ctx, "org:org_cf", sub.str("token"))
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
		if a.status != http.StatusForbidden || a.str("code") != "channel_not_allowed" {
			t.Fatalf("status %d %v", a.status, a.body)
		}
	})

	t.Run("an office-router grant is refused by Centrifugo", func(t *testing.T) {
		a := post(t, gp.URL+"/api/v1/cloudflare/request-access", bearer, "")
		if a.status != http.StatusOK {
			t.Fatalf("office grant: %d %v", a.status, a.body)
		}
		if _, err := centrifugoserver.Connect(ctx, cf.WebSocketURL(), a.str("token")); !errors.Is(err, centrifugoserver.ErrRefused) {
			t.Fatalf("office grant connected to Centrifugo: %v", err)
		}
	})

	t.Run("a key rotation needs no Centrifugo restart", func(t *testing.T) {
		nextPEM, nextKey := privatePEM(t)
		_, currentKey := decodeKey(t, keyPEM)
		// Publish next, then switch, each a restart of gatepass on the same
		// address; Centrifugo keeps running.
		steps := []map[string]string{
			{"JWT_VERIFICATION_KEYS": publicPEM(t, nextKey)},
			{"JWT_PRIVATE_KEY": nextPEM, "JWT_VERIFICATION_KEYS": publicPEM(t, currentKey)},
		}
		for i, step := range steps {
			gp.Kill()
			gp = kit.Start(t, with(env, step))
			connectAndSubscribe(t, gp.URL)
			t.Logf("rotation step %d: new connections work", i+1)
		}
	})
}

func decodeKey(t *testing.T, p string) (string, *rsa.PrivateKey) {
	t.Helper()
	block, _ := pem.Decode([]byte(p))
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return p, k.(*rsa.PrivateKey)
}

// TestDisabledTransportsAnswerBeforeAuthentication: without LIVEKIT_* or
// CENTRIFUGO_* the routes answer 404 transport_disabled, bearer or not.
func TestDisabledTransportsAnswerBeforeAuthentication(t *testing.T) {
	idp := kit.NewIdentityProvider(t)
	gp := kit.Start(t, baseEnv(t, idp))
	for _, path := range []string{"/api/v1/livekit/token", "/api/v1/centrifugo/connection-token", "/api/v1/centrifugo/subscription-token"} {
		for _, bearer := range []string{"", "not-a-token"} {
			a := post(t, gp.URL+path, bearer, "")
			if a.status != http.StatusNotFound || a.str("code") != "transport_disabled" {
				t.Errorf("%s (bearer %q): %d %v", path, bearer, a.status, a.body)
			}
		}
	}
}

// TestTransportRefusals pins every refusal of the transports' endpoints.
func TestTransportRefusals(t *testing.T) {
	idp := kit.NewIdentityProvider(t)
	logs := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(logs, []byte("version: 1\nlivekit:\n- roles: [admin]\n  rights: [canPublish, canSubscribe, roomCreate]\n- roles: ['*']\n  rights: [canSubscribe]\ncentrifugo:\n  connect:\n  - roles: ['*']\n  subscribe:\n  - roles: ['*']\n    channels: ['org:{orgId}']\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	gp := kit.Start(t, with(baseEnv(t, idp), map[string]string{
		"LIVEKIT_URL": "ws://127.0.0.1:7880", "LIVEKIT_API_KEY": "key", "LIVEKIT_API_SECRET": strings.Repeat("k", 40),
		"CENTRIFUGO_URL": "ws://127.0.0.1:8000/connection/websocket", "GATEPASS_POLICY_FILE": logs,
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
			if a.status != tt.status || a.str("code") != tt.code {
				t.Fatalf("status %d %v, want %d %s", a.status, a.body, tt.status, tt.code)
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
