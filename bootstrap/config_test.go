package bootstrap_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatepass/gatepass/bootstrap"
)

func keyPEM(t *testing.T) string {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func production(t *testing.T) map[string]string {
	return map[string]string{
		"JWT_ISSUER": "gatepass", "JWT_AUDIENCE": "office-router", "JWT_PRIVATE_KEY": keyPEM(t),
		"WEBSOCKET_BASE_URL": "wss://office.example/ws", "SUPABASE_JWT_SECRET": strings.Repeat("s", 32),
		"AUTH_JWKS_URL": "https://api.workos.com/sso/jwks/client_1", "AUTH_ISSUER": "https://api.workos.com",
	}
}

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(map[string]string)
		wantErr []string
		check   func(*testing.T, bootstrap.Config)
	}{
		{name: "production defaults", check: func(t *testing.T, c bootstrap.Config) {
			if c.AppEnv != "production" || c.HTTP.Addr != ":8080" || c.Office.TTL.Seconds() != 60 ||
				c.Realtime.TTL.Seconds() != 3600 || c.Realtime.Issuer != "qubital-backend" ||
				len(c.Auth.Algorithms) != 1 || c.Auth.Algorithms[0] != "RS256" || c.Auth.Leeway.Seconds() != 30 ||
				c.Auth.OrgClaim != "org_id" || c.Auth.RoleClaim != "role" {
				t.Fatalf("defaults %+v", c)
			}
		}},
		{name: "development needs nothing", edit: func(m map[string]string) {
			clear(m)
			m["APP_ENV"] = "development"
		}, check: func(t *testing.T, c bootstrap.Config) {
			if !c.LocalIdentity() || c.Office.Issuer == "" || c.WebSocketBaseURL == "" {
				t.Fatalf("development defaults %+v", c)
			}
		}},
		{name: "development with a real identity provider is not local", edit: func(m map[string]string) { m["APP_ENV"] = "development" },
			check: func(t *testing.T, c bootstrap.Config) {
				if c.LocalIdentity() {
					t.Fatal("AUTH_JWKS_URL given but local identity on")
				}
			}},
		{name: "unparsable duration names the variable, not the value", edit: func(m map[string]string) { m["JWT_TTL"] = "sixty-secret" },
			wantErr: []string{"JWT_TTL: is not a duration"}},
		{name: "unparsable body limit", edit: func(m map[string]string) { m["HTTP_MAX_BODY_BYTES"] = "lots" },
			wantErr: []string{"HTTP_MAX_BODY_BYTES: is not a whole number"}},
		{name: "key and key file", edit: func(m map[string]string) { m["JWT_PRIVATE_KEY_FILE"] = writeFile(t, m["JWT_PRIVATE_KEY"]) },
			wantErr: []string{"JWT_PRIVATE_KEY: and JWT_PRIVATE_KEY_FILE are both set"}},
		{name: "EdDSA in a PKCS#11 token", edit: func(m map[string]string) {
			delete(m, "JWT_PRIVATE_KEY")
			m["JWT_SIGNER"], m["JWT_ALGORITHM"] = "pkcs11", "EdDSA"
		}, wantErr: []string{"JWT_ALGORITHM: EdDSA is not offered with JWT_SIGNER=pkcs11", "PKCS11_MODULE: is required"}},
		{name: "unknown signer", edit: func(m map[string]string) { m["JWT_SIGNER"] = "hsm" }, wantErr: []string{"JWT_SIGNER"}},
		{name: "closed or open only", edit: func(m map[string]string) { m["RATE_LIMIT_FAILURE_MODE"] = "ajar" }, wantErr: []string{"RATE_LIMIT_FAILURE_MODE"}},
		{name: "bad proxy and origin", edit: func(m map[string]string) {
			m["TRUSTED_PROXIES"], m["CORS_ALLOWED_ORIGINS"] = "10.0.0.0/8,not-a-net", "https://app.example.com,*"
		}, wantErr: []string{"TRUSTED_PROXIES: \"not-a-net\"", "CORS_ALLOWED_ORIGINS: \"*\""}},
		{name: "zero budget", edit: func(m map[string]string) { m["RATE_LIMIT_OFFICE_BURST"] = "0" }, wantErr: []string{"RATE_LIMIT_OFFICE"}},
		{name: "admin on the public port", edit: func(m map[string]string) { m["ADMIN_ADDR"] = ":8080" }, wantErr: []string{"ADMIN_ADDR"}},
		{name: "redis URL", edit: func(m map[string]string) { m["REDIS_URL"] = "http://user:hunter2@redis:6379" }, wantErr: []string{"REDIS_URL"}},
		{name: "unparsable bool names the variable", edit: func(m map[string]string) { m["RATE_LIMIT_ENABLED"] = "maybe-secret" },
			wantErr: []string{"RATE_LIMIT_ENABLED: is not true or false"}},
		{name: "bad log level and body limit", edit: func(m map[string]string) { m["LOG_LEVEL"], m["HTTP_MAX_BODY_BYTES"] = "loud", "0" },
			wantErr: []string{"LOG_LEVEL", "HTTP_MAX_BODY_BYTES"}},
		{name: "ttl out of range", edit: func(m map[string]string) { m["JWT_TTL"] = "2h" }, wantErr: []string{"JWT_TTL"}},
		{name: "leeway out of range", edit: func(m map[string]string) { m["AUTH_LEEWAY"] = "1h" }, wantErr: []string{"AUTH_LEEWAY"}},
		{name: "empty org claim", edit: func(m map[string]string) { m["AUTH_ORG_CLAIM"] = "" }, check: func(t *testing.T, c bootstrap.Config) {
			if c.Auth.OrgClaim != "org_id" {
				t.Fatalf("org claim %q", c.Auth.OrgClaim)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := production(t)
			if tt.edit != nil {
				tt.edit(env)
			}
			cfg, err := bootstrap.LoadConfig(env)
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatal("no error")
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
				if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "hunter2") {
					t.Errorf("error quotes the value: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil {
				tt.check(t, cfg)
			}
		})
	}
}

func TestConfigLogValueMasksSecrets(t *testing.T) {
	env := production(t)
	cfg, err := bootstrap.LoadConfig(env)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	slog.New(slog.NewJSONHandler(&b, nil)).Info("configuration", "config", cfg)
	out := b.String()
	if strings.Contains(out, "PRIVATE KEY") || strings.Contains(out, env["SUPABASE_JWT_SECRET"]) {
		t.Fatalf("secrets logged: %s", out)
	}
	if !strings.Contains(out, `"jwt_private_key":"(set, masked)"`) || !strings.Contains(out, `"jwt_ttl":"1m0s"`) {
		t.Fatalf("log %s", out)
	}
	if bootstrap.Secret("x").String() != "(set, masked)" || bootstrap.Secret("").String() != "(unset)" {
		t.Fatal("Secret.String")
	}
}
