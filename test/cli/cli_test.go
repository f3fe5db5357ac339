// Package cli_test runs the gatepass command line as a person would:
// version and help, keys generate, public and jwks, token inspect and
// verify with every form of argument, dev-token, and where `serve` listens
// in development. The commands run on the real binary; a server they talk
// to is served in process.
package cli_test

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatepass/gatepass/test/kit"
)

func readPublic(t *testing.T, text string) *rsa.PublicKey {
	t.Helper()
	block, _ := pem.Decode([]byte(text))
	if block == nil || block.Type != "PUBLIC KEY" {
		t.Fatalf("not an SPKI PEM: %q", text)
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return pub.(*rsa.PublicKey)
}

func TestKeysCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out, stderr, err := kit.Run(t, nil, "keys", "generate", "--out", filepath.Join(dir, "k1"))
	if err != nil {
		t.Fatalf("generate: %s", kit.ExitError(err, stderr))
	}
	st, err := os.Stat(filepath.Join(dir, "k1", "private.pem"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("private.pem: %v %v", st, err)
	}
	if _, _, err := kit.Run(t, nil, "keys", "generate", "--out", filepath.Join(dir, "k1")); err == nil {
		t.Fatal("generate overwrote an existing key")
	}
	kit.Run(t, nil, "keys", "generate", "--out", filepath.Join(dir, "k2"))
	pub1, _ := os.ReadFile(filepath.Join(dir, "k1", "public.pem"))
	pub2, _ := os.ReadFile(filepath.Join(dir, "k2", "public.pem"))
	kid1 := kit.Thumbprint(readPublic(t, string(pub1)))
	if !strings.Contains(out, kid1) {
		t.Errorf("generate did not print the kid %s: %s", kid1, out)
	}

	env := map[string]string{"JWT_PRIVATE_KEY_FILE": filepath.Join(dir, "k1", "private.pem")}
	public, stderr, err := kit.Run(t, env, "keys", "public")
	if err != nil {
		t.Fatalf("public: %s", kit.ExitError(err, stderr))
	}
	if public != string(pub1) {
		t.Errorf("keys public printed\n%s\nwant\n%s", public, pub1)
	}

	env["JWT_VERIFICATION_KEYS"] = string(pub2)
	set, stderr, err := kit.Run(t, env, "keys", "jwks")
	if err != nil {
		t.Fatalf("jwks: %s", kit.ExitError(err, stderr))
	}
	var jwks struct{ Keys []map[string]string }
	if err := json.Unmarshal([]byte(set), &jwks); err != nil || len(jwks.Keys) != 2 {
		t.Fatalf("jwks %s", set)
	}
	if jwks.Keys[0]["kid"] != kid1 || jwks.Keys[1]["kid"] != kit.Thumbprint(readPublic(t, string(pub2))) {
		t.Errorf("jwks kids %s %s", jwks.Keys[0]["kid"], jwks.Keys[1]["kid"])
	}

	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{name: "duplicate published key", env: map[string]string{"JWT_PRIVATE_KEY_FILE": env["JWT_PRIVATE_KEY_FILE"], "JWT_VERIFICATION_KEYS": string(pub1)}, want: "key 1 is the signing key's public key"},
		{name: "private key published", env: map[string]string{"JWT_PRIVATE_KEY_FILE": env["JWT_PRIVATE_KEY_FILE"], "JWT_VERIFICATION_KEYS_FILE": env["JWT_PRIVATE_KEY_FILE"]}, want: "public keys only"},
		{name: "no key", env: map[string]string{}, want: "JWT_PRIVATE_KEY: is required"},
		{name: "missing file", env: map[string]string{"JWT_PRIVATE_KEY_FILE": filepath.Join(dir, "nope.pem")}, want: "JWT_PRIVATE_KEY_FILE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, stderr, err := kit.Run(t, tt.env, "keys", "jwks")
			if err == nil || !strings.Contains(stderr, tt.want) {
				t.Fatalf("err %v, stderr %q, want it to say %q", err, stderr, tt.want)
			}
			if strings.Contains(stderr, "BEGIN") {
				t.Errorf("error quotes key material: %s", stderr)
			}
		})
	}
}
