package config_test

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/adapters/pkcs11signer/softhsmtest"
	"github.com/gatepass/gatepass/test/inproc"
	"github.com/gatepass/gatepass/test/kit"
	"github.com/gatepass/gatepass/test/redisserver"
)

// secretSetting is one secret setting, with what makes gatepass need it
// and how to see that the value it used is the one given, without the
// newline.
type secretSetting struct {
	name string
	// value is the secret an accepted start must use as is.
	value string
	// refused is the value the refused starts are given (value when
	// empty), and leaks what of it must never be printed.
	refused string
	leaks   []string
	// env is the whole configuration, without the secret itself.
	env map[string]string
	// used checks, on a started gatepass, that value was what it used.
	used func(t *testing.T, p *kit.Process, value string)
}

// TestSecretWhiteSpaceRule pins the one rule every secret follows, given
// as the value or through NAME_FILE alike: one trailing newline (as
// `$(cat file)` or an editor leaves it) is removed and the rest used as
// is; any other white space at either end refuses the start, naming the
// variable and never printing the value. Without it, a Supabase secret
// with a stray newline signed every token with the wrong key, silently.
//
// Served in process and in parallel, but for the PKCS#11 PIN
// (TestSecretWhiteSpaceRulePKCS11PIN).
func TestSecretWhiteSpaceRule(t *testing.T) {
	t.Parallel()
	idp := kit.NewIdentityProvider(t)
	key, keyPEM := kit.NewRSAKey(t, 2048)
	other, _ := kit.NewRSAKey(t, 2048)
	otherPub := kit.PublicPEM(t, &other.PublicKey)
	base := kit.ProductionEnv(idp, keyPEM)
	bearer := idp.Token(t, "user_1", "org_1", "admin", time.Hour)

	redis := redisserver.Start(t)
	const liveKitSecret = "livekit-secret-of-more-than-32-bytes-9f3a"

	settings := []secretSetting{
		{
			name: "JWT_PRIVATE_KEY", value: strings.TrimSpace(keyPEM), leaks: pemLeaks(keyPEM),
			env: kit.With(base, map[string]string{"JWT_PRIVATE_KEY": ""}),
			used: func(t *testing.T, p *kit.Process, _ string) {
				verify(t, kit.Post(t, p.URL+kit.OfficePath, kit.Bearer(bearer)), "RS256", &key.PublicKey)
			},
		},
		{
			name: "JWT_VERIFICATION_KEYS", value: strings.TrimSpace(otherPub), leaks: pemLeaks(otherPub),
			env: base,
			used: func(t *testing.T, p *kit.Process, _ string) {
				var set struct{ Keys []map[string]any }
				r := kit.Get(t, p.URL+kit.JWKSPath)
				if err := json.Unmarshal(r.Body, &set); err != nil || len(set.Keys) != 2 {
					t.Fatalf("JWKS %s: want the signing key and the published one", r)
				}
			},
		},
		{
			name: "SUPABASE_JWT_SECRET", value: kit.SupabaseSecret, leaks: []string{kit.SupabaseSecret},
			env: kit.With(base, map[string]string{"SUPABASE_JWT_SECRET": ""}),
			used: func(t *testing.T, p *kit.Process, value string) {
				verify(t, kit.Post(t, p.URL+kit.RealtimePath, kit.Bearer(bearer)), "HS256", []byte(value))
			},
		},
		{
			name: "REDIS_URL", value: redis.URL(),
			refused: "redis://:redis-pass-8b2e@" + redis.Addr() + "/0", leaks: []string{"redis-pass-8b2e"},
			env: base,
			used: func(t *testing.T, p *kit.Process, _ string) {
				// A store call can time out on a busy machine and show the
				// limiter degraded for a moment: poll until it is on Redis,
				// which it never is with a URL that kept its newline.
				var status int
				var ready kit.Readiness
				if !kit.Eventually(10*time.Second, 50*time.Millisecond, func() bool {
					status, ready = kit.Ready(t, p.AdminURL)
					return status == http.StatusOK && ready.Checks["rate_limiter"].Detail == "redis"
				}) {
					t.Fatalf("/readyz %d %+v, want the rate limiter on Redis", status, ready)
				}
			},
		},
		{
			name: "LIVEKIT_API_SECRET", value: liveKitSecret, leaks: []string{liveKitSecret},
			env: kit.With(base, map[string]string{"LIVEKIT_URL": "ws://127.0.0.1:7880", "LIVEKIT_API_KEY": "APIkey1"}),
			used: func(t *testing.T, p *kit.Process, value string) {
				r := kit.Post(t, p.URL+"/api/v1/livekit/token", kit.Bearer(bearer), kit.JSONBody(`{"room_name":"standup"}`))
				tok, _ := r.JSON(t)["participant_token"].(string)
				verifyToken(t, tok, "HS256", []byte(value))
			},
		},
	}
	for _, s := range settings {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			whiteSpaceRule(t, s, inproc.Serve, true)
		})
	}
}

// TestSecretWhiteSpaceRulePKCS11PIN is TestSecretWhiteSpaceRule for
// PKCS11_PIN, on the binary and not in parallel: the SoftHSM2 token is
// found through SOFTHSM2_CONF, set in the environment, and a process
// initialises the module once.
func TestSecretWhiteSpaceRulePKCS11PIN(t *testing.T) {
	idp := kit.NewIdentityProvider(t)
	key, keyPEM := kit.NewRSAKey(t, 2048)
	base := kit.ProductionEnv(idp, keyPEM)
	bearer := idp.Token(t, "user_1", "org_1", "admin", time.Hour)
	tok := softhsmtest.New(t)
	tok.Import(t, key, "office")
	hsm := tok.Config("office")
	// The refused starts fail on the rule before the token is opened; the
	// accepted ones open it with the PIN.
	whiteSpaceRule(t, secretSetting{
		name: "PKCS11_PIN", value: hsm.PIN, refused: "pin-4d1c7e", leaks: []string{"pin-4d1c7e"},
		env: kit.With(base, map[string]string{
			"JWT_PRIVATE_KEY": "", "JWT_SIGNER": "pkcs11", "PKCS11_MODULE": hsm.Module,
			"PKCS11_TOKEN_LABEL": hsm.TokenLabel, "PKCS11_KEY_LABEL": hsm.KeyLabel, "SOFTHSM2_CONF": os.Getenv("SOFTHSM2_CONF"),
		}),
		used: func(t *testing.T, p *kit.Process, _ string) {
			verify(t, kit.Post(t, p.URL+kit.OfficePath, kit.Bearer(bearer)), "RS256", &key.PublicKey)
		},
	}, kit.Start, false)
}

// whiteSpaceRule checks the rule on setting s, given as the value and as
// a file: the accepted starts served by start, the refused ones on the
// binary (in parallel when parallel).
func whiteSpaceRule(t *testing.T, s secretSetting, start func(testing.TB, map[string]string) *kit.Process, parallel bool) {
	accepted := []struct{ name, suffix string }{
		{"one trailing newline", "\n"},
		{"one trailing CRLF", "\r\n"},
	}
	refusals := []struct{ name, text string }{
		{"trailing space", "%s "},
		{"trailing tab", "%s\t"},
		{"two trailing newlines", "%s\n\n"},
		{"newline then space", "%s\n "},
		{"leading space", " %s"},
	}
	for _, file := range []bool{false, true} {
		form, name := "value", s.name
		if file {
			form, name = "file", s.name+"_FILE"
		}
		give := func(t *testing.T, content string) map[string]string {
			if file {
				return kit.With(s.env, map[string]string{s.name: "", name: writeFile(t, "secret", content)})
			}
			return kit.With(s.env, map[string]string{s.name: content})
		}
		for _, a := range accepted {
			t.Run(form+"/"+a.name+" is removed", func(t *testing.T) {
				if parallel {
					t.Parallel()
				}
				p := start(t, give(t, s.value+a.suffix))
				s.used(t, p, s.value)
				wantNoLeak(t, p.Logs(), s.leaks...)
			})
		}
		bad := s.refused
		if bad == "" {
			bad = s.value
		}
		for _, r := range refusals {
			t.Run(form+"/"+r.name+" refuses the start", func(t *testing.T) {
				if parallel {
					t.Parallel()
				}
				stderr := refused(t, give(t, strings.Replace(r.text, "%s", bad, 1)))
				wantSays(t, stderr, name+": has white space at its start or end (only one trailing newline is removed); remove it")
				wantNoLeak(t, stderr, s.leaks...)
			})
		}
	}
}

// verify checks that r is a grant whose token verifies with key under alg.
func verify(t *testing.T, r kit.Response, alg string, key any) {
	t.Helper()
	if r.Status != http.StatusOK && r.Status != http.StatusCreated {
		t.Fatalf("grant %s", r)
	}
	verifyToken(t, r.Token(t), alg, key)
}

func verifyToken(t *testing.T, token, alg string, key any) {
	t.Helper()
	_, err := jwt.Parse(token, func(*jwt.Token) (any, error) { return key, nil }, jwt.WithValidMethods([]string{alg}))
	if err != nil {
		t.Fatalf("the grant does not verify with the secret as given, without its newline: %v", err)
	}
}
