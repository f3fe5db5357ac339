package e2e_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

func TestRotationPublishesBothKeys(t *testing.T) {
	idp := kit.NewIdentityProvider(t)
	oldKey, oldPEM := kit.NewRSAKey(t, 2048)
	newKey, newPEM := kit.NewRSAKey(t, 2048)
	bearer := idp.Token(t, "user_1", "org_1", "member", time.Minute)

	before := kit.Start(t, kit.ProductionEnv(idp, oldPEM, debug))
	oldToken := kit.Post(t, before.URL+kit.OfficePath, kit.Bearer(bearer)).Token(t)
	before.Kill()

	oldPub, _ := x509.MarshalPKIXPublicKey(&oldKey.PublicKey)
	env := kit.ProductionEnv(idp, newPEM, debug, map[string]string{
		"JWT_VERIFICATION_KEYS": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: oldPub}))})
	after := kit.Start(t, env)
	// `gatepass keys jwks` prints exactly the set the server publishes.
	printed, stderr, err := kit.Run(t, env, "keys", "jwks")
	if err != nil {
		t.Fatalf("keys jwks: %s", kit.ExitError(err, stderr))
	}
	if served := kit.Get(t, after.URL+kit.JWKSPath); string(served.Body) != strings.TrimSuffix(printed, "\n") {
		t.Errorf("keys jwks printed\n%s\nthe server publishes\n%s", printed, served.Body)
	}
	newToken := kit.Post(t, after.URL+kit.OfficePath, kit.Bearer(bearer)).Token(t)
	got, err := verifyRS256(newToken, &newKey.PublicKey)
	if err != nil || got.Header["kid"] != kit.Thumbprint(&newKey.PublicKey) {
		t.Fatalf("after the switch: %v, header %v", err, got.Header)
	}
	// Both tokens verify with `gatepass token verify` against the published set.
	for name, tok := range map[string]string{"old": oldToken, "new": newToken} {
		_, stderr, err := kit.Run(t, nil, "token", "verify", "--jwks", after.URL+kit.JWKSPath,
			"--issuer", kit.GrantIssuer, "--audience", "office-router", tok)
		if err != nil {
			t.Errorf("%s token: %s", name, kit.ExitError(err, stderr))
		}
	}
	after.Kill()
	// Old key dropped: its tokens fail, and the CLI says so with exit 1.
	dropped := kit.Start(t, kit.ProductionEnv(idp, newPEM, debug))
	if _, _, err := kit.Run(t, nil, "token", "verify", "--jwks", dropped.URL+kit.JWKSPath, "--issuer", gatepassIssuer, oldToken); err == nil {
		t.Error("old token still verifies after its key was dropped")
	}
}

// gatepassIssuer is the iss of the grants of baseEnv's gatepass.
const gatepassIssuer = kit.GrantIssuer

func TestTokenInspectAndVerify(t *testing.T) {
	s := startService(t)
	bearer := s.IDP.Token(t, "user_1", "org_1", "member", time.Minute)
	grant := kit.Post(t, s.URL+kit.OfficePath, kit.Bearer(bearer)).Token(t)
	rt := kit.Post(t, s.URL+kit.RealtimePath, kit.Bearer(bearer)).Token(t)
	dir := t.TempDir()
	pubDER, _ := x509.MarshalPKIXPublicKey(&s.Key.PublicKey)
	pubFile, secretFile := filepath.Join(dir, "pub.pem"), filepath.Join(dir, "secret")
	os.WriteFile(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644)
	os.WriteFile(secretFile, []byte(kit.SupabaseSecret), 0o600)

	out, stderr, err := kit.Run(t, nil, "token", "inspect", grant)
	if err != nil || !strings.Contains(stderr, "NOT VERIFIED") {
		t.Fatalf("inspect: %v %s", err, stderr)
	}
	var parts struct{ Header, Claims map[string]any }
	if err := json.Unmarshal([]byte(out), &parts); err != nil || parts.Claims["orgId"] != "org_1" || parts.Header["alg"] != "RS256" {
		t.Fatalf("inspect printed %s", out)
	}
	tampered := grant[:len(grant)-4] + "AAAA"
	tests := []struct {
		name  string
		args  []string
		valid bool
	}{
		{name: "public key", args: []string{"--public-key", pubFile, "--issuer", kit.GrantIssuer, grant}, valid: true},
		{name: "jwks", args: []string{"--jwks", s.URL + "/.well-known/jwks.json", "--issuer", gatepassIssuer, "--audience", "office-router", grant}, valid: true},
		{name: "supabase secret", args: []string{"--secret-file", secretFile, "--issuer", "qubital-backend", "--audience", "authenticated", rt}, valid: true},
		{name: "wrong issuer", args: []string{"--public-key", pubFile, "--issuer", "someone-else", grant}},
		{name: "wrong audience", args: []string{"--public-key", pubFile, "--issuer", gatepassIssuer, "--audience", "other", grant}},
		{name: "tampered", args: []string{"--public-key", pubFile, "--issuer", gatepassIssuer, tampered}},
		{name: "HS256 token against a public key", args: []string{"--public-key", pubFile, "--issuer", "qubital-backend", rt}},
		{name: "no key source", args: []string{grant}},
		{name: "garbage", args: []string{"--public-key", pubFile, "garbage"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, err := kit.Run(t, nil, append([]string{"token", "verify"}, tt.args...)...)
			if (err == nil) != tt.valid {
				t.Fatalf("valid=%v, got err %v: %s", tt.valid, err, stderr)
			}
		})
	}
}

// TestTokenVerifyWithEveryKeyType: --public-key takes the key types gatepass
// signs with, as SPKI or as the private key's PEM.
func TestTokenVerifyWithEveryKeyType(t *testing.T) {
	idp := kit.NewIdentityProvider(t)
	bearer := idp.Token(t, "user_1", "org_1", "member", time.Minute)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	for alg, key := range map[string]crypto.Signer{"ES256": ecKey, "EdDSA": edKey} {
		t.Run(alg, func(t *testing.T) {
			privPEM := kit.PrivatePEM(t, key)
			s := kit.Start(t, kit.ProductionEnv(idp, privPEM, debug, map[string]string{"JWT_ALGORITHM": alg}))
			grant := kit.Post(t, s.URL+kit.OfficePath, kit.Bearer(bearer)).Token(t)
			pubDER, _ := x509.MarshalPKIXPublicKey(key.Public())
			dir := t.TempDir()
			pubFile, privFile := filepath.Join(dir, "pub.pem"), filepath.Join(dir, "priv.pem")
			os.WriteFile(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644)
			os.WriteFile(privFile, []byte(privPEM), 0o600)
			for _, f := range []string{pubFile, privFile} {
				if _, stderr, err := kit.Run(t, nil, "token", "verify", "--public-key", f, "--issuer", gatepassIssuer, "--alg", alg, grant); err != nil {
					t.Errorf("%s: %s", filepath.Base(f), kit.ExitError(err, stderr))
				}
			}
			other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			otherDER, _ := x509.MarshalPKIXPublicKey(other.Public())
			os.WriteFile(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: otherDER}), 0o644)
			if _, _, err := kit.Run(t, nil, "token", "verify", "--public-key", pubFile, "--issuer", gatepassIssuer, grant); err == nil {
				t.Error("verified with another key")
			}
		})
	}
}
