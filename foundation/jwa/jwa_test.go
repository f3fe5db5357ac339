package jwa_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"slices"
	"testing"

	"github.com/gatepass/gatepass/foundation/jwa"
	"github.com/gatepass/gatepass/test/kit"
)

// keys are one public key of each type and size the tests tell apart.
type keys struct {
	rsa2048, rsa1024 *rsa.PrivateKey
	p256, p384       *ecdsa.PrivateKey
	ed               crypto.PublicKey
}

func newKeys(t *testing.T) keys {
	t.Helper()
	rsa2048, _ := kit.NewRSAKey(t, 2048)
	rsa1024, _ := kit.NewRSAKey(t, 1024)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return keys{rsa2048: rsa2048, rsa1024: rsa1024, p256: kit.NewECKey(t), p384: p384, ed: kit.NewEd25519Key(t).Public()}
}

func TestAlgorithms(t *testing.T) {
	// The order is the one JWT_ALGORITHM's and keys generate's errors list.
	if got, want := jwa.Algorithms(), []string{jwa.RS256, jwa.PS256, jwa.ES256, jwa.EdDSA}; !slices.Equal(got, want) {
		t.Errorf("Algorithms() = %v, want %v", got, want)
	}
}

func TestKeyMatches(t *testing.T) {
	k := newKeys(t)
	tests := []struct {
		name    string
		alg     string
		pub     crypto.PublicKey
		wantErr error
	}{
		{"RS256 RSA 2048", jwa.RS256, &k.rsa2048.PublicKey, nil},
		{"PS256 RSA 2048", jwa.PS256, &k.rsa2048.PublicKey, nil},
		{"ES256 P-256", jwa.ES256, &k.p256.PublicKey, nil},
		{"EdDSA Ed25519", jwa.EdDSA, k.ed, nil},
		{"RS256 RSA 1024", jwa.RS256, &k.rsa1024.PublicKey, jwa.ErrKeyMismatch},
		{"PS256 RSA 1024", jwa.PS256, &k.rsa1024.PublicKey, jwa.ErrKeyMismatch},
		{"RS256 EC key", jwa.RS256, &k.p256.PublicKey, jwa.ErrKeyMismatch},
		{"ES256 P-384", jwa.ES256, &k.p384.PublicKey, jwa.ErrKeyMismatch},
		{"ES256 RSA key", jwa.ES256, &k.rsa2048.PublicKey, jwa.ErrKeyMismatch},
		{"EdDSA EC key", jwa.EdDSA, &k.p256.PublicKey, jwa.ErrKeyMismatch},
		{"RS256 private key", jwa.RS256, k.rsa2048, jwa.ErrKeyMismatch},
		{"RS256 nil", jwa.RS256, nil, jwa.ErrKeyMismatch},
		{"HS256", "HS256", &k.rsa2048.PublicKey, jwa.ErrUnsupportedAlgorithm},
		{"lower-case rs256", "rs256", &k.rsa2048.PublicKey, jwa.ErrUnsupportedAlgorithm},
		{"none", "none", &k.rsa2048.PublicKey, jwa.ErrUnsupportedAlgorithm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := jwa.KeyMatches(tt.alg, tt.pub); !errors.Is(err, tt.wantErr) {
				t.Errorf("KeyMatches(%s) = %v, want %v", tt.alg, err, tt.wantErr)
			}
		})
	}
}

func TestAlgorithmFor(t *testing.T) {
	k := newKeys(t)
	tests := []struct {
		name      string
		pub       crypto.PublicKey
		preferred string
		want      string
		wantErr   error
	}{
		{"RSA keeps PS256", &k.rsa2048.PublicKey, jwa.PS256, jwa.PS256, nil},
		{"RSA keeps RS256", &k.rsa2048.PublicKey, jwa.RS256, jwa.RS256, nil},
		{"RSA under ES256 is RS256", &k.rsa2048.PublicKey, jwa.ES256, jwa.RS256, nil},
		{"P-256 under PS256 is ES256", &k.p256.PublicKey, jwa.PS256, jwa.ES256, nil},
		{"Ed25519 under RS256 is EdDSA", k.ed, jwa.RS256, jwa.EdDSA, nil},
		{"unknown preferred falls back", &k.rsa2048.PublicKey, "HS256", jwa.RS256, nil},
		{"short RSA fits nothing", &k.rsa1024.PublicKey, jwa.RS256, "", jwa.ErrKeyMismatch},
		{"P-384 fits nothing", &k.p384.PublicKey, jwa.ES256, "", jwa.ErrKeyMismatch},
		{"private key fits nothing", k.rsa2048, jwa.RS256, "", jwa.ErrKeyMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := jwa.AlgorithmFor(tt.pub, tt.preferred)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("AlgorithmFor(%s) err = %v, want %v", tt.preferred, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("AlgorithmFor(%s) = %q, want %q", tt.preferred, got, tt.want)
			}
		})
	}
}
