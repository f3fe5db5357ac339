package e2e_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gatepass/gatepass/adapters/pkcs11signer/softhsmtest"
	"github.com/gatepass/gatepass/test/inproc"
	"github.com/gatepass/gatepass/test/kit"
)

// verifyAsymmetric checks a JWS with the standard library only, for the
// four algorithms gatepass signs with.
func verifyAsymmetric(token string, pub crypto.PublicKey) (jws, error) {
	h, p, sig, input, err := splitJWS(token)
	if err != nil {
		return jws{}, err
	}
	header, err := decodeJSON(h)
	if err != nil {
		return jws{}, err
	}
	digest := sha256.Sum256([]byte(input))
	switch alg := header["alg"]; alg {
	case "RS256":
		err = rsa.VerifyPKCS1v15(pub.(*rsa.PublicKey), crypto.SHA256, digest[:], sig)
	case "PS256":
		err = rsa.VerifyPSS(pub.(*rsa.PublicKey), crypto.SHA256, digest[:], sig, &rsa.PSSOptions{SaltLength: sha256.Size})
	case "ES256":
		if len(sig) != 64 {
			return jws{}, fmt.Errorf("ES256 signature of %d bytes, want 64 (r||s)", len(sig))
		}
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		if !ecdsa.Verify(pub.(*ecdsa.PublicKey), digest[:], r, s) {
			err = fmt.Errorf("bad ES256 signature")
		}
	case "EdDSA":
		if !ed25519.Verify(pub.(ed25519.PublicKey), []byte(input), sig) {
			err = fmt.Errorf("bad EdDSA signature")
		}
	default:
		err = fmt.Errorf("alg %v", alg)
	}
	if err != nil {
		return jws{}, err
	}
	claims, err := decodeJSON(p)
	return jws{Header: header, Claims: claims}, err
}

// TestSignersAndAlgorithms serves gatepass with each signer backend and
// algorithm, and verifies its grants with the standard library.
func TestSignersAndAlgorithms(t *testing.T) {
	t.Parallel()
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	tests := []struct {
		signer, alg string
		key         crypto.Signer
		wantBackend string
	}{
		{"go", "RS256", rsaKey, "go"},
		{"openssl", "RS256", rsaKey, "openssl"},
		{"auto", "RS256", rsaKey, "openssl"}, // libcrypto 3 is on these machines
		{"go", "PS256", rsaKey, "go"},
		{"openssl", "PS256", rsaKey, "openssl"},
		{"go", "ES256", ecKey, "go"},
		{"openssl", "ES256", ecKey, "openssl"},
		{"go", "EdDSA", edKey, "go"},
		{"openssl", "EdDSA", edKey, "openssl"},
	}
	idp := kit.NewIdentityProvider(t)
	bearer := idp.Token(t, "user_1", "org_1", "admin", 5*time.Minute)
	for _, tt := range tests {
		t.Run(tt.signer+"/"+tt.alg, func(t *testing.T) {
			t.Parallel()
			env := kit.ProductionEnv(idp, kit.PrivatePEM(t, tt.key), debug, map[string]string{"JWT_SIGNER": tt.signer, "JWT_ALGORITHM": tt.alg})
			s := inproc.Serve(t, env)
			checkGrant(t, s, bearer, tt.alg, tt.key.Public(), tt.wantBackend)
		})
	}
}

func checkGrant(t *testing.T, s *kit.Process, bearer, alg string, pub crypto.PublicKey, backend string) {
	t.Helper()
	code, body := kit.Ready(t, s.AdminURL)
	if code != 200 || !strings.HasPrefix(body.Checks["signer"].Detail, backend+" "+alg+" ") {
		t.Fatalf("readyz %d %v, want signer %s %s", code, body, backend, alg)
	}
	// The public port says only whether it is ready; the details stay on
	// the admin port.
	if code, body := kit.Ready(t, s.URL); code != 200 || body.Status != "ready" || len(body.Checks) != 0 {
		t.Fatalf("public readyz %d %v", code, body)
	}
	r := kit.Post(t, s.URL+kit.OfficePath, kit.Bearer(bearer))
	if r.Status != 200 {
		t.Fatalf("grant: %d %s", r.Status, r.Body)
	}
	got, err := verifyAsymmetric(r.Token(t), pub)
	if err != nil {
		t.Fatalf("grant does not verify: %v", err)
	}
	if got.Header["alg"] != alg || got.Claims["orgId"] != "org_1" {
		t.Fatalf("header %v claims %v", got.Header, got.Claims)
	}
	var set struct{ Keys []map[string]string }
	if err := json.Unmarshal(kit.Get(t, s.URL+kit.JWKSPath).Body, &set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("jwks: %v", err)
	}
	if set.Keys[0]["alg"] != alg || set.Keys[0]["kid"] != got.Header["kid"] {
		t.Fatalf("jwks key %v, token header %v", set.Keys[0], got.Header)
	}
}

// TestPKCS11Signer signs inside a SoftHSM2 token that the test initialises;
// the private key is generated there and never leaves it. On the binary,
// and not in parallel: each token is found through SOFTHSM2_CONF, set in
// the environment, and a process initialises the module once.
func TestPKCS11Signer(t *testing.T) {
	idp := kit.NewIdentityProvider(t)
	bearer := idp.Token(t, "user_1", "org_1", "admin", 5*time.Minute)
	for _, alg := range []string{"RS256", "ES256"} {
		t.Run(alg, func(t *testing.T) {
			tok := softhsmtest.New(t)
			tok.Generate(t, alg, "office-"+alg)
			cfg := tok.Config("office-" + alg)
			env := kit.ProductionEnv(idp, "", debug, map[string]string{
				"JWT_PRIVATE_KEY": "", "JWT_SIGNER": "pkcs11", "JWT_ALGORITHM": alg,
				"PKCS11_MODULE": cfg.Module, "PKCS11_TOKEN_LABEL": cfg.TokenLabel, "PKCS11_PIN": cfg.PIN, "PKCS11_KEY_LABEL": cfg.KeyLabel,
				"SOFTHSM2_CONF": os.Getenv("SOFTHSM2_CONF"),
			})
			s := kit.Start(t, env)
			// The token's public key, as the server publishes it.
			pubPEM, stderr, err := kit.Run(t, env, "keys", "public")
			if err != nil {
				t.Fatalf("keys public: %s", kit.ExitError(err, stderr))
			}
			block, _ := pem.Decode([]byte(pubPEM))
			if block == nil {
				t.Fatalf("keys public printed %q", pubPEM)
			}
			pub, err := x509.ParsePKIXPublicKey(block.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			checkGrant(t, s, bearer, alg, pub, "pkcs11")
			if strings.Contains(s.Logs(), cfg.PIN+`"`) {
				t.Error("the PIN is in the logs")
			}
			s.Kill()
		})
	}
	t.Run("wrong PIN fails the start", func(t *testing.T) {
		tok := softhsmtest.New(t)
		tok.Generate(t, "RS256", "office")
		cfg := tok.Config("office")
		env := kit.ProductionEnv(idp, "", debug, map[string]string{
			"JWT_PRIVATE_KEY": "", "JWT_SIGNER": "pkcs11", "PKCS11_MODULE": cfg.Module, "PKCS11_TOKEN_LABEL": cfg.TokenLabel,
			"PKCS11_PIN": "wrong-pin-7d1e", "PKCS11_KEY_LABEL": cfg.KeyLabel, "SOFTHSM2_CONF": os.Getenv("SOFTHSM2_CONF"),
			"HTTP_ADDR": kit.FreeAddr(t), "ADMIN_ADDR": kit.FreeAddr(t),
		})
		_, stderr, err := kit.Run(t, env, "serve")
		if err == nil || !strings.Contains(stderr, "JWT_SIGNER=pkcs11") || strings.Contains(stderr, "wrong-pin-7d1e") {
			t.Fatalf("start with a wrong PIN: %v\n%s", err, stderr)
		}
	})
}

func TestKeyMustFitTheAlgorithm(t *testing.T) {
	t.Parallel()
	idp := kit.NewIdentityProvider(t)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, rsaPEM := kit.NewRSAKey(t, 2048)
	tests := []struct{ name, alg, key string }{
		{"EC key for RS256", "RS256", kit.PrivatePEM(t, ecKey)},
		{"RSA key for ES256", "ES256", rsaPEM},
		{"RSA key for EdDSA", "EdDSA", rsaPEM},
		{"unknown algorithm", "HS256", rsaPEM},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := kit.ProductionEnv(idp, tt.key, debug, map[string]string{"JWT_ALGORITHM": tt.alg, "HTTP_ADDR": kit.FreeAddr(t)})
			_, stderr, err := kit.Run(t, env, "serve")
			if err == nil || !strings.Contains(stderr, "JWT_") {
				t.Fatalf("started: %v\n%s", err, stderr)
			}
		})
	}
}
