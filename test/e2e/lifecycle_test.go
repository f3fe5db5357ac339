package e2e_test

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatepass/gatepass/test/inproc"
	"github.com/gatepass/gatepass/test/kit"
)

func TestProductionStartFailsFastNamingEverySetting(t *testing.T) {
	t.Parallel()
	idp := kit.NewIdentityProvider(t)
	_, goodPEM := kit.NewRSAKey(t, 2048)
	_, weakPEM := kit.NewRSAKey(t, 1024)
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{name: "nothing set", env: map[string]string{}, want: []string{
			"JWT_ISSUER", "JWT_AUDIENCE", "JWT_PRIVATE_KEY", "WEBSOCKET_BASE_URL", "SUPABASE_JWT_SECRET", "AUTH_JWKS_URL", "AUTH_ISSUER"}},
		{name: "weak key, short secret, http websocket", env: kit.ProductionEnv(idp, weakPEM, debug, map[string]string{
			"SUPABASE_JWT_SECRET": "short", "WEBSOCKET_BASE_URL": "https://office.example/ws"}),
			want: []string{"JWT_PRIVATE_KEY: load signing key: RSA key is too short", "SUPABASE_JWT_SECRET: must be at least 32 bytes", "WEBSOCKET_BASE_URL: must be a ws:// or wss://"}},
		{name: "unparsable PEM", env: kit.ProductionEnv(idp, goodPEM, debug, map[string]string{"JWT_PRIVATE_KEY": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"}),
			want: []string{"JWT_PRIVATE_KEY: load signing key: key cannot be parsed"}},
		{name: "two signing keys", env: kit.ProductionEnv(idp, goodPEM, debug, map[string]string{"JWT_PRIVATE_KEY": goodPEM + goodPEM}),
			want: []string{"JWT_PRIVATE_KEY: must hold exactly one key"}},
		{name: "plain http JWKS off loopback", env: kit.ProductionEnv(idp, goodPEM, debug, map[string]string{"AUTH_JWKS_URL": "http://auth.example.com/jwks"}),
			want: []string{"AUTH_JWKS_URL: JWKS URL must be https://"}},
		{name: "HMAC and none in the allow-list", env: kit.ProductionEnv(idp, goodPEM, debug, map[string]string{"AUTH_ALGORITHMS": "RS256,HS256"}),
			want: []string{"AUTH_ALGORITHMS"}},
		{name: "own issuer as identity issuer", env: kit.ProductionEnv(idp, goodPEM, debug, map[string]string{"AUTH_ISSUER": kit.GrantIssuer}),
			want: []string{"AUTH_ISSUER: must differ"}},
		{name: "unknown environment", env: kit.ProductionEnv(idp, goodPEM, debug, map[string]string{"APP_ENV": "staging"}),
			want: []string{"APP_ENV"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := kit.With(tt.env, map[string]string{"HTTP_ADDR": kit.FreeAddr(t)})
			_, stderr, err := kit.Run(t, env, "serve")
			if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 1 {
				t.Fatalf("serve exited with %v, want exit 1; stderr: %s", err, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not name %q:\n%s", w, stderr)
				}
			}
			if strings.Contains(stderr, "BEGIN") || strings.Contains(stderr, "short\"") {
				t.Errorf("the error quotes a secret:\n%s", stderr)
			}
		})
	}
}

func TestKeysFromFilesAndEscapedNewlines(t *testing.T) {
	t.Parallel()
	idp := kit.NewIdentityProvider(t)
	key, keyPEM := kit.NewRSAKey(t, 2048)
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "supabase-secret")
	os.WriteFile(secretFile, []byte(kit.SupabaseSecret+"\n"), 0o600)
	// PKCS#1 with literal \n, as a .env file carries it.
	pkcs1 := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	escaped := strings.ReplaceAll(pkcs1, "\n", `\n`)
	env := kit.ProductionEnv(idp, escaped, debug, map[string]string{"SUPABASE_JWT_SECRET": "", "SUPABASE_JWT_SECRET_FILE": secretFile})
	s := inproc.Serve(t, env)
	bearer := idp.Token(t, "user_1", "org_1", "member", time.Minute)
	r := kit.Post(t, s.URL+kit.OfficePath, kit.Bearer(bearer))
	if _, err := verifyRS256(r.Token(t), &key.PublicKey); err != nil {
		t.Fatalf("office token: %v", err)
	}
	r = kit.Post(t, s.URL+kit.RealtimePath, kit.Bearer(bearer))
	if _, err := verifyHS256(r.Token(t), []byte(kit.SupabaseSecret)); err != nil {
		t.Fatalf("realtime token with the secret from a file: %v", err)
	}
	_ = keyPEM
}

func TestLogsNeverCarryTokensOrSecrets(t *testing.T) {
	t.Parallel()
	s := startService(t)
	bearer := s.IDP.Token(t, "user_1", "org_1", "member", time.Minute)
	kit.Post(t, s.URL+kit.OfficePath, kit.Bearer(bearer))
	kit.Post(t, s.URL+kit.RealtimePath, kit.Bearer(bearer))
	kit.Post(t, s.URL+kit.OfficePath, kit.Bearer("garbage."+bearer))
	var logs string
	if !kit.Eventually(10*time.Second, 20*time.Millisecond, func() bool {
		logs = s.Logs()
		return len(s.RequestLogs()) == 3 && strings.Contains(logs, `"user_id":"user_1"`)
	}) || !strings.Contains(logs, `"route":"/api/v1/cloudflare/request-access"`) {
		t.Fatalf("request logs missing:\n%s", logs)
	}
	for _, secret := range []string{"eyJ", kit.SupabaseSecret, "PRIVATE KEY", "Bearer "} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %q", secret)
		}
	}
}

func TestSIGTERMExitsCleanly(t *testing.T) {
	t.Parallel()
	s := kit.StartService(t, debug)
	if err := s.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := s.Wait(15 * time.Second); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, s.Logs())
	}
	if !strings.Contains(s.Logs(), `"msg":"stopped"`) {
		t.Errorf("no orderly stop in logs:\n%s", s.Logs())
	}
}

// TestDevelopmentQuickstart is what a newcomer does after `make run`: paste
// the printed curl and get a token that verifies with `gatepass keys public`.
func TestDevelopmentQuickstart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{"APP_ENV": "development", "DEV_DIR": filepath.Join(dir, "dev")}
	// Before the server made its folder, dev-token says so rather than
	// minting with a key the server would not know.
	if _, stderr, err := kit.Run(t, env, "dev-token"); err == nil || !strings.Contains(stderr, "start the server first") {
		t.Fatalf("dev-token before the server: %v %s", err, stderr)
	}
	if _, stderr, err := kit.Run(t, map[string]string{}, "dev-token"); err == nil || !strings.Contains(stderr, "APP_ENV=development") {
		t.Fatalf("dev-token without APP_ENV: %v %s", err, stderr)
	}
	s := kit.Start(t, env)
	curls := regexp.MustCompile(`curl -sS -X POST (\S+) -H 'Authorization: Bearer (\S+)'`)
	var found [][]string
	kit.Eventually(5*time.Second, 20*time.Millisecond, func() bool {
		found = curls.FindAllStringSubmatch(s.Stdout.String(), -1)
		return len(found) == 6
	})
	// One curl per grant endpoint: office, realtime, LiveKit, Centrifugo's
	// two and NATS's; the first two need no body and are called here.
	if len(found) != 6 {
		t.Fatalf("want six curl lines, stdout:\n%s", s.Stdout.String())
	}
	found = found[:2]
	pubPEM, stderr, err := kit.Run(t, env, "keys", "public")
	if err != nil {
		t.Fatalf("keys public: %s", kit.ExitError(err, stderr))
	}
	block, _ := pem.Decode([]byte(pubPEM))
	if block == nil || block.Type != "PUBLIC KEY" {
		t.Fatalf("keys public printed %q", pubPEM)
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range found {
		url, bearer := m[1], m[2]
		r := kit.Post(t, url, kit.Bearer(bearer))
		if r.Status != http.StatusOK {
			t.Fatalf("%s: %d %s", url, r.Status, r.Body)
		}
		if strings.HasSuffix(url, kit.OfficePath) {
			got, err := verifyRS256(r.Token(t), pub.(*rsa.PublicKey))
			if err != nil {
				t.Fatalf("development grant does not verify with keys public: %v", err)
			}
			if got.Claims["orgId"] != "org_dev_01" {
				t.Errorf("claims %v", got.Claims)
			}
		}
	}
	// dev-token mints more identities that the server accepts.
	other, stderr, err := kit.Run(t, env, "dev-token", "--user", "user_x", "--org", "org_x", "--role", "viewer")
	if err != nil {
		t.Fatalf("dev-token: %s", kit.ExitError(err, stderr))
	}
	r := kit.Post(t, s.URL+kit.RealtimePath, kit.Bearer(strings.TrimSpace(other)))
	if r.Status != http.StatusOK {
		t.Fatalf("dev-token identity: %d %s", r.Status, r.Body)
	}
	// Key material is kept across restarts.
	s.Kill()
	before, _ := os.ReadFile(filepath.Join(dir, "dev", "office-key.pem"))
	kit.Start(t, env)
	after, _ := os.ReadFile(filepath.Join(dir, "dev", "office-key.pem"))
	if len(before) == 0 || string(before) != string(after) {
		t.Error("development key changed across restarts")
	}
	// Development tokens never work in production, and dev-token refuses.
	if _, _, err := kit.Run(t, map[string]string{"APP_ENV": "production", "DEV_DIR": filepath.Join(dir, "dev")}, "dev-token"); err == nil {
		t.Error("dev-token ran in production")
	}
}

// TestSIGTERMDrainsBeforeClosing: during HTTP_DRAIN_DELAY the instance
// still answers, says it is not ready, and closes keep-alive connections
// after each response, so a load balancer and its clients move on. The
// drain is long enough (5s) for its requests to fall inside it on a busy
// machine.
func TestSIGTERMDrainsBeforeClosing(t *testing.T) {
	t.Parallel()
	idp := kit.NewIdentityProvider(t)
	_, keyPEM := kit.NewRSAKey(t, 2048)
	s := kit.Start(t, kit.ProductionEnv(idp, keyPEM, debug, map[string]string{"HTTP_DRAIN_DELAY": "5s", "HTTP_SHUTDOWN_TIMEOUT": "10s"}))
	if code, _ := kit.Ready(t, s.URL); code != 200 {
		t.Fatalf("readyz before SIGTERM: %d", code)
	}
	if err := s.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var code int
	var body kit.Readiness
	kit.Eventually(4*time.Second, 20*time.Millisecond, func() bool {
		code, body = kit.Ready(t, s.AdminURL)
		return code == 503
	})
	if _, draining := body.Checks["lifecycle"]; code != 503 || !draining {
		t.Fatalf("readyz while draining: %d %v", code, body)
	}
	bearer := idp.Token(t, "user_1", "org_1", "member", time.Minute)
	req, _ := http.NewRequest(http.MethodPost, s.URL+kit.RealtimePath, nil)
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// resp.Close reports the server's "Connection: close".
	if resp.StatusCode != 200 || !resp.Close {
		t.Fatalf("while draining: %d, close %v", resp.StatusCode, resp.Close)
	}
	if err := s.Wait(15 * time.Second); err != nil {
		t.Fatalf("exit: %v", err)
	}
}
