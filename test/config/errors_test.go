package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gatepass/gatepass/foundation/pemkey/pemkeytest"
	"github.com/gatepass/gatepass/test/kit"
)

// TestSecretFileErrorsNameThePathAndTheReason: a NAME_FILE that cannot be
// read refuses the start with the variable, the path and the operating
// system's reason, never the content. (Permission denied cannot be made
// for a test running as root, which reads every file; a path through a
// regular file gives the operating system's "not a directory" instead.)
func TestSecretFileErrorsNameThePathAndTheReason(t *testing.T) {
	t.Parallel()
	idp := kit.NewIdentityProvider(t)
	_, keyPEM := kit.NewRSAKey(t, 2048)
	base := kit.ProductionEnv(idp, keyPEM)
	dir := t.TempDir()
	regular := writeFile(t, "regular", kit.SupabaseSecret)
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	const filler = "0123456789abcdef"
	large := writeFile(t, "large", strings.Repeat(filler, 256<<10/len(filler)+1))
	tests := []struct {
		name, path string
		want       string
		leaks      []string
	}{
		{name: "missing", path: "/nonexistent/x", want: "open /nonexistent/x: no such file or directory"},
		{name: "through a regular file", path: regular + "/x", want: "open " + regular + "/x: not a directory"},
		{name: "a directory", path: dir, want: dir + " is not a regular file"},
		// Opened without blocking: a FIFO with no writer would otherwise
		// hang the start.
		{name: "a FIFO", path: fifo, want: fifo + " is not a regular file"},
		{name: "larger than 256 KiB", path: large, want: large + " is larger than 262144 bytes", leaks: []string{filler}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, name := range []string{"JWT_PRIVATE_KEY", "JWT_VERIFICATION_KEYS", "SUPABASE_JWT_SECRET", "PKCS11_PIN", "REDIS_URL", "LIVEKIT_API_SECRET"} {
				env := kit.With(base, map[string]string{name: "", name + "_FILE": tt.path})
				if name == "PKCS11_PIN" {
					env = kit.With(env, map[string]string{"JWT_PRIVATE_KEY": "", "JWT_SIGNER": "pkcs11",
						"PKCS11_MODULE": "/usr/lib/softhsm/libsofthsm2.so", "PKCS11_TOKEN_LABEL": "t", "PKCS11_KEY_LABEL": "k"})
				}
				stderr := refused(t, env)
				wantSays(t, stderr, name+"_FILE: "+tt.want)
				wantNoLeak(t, stderr, tt.leaks...)
			}
		})
	}
}

// TestPrivateKeyOfTheWrongKind: a key file that is encrypted, in
// OpenSSH's format, or a public key, given as the office signing key,
// refuses the start saying what it is and what to give instead, as the
// value or the file, without quoting it.
func TestPrivateKeyOfTheWrongKind(t *testing.T) {
	t.Parallel()
	idp := kit.NewIdentityProvider(t)
	rsaKey, keyPEM := kit.NewRSAKey(t, 2048)
	ecKey := kit.NewECKey(t)
	edKey := kit.NewEd25519Key(t)
	base := kit.ProductionEnv(idp, keyPEM)
	const pemExpected = "give a PEM private key (PKCS#8, PKCS#1 or SEC 1)"
	tests := []struct {
		name, key string
		want      []string
	}{
		{"encrypted PKCS#8", pemkeytest.EncryptedPKCS8(t, rsaKey, "a pass phrase"),
			[]string{"key is encrypted with a passphrase (PKCS#8); " + pemExpected, "openssl pkey -in FILE -out NEW_FILE"}},
		{"encrypted PKCS#1 (Proc-Type: 4,ENCRYPTED)", pemkeytest.EncryptedLegacy(t, rsaKey, "a pass phrase"),
			[]string{"key is encrypted with a passphrase", "Proc-Type: 4,ENCRYPTED", pemExpected}},
		{"encrypted SEC 1 (Proc-Type: 4,ENCRYPTED)", pemkeytest.EncryptedLegacy(t, ecKey, "a pass phrase"),
			[]string{"key is encrypted with a passphrase", pemExpected}},
		{"OpenSSH RSA", pemkeytest.OpenSSH(t, rsaKey, ""),
			[]string{"key is an OpenSSH private key; " + pemExpected + ": convert a copy", "ssh-keygen -p -N \"\" -m PKCS8 -f COPY"}},
		{"OpenSSH Ed25519, encrypted", pemkeytest.OpenSSH(t, edKey, "a pass phrase"),
			[]string{"key is an OpenSSH private key (Ed25519); " + pemExpected, "openssl genpkey -algorithm ed25519"}},
		{"public key", kit.PublicPEM(t, &rsaKey.PublicKey),
			[]string{`key is a public key (PEM "PUBLIC KEY"); ` + pemExpected}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			t.Run("value", func(t *testing.T) {
				t.Parallel()
				stderr := refused(t, kit.With(base, map[string]string{"JWT_PRIVATE_KEY": tt.key}))
				wantSays(t, stderr, prefixed("JWT_PRIVATE_KEY: load signing key: ", tt.want)...)
				wantNoLeak(t, stderr, pemLeaks(tt.key)...)
			})
			t.Run("file", func(t *testing.T) {
				t.Parallel()
				path := writeFile(t, "office.key", tt.key)
				stderr := refused(t, kit.With(base, map[string]string{"JWT_PRIVATE_KEY": "", "JWT_PRIVATE_KEY_FILE": path}))
				wantSays(t, stderr, prefixed("JWT_PRIVATE_KEY_FILE: load signing key: ", tt.want)...)
				wantNoLeak(t, stderr, pemLeaks(tt.key)...)
			})
		})
	}
	t.Run("the keys command says the same", func(t *testing.T) {
		t.Parallel()
		key := pemkeytest.OpenSSH(t, rsaKey, "")
		_, stderr, err := kit.Run(t, kit.With(base, map[string]string{"JWT_PRIVATE_KEY": key}), "keys", "public")
		if err == nil {
			t.Fatal("keys public printed the public key of an OpenSSH key")
		}
		wantSays(t, stderr, "JWT_PRIVATE_KEY: load signing key: key is an OpenSSH private key; "+pemExpected)
		wantNoLeak(t, stderr, pemLeaks(key)...)
	})
}

// prefixed puts prefix before the first of want: the message begins with
// the variable and what it is; the rest follows.
func prefixed(prefix string, want []string) []string {
	out := append([]string(nil), want...)
	out[0] = prefix + out[0]
	return out
}

// TestEveryProblemAtOnceAPPENVFirst: a value that does not parse hides
// none of the others; one message names every problem, one a line, with
// APP_ENV's first.
func TestEveryProblemAtOnceAPPENVFirst(t *testing.T) {
	t.Parallel()
	idp := kit.NewIdentityProvider(t)
	rsaKey, keyPEM := kit.NewRSAKey(t, 2048)
	stderr := refused(t, kit.ProductionEnv(idp, keyPEM, map[string]string{
		"APP_ENV":                  "staging",
		"HTTP_READ_TIMEOUT":        "ten seconds",
		"RATE_LIMIT_OFFICE_BURST":  "many",
		"JWT_PRIVATE_KEY":          pemkeytest.OpenSSH(t, rsaKey, ""),
		"SUPABASE_JWT_SECRET":      "",
		"SUPABASE_JWT_SECRET_FILE": "/nonexistent/supabase",
		"LIVEKIT_API_SECRET":       "livekit-secret-of-more-than-32-bytes-9f3a ",
		"LIVEKIT_URL":              "ws://127.0.0.1:7880",
		"LIVEKIT_API_KEY":          "APIkey1",
	}))
	want := []string{
		"APP_ENV: must be",
		"HTTP_READ_TIMEOUT: is not a duration such as 30s or 1m",
		"JWT_PRIVATE_KEY: load signing key: key is an OpenSSH private key",
		"LIVEKIT_API_SECRET: has white space at its start or end",
		"RATE_LIMIT_OFFICE_BURST: is not a whole number",
		"SUPABASE_JWT_SECRET_FILE: open /nonexistent/supabase: no such file or directory",
	}
	wantSays(t, stderr, want...)
	wantNoLeak(t, stderr, "ten seconds", "many", "livekit-secret", "BEGIN")
	// One line each, APP_ENV first, the others by name.
	last := -1
	for _, w := range want {
		i := strings.Index(stderr, "\n  "+w)
		if i <= last {
			t.Errorf("%q is not on its own line after the previous problem:\n%s", w, stderr)
		}
		last = i
	}
	if _, err := os.Stat("/nonexistent/supabase"); err == nil {
		t.Fatal("the test's missing file exists")
	}
}
