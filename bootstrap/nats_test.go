package bootstrap_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nkeys"

	"github.com/gatepass/gatepass/bootstrap"
)

// natsKeys are an account public key, an account signing seed and a user
// seed, fresh for the test.
func natsKeys(t *testing.T) (account, signingSeed, userSeed string) {
	t.Helper()
	seed := func(create func() (nkeys.KeyPair, error)) (nkeys.KeyPair, string) {
		kp, err := create()
		if err != nil {
			t.Fatal(err)
		}
		s, err := kp.Seed()
		if err != nil {
			t.Fatal(err)
		}
		return kp, string(s)
	}
	acc, _ := seed(nkeys.CreateAccount)
	account, err := acc.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	_, signingSeed = seed(nkeys.CreateAccount)
	_, userSeed = seed(nkeys.CreateUser)
	return account, signingSeed, userSeed
}

// credsFile is a credentials file: a user JWT and its user seed.
func credsFile(t *testing.T) []byte {
	t.Helper()
	account, err := nkeys.CreateAccount()
	if err != nil {
		t.Fatal(err)
	}
	user, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := user.PublicKey()
	userJWT, err := jwt.NewUserClaims(pub).Encode(account)
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := user.Seed()
	creds, err := jwt.FormatUserConfig(userJWT, seed)
	if err != nil {
		t.Fatal(err)
	}
	return creds
}

func TestNATSSettings(t *testing.T) {
	account, signing, user := natsKeys(t)
	signingFile := writeFile(t, signing+"\n")
	systemCreds := writeFile(t, string(credsFile(t)))
	tests := []struct {
		name    string
		set     map[string]string
		wantErr []string
		check   func(t *testing.T, c bootstrap.Config)
	}{
		{name: "off by default", check: func(t *testing.T, c bootstrap.Config) {
			if c.NATS() != nil {
				t.Fatalf("NATS %+v", c.NATS())
			}
		}},
		{name: "enabled by its three settings", set: map[string]string{
			"NATS_URL": "tls://nats.example:4222, wss://nats.example", "NATS_ACCOUNT": account, "NATS_ACCOUNT_SIGNING_KEY_FILE": signingFile,
		}, check: func(t *testing.T, c bootstrap.Config) {
			n := c.NATS()
			if n == nil || n.Account != account || n.TTL != 10*time.Minute || len(n.Servers) != 2 ||
				n.Servers[0] != "tls://nats.example:4222" || n.Servers[1] != "wss://nats.example" || !strings.HasPrefix(n.SigningKey, "A") {
				t.Fatalf("NATS %+v", n)
			}
		}},
		{name: "a partial setting names what is missing", set: map[string]string{"NATS_ACCOUNT": account},
			wantErr: []string{"NATS_URL: is required", "NATS_ACCOUNT_SIGNING_KEY: is required"}},
		{name: "a URL alone names the account and the key", set: map[string]string{"NATS_URL": "tls://nats.example:4222"},
			wantErr: []string{"NATS_ACCOUNT: is required", "NATS_ACCOUNT_SIGNING_KEY: is required"}},
		{name: "a user seed is no account signing key", set: map[string]string{
			"NATS_URL": "tls://nats.example:4222", "NATS_ACCOUNT": account, "NATS_ACCOUNT_SIGNING_KEY": user,
		}, wantErr: []string{"NATS_ACCOUNT_SIGNING_KEY: must be an account signing key seed (SA...)"}},
		{name: "a user seed in the file is named by the file's variable", set: map[string]string{
			"NATS_URL": "tls://nats.example:4222", "NATS_ACCOUNT": account, "NATS_ACCOUNT_SIGNING_KEY_FILE": writeFile(t, user),
		}, wantErr: []string{"NATS_ACCOUNT_SIGNING_KEY_FILE: must be an account signing key seed (SA...)"}},
		{name: "a malformed account key", set: map[string]string{
			"NATS_URL": "tls://nats.example:4222", "NATS_ACCOUNT": account[:len(account)-1] + "X", "NATS_ACCOUNT_SIGNING_KEY": signing,
		}, wantErr: []string{"NATS_ACCOUNT: must be an account public key (A...)"}},
		{name: "a signing seed given as the account", set: map[string]string{
			"NATS_URL": "tls://nats.example:4222", "NATS_ACCOUNT": signing, "NATS_ACCOUNT_SIGNING_KEY": signing,
		}, wantErr: []string{"NATS_ACCOUNT: must be an account public key (A...)"}},
		{name: "plain URLs off loopback, a lifetime out of range", set: map[string]string{
			"NATS_URL": "nats://nats.example:4222", "NATS_ACCOUNT": account, "NATS_ACCOUNT_SIGNING_KEY": signing, "NATS_TOKEN_TTL": "48h",
		}, wantErr: []string{"NATS_URL: must be a comma-separated list", "NATS_TOKEN_TTL: must be between 1m and 24h"}},
		{name: "system credentials turn eviction on", set: map[string]string{
			"NATS_URL": "tls://nats.example:4222", "NATS_ACCOUNT": account, "NATS_ACCOUNT_SIGNING_KEY": signing, "NATS_SYSTEM_CREDS_FILE": systemCreds,
		}, check: func(t *testing.T, c bootstrap.Config) {
			if c.NATS() == nil || c.NATS().SystemCreds != systemCreds {
				t.Fatalf("NATS %+v", c.NATS())
			}
		}},
		{name: "system credentials that cannot be read", set: map[string]string{
			"NATS_URL": "tls://nats.example:4222", "NATS_ACCOUNT": account, "NATS_ACCOUNT_SIGNING_KEY": signing, "NATS_SYSTEM_CREDS_FILE": t.TempDir() + "/missing.creds",
		}, wantErr: []string{"NATS_SYSTEM_CREDS_FILE: not a credentials file: cannot be read"}},
		{name: "a seed file is no credentials file", set: map[string]string{
			"NATS_URL": "tls://nats.example:4222", "NATS_ACCOUNT": account, "NATS_ACCOUNT_SIGNING_KEY": signing, "NATS_SYSTEM_CREDS_FILE": writeFile(t, user),
		}, wantErr: []string{"NATS_SYSTEM_CREDS_FILE: not a credentials file: holds no user JWT"}},
		{name: "system credentials without the NATS grant", set: map[string]string{"NATS_SYSTEM_CREDS_FILE": systemCreds},
			wantErr: []string{"NATS_SYSTEM_CREDS_FILE: is set, but the NATS grant is off"}},
		{name: "plain URLs on loopback", set: map[string]string{
			"NATS_URL": "nats://127.0.0.1:4222,ws://localhost:4223", "NATS_ACCOUNT": account, "NATS_ACCOUNT_SIGNING_KEY": signing,
		}, check: func(t *testing.T, c bootstrap.Config) {
			if c.NATS() == nil || len(c.NATS().Servers) != 2 {
				t.Fatalf("NATS %+v", c.NATS())
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := production(t)
			for k, v := range tt.set {
				env[k] = v
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
				for _, secret := range []string{signing, user} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error quotes a seed: %v", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, cfg)
		})
	}
}

// TestNATSDevelopmentServerConfiguration: the development start path
// writes a nats-server configuration in operator mode whose account lists
// the signing key the development settings sign with; reading the
// settings writes none of it.
func TestNATSDevelopmentServerConfiguration(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"APP_ENV": "development", "DEV_DIR": dir}
	if err := bootstrap.PrepareDevelopment(env); err != nil {
		t.Fatal(err)
	}
	cfg, err := bootstrap.Load(env)
	if err != nil {
		t.Fatal(err)
	}
	n := cfg.NATS()
	if n == nil || strings.Join(n.Servers, ",") != bootstrap.DevNATSURL {
		t.Fatalf("development NATS %+v", n)
	}
	raw, err := os.ReadFile(filepath.Join(dir, bootstrap.NATSDevConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	conf := string(raw)
	for _, want := range []string{`listen: "127.0.0.1:4222"`, "resolver: MEMORY", `listen: "127.0.0.1:4223"`, "no_tls: true"} {
		if !strings.Contains(conf, want) {
			t.Errorf("%s lacks %s:\n%s", bootstrap.NATSDevConfigFile, want, conf)
		}
	}
	// The preloaded account is the one the settings name, and lists the
	// signing key they sign with.
	_, after, ok := strings.Cut(conf, n.Account+": \"")
	accountJWT, _, ok2 := strings.Cut(after, "\"")
	if !ok || !ok2 {
		t.Fatalf("no preloaded account %s:\n%s", n.Account, conf)
	}
	ac, err := jwt.DecodeAccountClaims(accountJWT)
	if err != nil {
		t.Fatal(err)
	}
	if ac.Subject != n.Account || !ac.SigningKeys.Contains(n.SigningKey) {
		t.Fatalf("account %s, signing keys %v, want %s with %s", ac.Subject, ac.SigningKeys.Keys(), n.Account, n.SigningKey)
	}
	for _, f := range []string{"nats-operator.nk", "nats-account.nk", "nats-signing-key.nk"} {
		info, err := os.Stat(filepath.Join(dir, f))
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v", f, info, err)
		}
	}
	// Every start finds the same keys.
	if err := bootstrap.PrepareDevelopment(env); err != nil {
		t.Fatal(err)
	}
	again, err := bootstrap.Load(env)
	if err != nil || again.NATS().Account != n.Account || again.NATS().SigningKey != n.SigningKey {
		t.Fatalf("a second start: %v %+v", err, again.NATS())
	}
}

// TestNATSDevelopmentOnAddressesOfItsOwn: in development, NATS_URL alone
// (a development stack on other ports, or on a private address for a
// browser in a network namespace) keeps the development account and key,
// and the development configuration listens where it says; production
// refuses clear text off loopback.
func TestNATSDevelopmentOnAddressesOfItsOwn(t *testing.T) {
	dir := t.TempDir()
	const servers = "nats://10.200.0.1:14222,ws://10.200.0.1:14223"
	env := map[string]string{"APP_ENV": "development", "DEV_DIR": dir, "NATS_URL": servers}
	if err := bootstrap.PrepareDevelopment(env); err != nil {
		t.Fatal(err)
	}
	cfg, err := bootstrap.Load(env)
	if err != nil {
		t.Fatal(err)
	}
	if n := cfg.NATS(); n == nil || strings.Join(n.Servers, ",") != servers || n.Account == "" {
		t.Fatalf("development NATS %+v", n)
	}
	raw, err := os.ReadFile(filepath.Join(dir, bootstrap.NATSDevConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`listen: "10.200.0.1:14222"`, `listen: "10.200.0.1:14223"`, "no_tls: true", cfg.NATS().Account} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("%s lacks %s:\n%s", bootstrap.NATSDevConfigFile, want, raw)
		}
	}
	_, err = bootstrap.Load(map[string]string{"NATS_URL": servers})
	if err == nil || !strings.Contains(err.Error(), "NATS_URL: must be a comma-separated list") {
		t.Fatalf("production with clear text off loopback: %v", err)
	}
}
