package e2e_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatepass/gatepass/test/inproc"
	"github.com/gatepass/gatepass/test/kit"
)

func TestRotationPublishesBothKeys(t *testing.T) {
	t.Parallel()
	idp := kit.NewIdentityProvider(t)
	oldKey, oldPEM := kit.NewRSAKey(t, 2048)
	newKey, newPEM := kit.NewRSAKey(t, 2048)
	bearer := idp.Token(t, "user_1", "org_1", "member", time.Minute)

	before := inproc.Serve(t, kit.ProductionEnv(idp, oldPEM, debug))
	oldToken := kit.Post(t, before.URL+kit.OfficePath, kit.Bearer(bearer)).Token(t)
	before.Kill()

	oldPub, _ := x509.MarshalPKIXPublicKey(&oldKey.PublicKey)
	env := kit.ProductionEnv(idp, newPEM, debug, map[string]string{
		"JWT_VERIFICATION_KEYS": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: oldPub}))})
	after := inproc.Serve(t, env)
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
	dropped := inproc.Serve(t, kit.ProductionEnv(idp, newPEM, debug))
	if _, _, err := kit.Run(t, nil, "token", "verify", "--jwks", dropped.URL+kit.JWKSPath, "--issuer", gatepassIssuer, oldToken); err == nil {
		t.Error("old token still verifies after its key was dropped")
	}
}

// gatepassIssuer is the iss of the grants of baseEnv's gatepass.
const gatepassIssuer = kit.GrantIssuer

func TestTokenInspectAndVerify(t *testing.T) {
	t.Parallel()
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
			t.Parallel()
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
	t.Parallel()
	idp := kit.NewIdentityProvider(t)
	bearer := idp.Token(t, "user_1", "org_1", "member", time.Minute)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	for alg, key := range map[string]crypto.Signer{"ES256": ecKey, "EdDSA": edKey} {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			privPEM := kit.PrivatePEM(t, key)
			s := inproc.Serve(t, kit.ProductionEnv(idp, privPEM, debug, map[string]string{"JWT_ALGORITHM": alg}))
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
