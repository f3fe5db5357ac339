package bootstrap_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"log/slog"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatepass/gatepass/adapters/devidentity"
	"github.com/gatepass/gatepass/application"
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
		"AUTH_AUDIENCE_REQUIRED": "false",
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
			if c.Env != bootstrap.EnvProduction || c.HTTP.Addr != ":8080" || c.Office.TTL.Seconds() != 60 ||
				c.Realtime.TTL.Seconds() != 3600 || c.Realtime.Issuer != "qubital-backend" ||
				len(c.Auth.Algorithms) != 1 || c.Auth.Algorithms[0] != "RS256" || c.Auth.Leeway.Seconds() != 30 ||
				c.Auth.OrgClaim != "org_id" || c.Auth.RoleClaim != "role" {
				t.Fatalf("defaults %+v", c)
			}
		}},
		{name: "development needs nothing", edit: func(m map[string]string) {
			clear(m)
			m["APP_ENV"] = "development"
			m["DEV_DIR"] = t.TempDir()
		}, check: func(t *testing.T, c bootstrap.Config) {
			if !c.LocalIdentity() || c.Office.Issuer == "" || c.Office.URL == "" || c.Office.Key == nil || len(c.Realtime.Secret) < 32 {
				t.Fatalf("development defaults %+v", c)
			}
			// The development folder's secrets are drawn apart: each has one
			// purpose, as a production configuration's must.
			if c.LiveKit() == nil || string(c.LiveKit().APISecret) == string(c.Realtime.Secret) {
				t.Fatal("development LiveKit is off or signs with the Supabase secret")
			}
		}},
		{name: "development with a real identity provider is not local", edit: func(m map[string]string) { m["APP_ENV"], m["DEV_DIR"] = "development", t.TempDir() },
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
		{name: "hardening settings out of range", edit: func(m map[string]string) {
			m["RATE_LIMIT_IPV6_PREFIX"], m["RATE_LIMIT_STORE_TIMEOUT"] = "16", "1ms"
			m["GRANT_EXPIRY_BOUND"], m["HTTP_MAX_CONNECTIONS"] = "session", "-1"
			m["TRUSTED_PROXIES"] = "::ffff:0:0/64"
		}, wantErr: []string{"RATE_LIMIT_IPV6_PREFIX", "RATE_LIMIT_STORE_TIMEOUT", "GRANT_EXPIRY_BOUND", "HTTP_MAX_CONNECTIONS", "TRUSTED_PROXIES"}},
		{name: "hardening settings", edit: func(m map[string]string) {
			m["RATE_LIMIT_IPV6_PREFIX"], m["RATE_LIMIT_STORE_TIMEOUT"] = "56", "250ms"
			m["GRANT_EXPIRY_BOUND"], m["HTTP_MAX_CONNECTIONS"] = "identity", "500"
			m["TRUSTED_PROXIES"] = "10.0.0.0/8, 192.0.2.7,::ffff:172.16.0.0/108"
		}, check: func(t *testing.T, c bootstrap.Config) {
			want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"), netip.MustParsePrefix("172.16.0.0/12")}
			if c.RateLimit.IPv6Prefix != 56 || c.RateLimit.StoreTimeout != 250*time.Millisecond || c.GrantExpiryBound != application.ExpiryBoundIdentity ||
				c.HTTP.MaxConnections != 500 || !slices.Equal(c.TrustedProxies, want) {
				t.Fatalf("config %+v %v %v", c.RateLimit, c.GrantExpiryBound, c.TrustedProxies)
			}
		}},
		{name: "zero budget", edit: func(m map[string]string) { m["RATE_LIMIT_OFFICE_BURST"] = "0" }, wantErr: []string{"RATE_LIMIT_OFFICE"}},
		{name: "admin on the public port", edit: func(m map[string]string) { m["ADMIN_ADDR"] = ":8080" }, wantErr: []string{"ADMIN_ADDR"}},
		{name: "redis URL", edit: func(m map[string]string) { m["REDIS_URL"] = "http://user:hunter2@redis:6379" }, wantErr: []string{"REDIS_URL"}},
		{name: "unparsable bool names the variable", edit: func(m map[string]string) { m["RATE_LIMIT_ENABLED"] = "maybe-secret" },
			wantErr: []string{"RATE_LIMIT_ENABLED: is not true or false"}},
		{name: "bad log level and body limit", edit: func(m map[string]string) { m["LOG_LEVEL"], m["HTTP_MAX_BODY_BYTES"] = "loud", "0" },
			wantErr: []string{"LOG_LEVEL", "HTTP_MAX_BODY_BYTES"}},
		{name: "ttl out of range", edit: func(m map[string]string) { m["JWT_TTL"] = "2h" }, wantErr: []string{"JWT_TTL"}},
		{name: "leeway out of range", edit: func(m map[string]string) { m["AUTH_LEEWAY"] = "1h" }, wantErr: []string{"AUTH_LEEWAY"}},
		{name: "production needs an audience rule", edit: func(m map[string]string) { delete(m, "AUTH_AUDIENCE_REQUIRED") },
			wantErr: []string{"AUTH_AUDIENCE: is required; or set AUTH_AUDIENCE_REQUIRED=false"}},
		{name: "an audience and no audience", edit: func(m map[string]string) { m["AUTH_AUDIENCE"] = "client_1" },
			wantErr: []string{"AUTH_AUDIENCE_REQUIRED: is false, but AUTH_AUDIENCE is set"}},
		{name: "an audience", edit: func(m map[string]string) { m["AUTH_AUDIENCE"], m["AUTH_AUDIENCE_REQUIRED"] = "client_1", "true" },
			check: func(t *testing.T, c bootstrap.Config) {
				if c.Auth.Audience != "client_1" || c.Auth.NoAudience || c.Auth.JWKSRefresh.Minutes() != 5 {
					t.Fatalf("auth %+v", c.Auth)
				}
			}},
		{name: "transports off by default", check: func(t *testing.T, c bootstrap.Config) {
			if c.LiveKit() != nil || c.Centrifugo() != nil || c.Policy == nil {
				t.Fatalf("transports %+v %+v", c.LiveKit(), c.Centrifugo())
			}
		}},
		{name: "livekit and centrifugo", edit: func(m map[string]string) {
			m["LIVEKIT_URL"], m["LIVEKIT_API_KEY"], m["LIVEKIT_API_SECRET"] = "wss://lk.example", "key", strings.Repeat("l", 32)
			m["CENTRIFUGO_URL"] = "wss://rt.example/connection/websocket"
		}, check: func(t *testing.T, c bootstrap.Config) {
			if c.LiveKit() == nil || c.LiveKit().TTL.Minutes() != 10 || c.Centrifugo() == nil || c.Centrifugo().Audience != "centrifugo" ||
				c.Centrifugo().Issuer != "gatepass" || c.Centrifugo().SubscriptionTTL.Minutes() != 10 {
				t.Fatalf("transports %+v %+v", c.LiveKit(), c.Centrifugo())
			}
		}},
		{name: "livekit's API at its clients' address", edit: func(m map[string]string) {
			m["LIVEKIT_URL"], m["LIVEKIT_API_KEY"], m["LIVEKIT_API_SECRET"] = "wss://lk.example:7443/base", "key", strings.Repeat("l", 32)
		}, check: func(t *testing.T, c bootstrap.Config) {
			if c.LiveKit().APIURL != "https://lk.example:7443/base" {
				t.Fatalf("API URL %q", c.LiveKit().APIURL)
			}
		}},
		{name: "livekit's API elsewhere", edit: func(m map[string]string) {
			m["LIVEKIT_URL"], m["LIVEKIT_API_KEY"], m["LIVEKIT_API_SECRET"] = "ws://127.0.0.1:7880", "key", strings.Repeat("l", 32)
			m["LIVEKIT_API_URL"] = "https://lk.internal"
		}, check: func(t *testing.T, c bootstrap.Config) {
			if c.LiveKit().APIURL != "https://lk.internal" {
				t.Fatalf("API URL %q", c.LiveKit().APIURL)
			}
		}},
		{name: "livekit's API over plain http to another host", edit: func(m map[string]string) {
			m["LIVEKIT_URL"], m["LIVEKIT_API_KEY"], m["LIVEKIT_API_SECRET"] = "wss://lk.example", "key", strings.Repeat("l", 32)
			m["LIVEKIT_API_URL"] = "http://lk.internal"
		}, wantErr: []string{"LIVEKIT_API_URL: must be an https:// URL"}},
		{name: "a partial livekit setting", edit: func(m map[string]string) { m["LIVEKIT_API_KEY"] = "key" },
			wantErr: []string{"LIVEKIT_URL: is required", "LIVEKIT_API_SECRET: is required"}},
		{name: "livekit over plain ws to another host, weak secret", edit: func(m map[string]string) {
			m["LIVEKIT_URL"], m["LIVEKIT_API_KEY"], m["LIVEKIT_API_SECRET"] = "ws://lk.example", "key", "short-secret"
		}, wantErr: []string{"LIVEKIT_URL: must be a wss:// URL", "LIVEKIT_API_SECRET: must be at least 32 bytes"}},
		{name: "centrifugo with the office audience and PS256", edit: func(m map[string]string) {
			m["CENTRIFUGO_URL"], m["CENTRIFUGO_AUDIENCE"], m["JWT_ALGORITHM"] = "ws://127.0.0.1:8000/connection/websocket", "office-router", "PS256"
		}, wantErr: []string{"CENTRIFUGO_AUDIENCE: must differ from JWT_AUDIENCE", "JWT_ALGORITHM: PS256 cannot be used with CENTRIFUGO_URL"}},
		{name: "centrifugo's server API without a key", edit: func(m map[string]string) {
			m["CENTRIFUGO_URL"], m["CENTRIFUGO_API_URL"] = "wss://rt.example/connection/websocket", "http://centrifugo:8000/api"
		}, wantErr: []string{"CENTRIFUGO_API_KEY: is required with CENTRIFUGO_API_URL"}},
		{name: "centrifugo's server API with a weak key, not over http", edit: func(m map[string]string) {
			m["CENTRIFUGO_URL"], m["CENTRIFUGO_API_URL"], m["CENTRIFUGO_API_KEY"] = "wss://rt.example/connection/websocket", "centrifugo:8000/api", "hunter2"
		}, wantErr: []string{"CENTRIFUGO_API_KEY: must be at least 32 bytes", "CENTRIFUGO_API_URL: must be the http:// or https://"}},
		{name: "centrifugo's server API without centrifugo", edit: func(m map[string]string) {
			m["CENTRIFUGO_API_URL"], m["CENTRIFUGO_API_KEY"] = "http://centrifugo:8000/api", strings.Repeat("k", 32)
		}, wantErr: []string{"CENTRIFUGO_API_URL: is set without CENTRIFUGO_URL"}},
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
			if err := bootstrap.PrepareDevelopment(env); err != nil {
				t.Fatal(err)
			}
			cfg, err := bootstrap.Load(env)
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

// TestLoadWritesNothing: parsing the settings has no side effects; the
// development start path makes the development folder's keys, once.
func TestLoadWritesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dev")
	env := map[string]string{"APP_ENV": "development", "DEV_DIR": dir}
	_, err := bootstrap.Load(env)
	if !errors.Is(err, devidentity.ErrNotPrepared) || !strings.Contains(err.Error(), "make run") {
		t.Fatalf("Load on an empty development folder: %v, want ErrNotPrepared saying how to prepare it", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Load made the development folder (stat: %v)", err)
	}
	if err := bootstrap.PrepareDevelopment(env); err != nil {
		t.Fatal(err)
	}
	first, err := os.ReadFile(filepath.Join(dir, devidentity.IdentityKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := bootstrap.PrepareDevelopment(env); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(filepath.Join(dir, devidentity.IdentityKeyFile)); string(again) != string(first) {
		t.Error("a second PrepareDevelopment replaced the identity key")
	}
	if _, err := bootstrap.Load(env); err != nil {
		t.Fatalf("Load after PrepareDevelopment: %v", err)
	}
	prod := map[string]string{"APP_ENV": "production", "DEV_DIR": filepath.Join(t.TempDir(), "prod")}
	if err := bootstrap.PrepareDevelopment(prod); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(prod["DEV_DIR"]); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("PrepareDevelopment in production made a folder (stat: %v)", err)
	}
}

func TestConfigLogValueMasksSecrets(t *testing.T) {
	env := production(t)
	cfg, err := bootstrap.Load(env)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	slog.New(slog.NewJSONHandler(&b, nil)).Info("configuration", "config", cfg)
	out := b.String()
	if strings.Contains(out, "PRIVATE KEY") || strings.Contains(out, env["SUPABASE_JWT_SECRET"]) {
		t.Fatalf("secrets logged: %s", out)
	}
	if !strings.Contains(out, `"jwt_private_key":"(set, masked)"`) || !strings.Contains(out, `"jwt_ttl":"1m0s"`) ||
		!strings.Contains(out, `"supabase_jwt_secret":"(set, masked)"`) || !strings.Contains(out, `"pkcs11_pin":"(unset)"`) {
		t.Fatalf("log %s", out)
	}
}

// TestLogValueNamesEveryVariable keeps the start-up log complete: it comes
// from the declaration, so a new setting cannot be left out, and every
// secret is masked.
func TestLogValueNamesEveryVariable(t *testing.T) {
	env := production(t)
	env["REDIS_URL"] = "redis://:hunter2@redis.internal:6379/0"
	env["AUTH_JWKS_URL"] = "https://user:hunter3@idp.example/jwks"
	cfg, err := bootstrap.Load(env)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	slog.New(slog.NewJSONHandler(&b, nil)).Info("configuration", "config", cfg)
	out := b.String()
	for _, v := range bootstrap.Variables() {
		if strings.HasSuffix(v.Name, "_FILE") {
			continue
		}
		if !strings.Contains(out, `"`+strings.ToLower(v.Name)+`":`) {
			t.Errorf("%s is not in the start-up log", v.Name)
		}
	}
	if strings.Contains(out, "hunter2") || strings.Contains(out, "hunter3") {
		t.Fatalf("a password is logged: %s", out)
	}
}

// TestSecretsFollowOneRule: every secret, key and PIN, given as a value or
// as a file, loses one trailing newline and is refused, by name, for any
// other white space at its ends; both forms at once are refused.
func TestSecretsFollowOneRule(t *testing.T) {
	secret := strings.Repeat("s", 40)
	tests := []struct {
		name    string
		edit    func(map[string]string)
		wantErr string
	}{
		{name: "one trailing newline is removed", edit: func(m map[string]string) { m["SUPABASE_JWT_SECRET"] = secret + "\n" }},
		{name: "one trailing CRLF in a file is removed", edit: func(m map[string]string) {
			delete(m, "SUPABASE_JWT_SECRET")
			m["SUPABASE_JWT_SECRET_FILE"] = writeFile(t, secret+"\r\n")
		}},
		{name: "two trailing newlines", edit: func(m map[string]string) { m["SUPABASE_JWT_SECRET"] = secret + "\n\n" },
			wantErr: "SUPABASE_JWT_SECRET: has white space"},
		{name: "a leading space in a file", edit: func(m map[string]string) {
			delete(m, "SUPABASE_JWT_SECRET")
			m["SUPABASE_JWT_SECRET_FILE"] = writeFile(t, " "+secret)
		}, wantErr: "SUPABASE_JWT_SECRET_FILE: has white space"},
		{name: "a trailing tab on a key", edit: func(m map[string]string) { m["JWT_PRIVATE_KEY"] += "\t" },
			wantErr: "JWT_PRIVATE_KEY: has white space"},
		{name: "value and file", edit: func(m map[string]string) { m["SUPABASE_JWT_SECRET_FILE"] = writeFile(t, secret) },
			wantErr: "SUPABASE_JWT_SECRET: and SUPABASE_JWT_SECRET_FILE are both set"},
		{name: "a file that is a folder", edit: func(m map[string]string) {
			delete(m, "SUPABASE_JWT_SECRET")
			m["SUPABASE_JWT_SECRET_FILE"] = t.TempDir()
		}, wantErr: "SUPABASE_JWT_SECRET_FILE: "},
		{name: "a missing file names its path", edit: func(m map[string]string) {
			delete(m, "SUPABASE_JWT_SECRET")
			m["SUPABASE_JWT_SECRET_FILE"] = "/nonexistent/gatepass/secret"
		}, wantErr: "SUPABASE_JWT_SECRET_FILE: open /nonexistent/gatepass/secret: no such file or directory"},
		{name: "an endless file is not read whole", edit: func(m map[string]string) {
			delete(m, "SUPABASE_JWT_SECRET")
			m["SUPABASE_JWT_SECRET_FILE"] = "/dev/zero"
		}, wantErr: "SUPABASE_JWT_SECRET_FILE: /dev/zero is not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := production(t)
			tt.edit(env)
			cfg, err := bootstrap.Load(env)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if string(cfg.Realtime.Secret) != secret && tt.name != "a trailing tab on a key" {
					t.Fatalf("secret of %d bytes, want the %d bytes given", len(cfg.Realtime.Secret), len(secret))
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error quotes the secret: %v", err)
			}
		})
	}
}

// TestNoTwoSecretsShareAValue: every secret of the declaration (each
// variable with a NAME_FILE twin) is compared with every other, as
// resolved (a file's trailing newline removed), and a pair with one value
// refuses the start naming both variables, never the value.
func TestNoTwoSecretsShareAValue(t *testing.T) {
	var secrets []string
	mayEqual := bootstrap.MayEqualPairs()
	for _, v := range bootstrap.Variables() {
		if v.Secret && !strings.HasSuffix(v.Name, "_FILE") {
			secrets = append(secrets, v.Name)
		}
	}
	// The README's Secrets list names seven; a walk that finds fewer has
	// lost some.
	if len(secrets) < 7 {
		t.Fatalf("the declaration has %d secrets, want at least the seven the README lists: %v", len(secrets), secrets)
	}
	const shared = "one-value-given-for-two-purposes-4c1d9e"
	base := production(t)
	for i, first := range secrets {
		for _, second := range secrets[i+1:] {
			if mayEqual[[2]string{first, second}] {
				// One key in two roles, declared so (secrets_internal_test.go
				// holds the rule).
				continue
			}
			t.Run(first+" and "+second, func(t *testing.T) {
				for _, file := range []bool{false, true} {
					env := maps.Clone(base)
					env[first] = shared
					name := second
					if file {
						name += "_FILE"
						delete(env, second)
						env[name] = writeFile(t, shared+"\n")
					} else {
						env[second] = shared
					}
					_, err := bootstrap.Load(env)
					want := "\n  " + name + ": equals " + first + "; give each purpose its own secret"
					if err == nil || !strings.Contains(err.Error(), want) {
						t.Fatalf("error %v, want %q", err, want)
					}
					if strings.Contains(err.Error(), shared) {
						t.Fatalf("the error quotes the value: %v", err)
					}
				}
			})
		}
	}
	t.Run("one file for two", func(t *testing.T) {
		env := production(t)
		path := writeFile(t, env["SUPABASE_JWT_SECRET"])
		delete(env, "SUPABASE_JWT_SECRET")
		env["SUPABASE_JWT_SECRET_FILE"], env["LIVEKIT_API_SECRET_FILE"] = path, path
		env["LIVEKIT_URL"], env["LIVEKIT_API_KEY"] = "wss://lk.example", "key"
		_, err := bootstrap.Load(env)
		if want := "LIVEKIT_API_SECRET_FILE: equals SUPABASE_JWT_SECRET_FILE"; err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("error %v, want %q", err, want)
		}
	})
	t.Run("a URL's password", func(t *testing.T) {
		env := production(t)
		env["REDIS_URL"] = "redis://:" + env["SUPABASE_JWT_SECRET"] + "@127.0.0.1:6379/0"
		_, err := bootstrap.Load(env)
		if want := "REDIS_URL: equals SUPABASE_JWT_SECRET"; err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("error %v, want %q", err, want)
		}
		if strings.Contains(err.Error(), env["SUPABASE_JWT_SECRET"]) {
			t.Fatalf("the error quotes the value: %v", err)
		}
	})
	t.Run("distinct secrets load", func(t *testing.T) {
		env := production(t)
		env["LIVEKIT_URL"], env["LIVEKIT_API_KEY"], env["LIVEKIT_API_SECRET"] = "wss://lk.example", "key", env["SUPABASE_JWT_SECRET"]+"!"
		if _, err := bootstrap.Load(env); err != nil {
			t.Fatal(err)
		}
	})
}

// TestEveryProblemAtOnce: parse errors and validation errors come in one
// message, APP_ENV's first, each naming its variable once.
func TestEveryProblemAtOnce(t *testing.T) {
	env := production(t)
	env["APP_ENV"] = "staging"
	env["JWT_TTL"] = "soon"
	env["AUTH_LEEWAY"] = "1h"
	env["RATE_LIMIT_OFFICE_BURST"] = "many"
	delete(env, "JWT_ISSUER")
	_, err := bootstrap.Load(env)
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	lines := strings.Split(msg, "\n")
	if len(lines) < 2 || !strings.HasPrefix(strings.TrimSpace(lines[1]), "APP_ENV:") {
		t.Fatalf("APP_ENV is not first:\n%s", msg)
	}
	for _, want := range []string{"JWT_TTL: is not a duration", "AUTH_LEEWAY: must be between", "RATE_LIMIT_OFFICE_BURST: is not a whole number", "JWT_ISSUER: is required"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message does not say %q:\n%s", want, msg)
		}
	}
	if strings.Count(msg, "JWT_TTL") != 1 {
		t.Errorf("JWT_TTL is reported more than once:\n%s", msg)
	}
}

// TestDevelopmentLogShowsItsDefaults: in development the start-up log
// shows the defaults the service runs with, the office-router Worker's
// URL among them, not an empty setting.
func TestDevelopmentLogShowsItsDefaults(t *testing.T) {
	env := map[string]string{"APP_ENV": "development", "DEV_DIR": filepath.Join(t.TempDir(), "dev")}
	if err := bootstrap.PrepareDevelopment(env); err != nil {
		t.Fatal(err)
	}
	cfg, err := bootstrap.Load(env)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	slog.New(slog.NewJSONHandler(&b, nil)).Info("configuration", "config", cfg)
	for _, want := range []string{
		`"websocket_base_url":"` + bootstrap.DevWebSocketURL + `"`,
		`"jwt_issuer":"` + bootstrap.DevOfficeIssuer + `"`,
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the development log lacks %s: %s", want, b.String())
		}
	}
	if cfg.Office.URL != bootstrap.DevWebSocketURL {
		t.Errorf("office URL %q, want %q", cfg.Office.URL, bootstrap.DevWebSocketURL)
	}
}
