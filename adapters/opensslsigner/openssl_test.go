//go:build cgo

package opensslsigner_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"testing"

	"github.com/gatepass/gatepass/adapters/gosigner"
	"github.com/gatepass/gatepass/adapters/opensslsigner"
	"github.com/gatepass/gatepass/adapters/signertest"
	"github.com/gatepass/gatepass/foundation/jwa"
	"github.com/gatepass/gatepass/test/signerkinds"
)

// algorithms are those this backend signs: all of jwa.Algorithms.
var algorithms = []string{jwa.RS256, jwa.PS256, jwa.ES256, jwa.EdDSA}

func requireOpenSSL(t testing.TB) {
	t.Helper()
	if err := opensslsigner.Available(); err != nil {
		t.Fatalf("%v; the OpenSSL signer needs %s (Debian package libssl3) and a cgo build", err, opensslsigner.Library)
	}
}

func newSigner(t testing.TB, key crypto.Signer) *opensslsigner.Signer {
	t.Helper()
	requireOpenSSL(t)
	s, err := opensslsigner.New(key)
	if err != nil {
		t.Fatalf("New(%T): %v", key, err)
	}
	return s
}

func generate(t testing.TB, alg string) crypto.Signer {
	t.Helper()
	key, err := gosigner.Generate(alg)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func TestAvailable(t *testing.T) {
	requireOpenSSL(t)
	if opensslsigner.Version() == "" {
		t.Error("Version() is empty though libcrypto loaded")
	}
	t.Logf("signing with %s", opensslsigner.Version())
}

func TestConformance(t *testing.T) {
	signertest.RunConformanceTests(t, func(t *testing.T, alg string) crypto.Signer {
		return newSigner(t, generate(t, alg))
	}, algorithms, signerkinds.Centrifugo)
}

// TestSameTokenAsGoSigner signs the same claims with the same key in Go and
// in OpenSSL. RS256 (PKCS#1 v1.5) and EdDSA are deterministic, so the
// tokens must be byte-identical.
func TestSameTokenAsGoSigner(t *testing.T) {
	for _, alg := range []string{jwa.RS256, jwa.EdDSA} {
		t.Run(alg, func(t *testing.T) {
			key := generate(t, alg)
			want := signertest.SignFixed(t, key, alg)
			got := signertest.SignFixed(t, newSigner(t, key), alg)
			if got != want {
				t.Errorf("OpenSSL token differs from Go's:\n got %s\nwant %s", got, want)
			}
		})
	}
}

// TestNewWithoutPrecomputedValues imports an RSA key whose CRT values were
// never computed, and leaves the caller's key untouched.
func TestNewWithoutPrecomputedValues(t *testing.T) {
	full := generate(t, jwa.RS256).(*rsa.PrivateKey)
	bare := &rsa.PrivateKey{PublicKey: full.PublicKey, D: full.D, Primes: full.Primes}
	s := newSigner(t, bare)
	if bare.Precomputed.Dp != nil {
		t.Error("New changed the caller's key")
	}
	digest := sha256.Sum256([]byte("message"))
	sig, err := s.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if err := rsa.VerifyPKCS1v15(&full.PublicKey, crypto.SHA256, digest[:], sig); err != nil {
		t.Errorf("signature does not verify: %v", err)
	}
}

type otherSigner struct{ crypto.Signer }

func TestNewRejectsUnsupportedKeys(t *testing.T) {
	requireOpenSSL(t)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	full := generate(t, jwa.RS256).(*rsa.PrivateKey)
	threePrimes := &rsa.PrivateKey{PublicKey: full.PublicKey, D: full.D, Primes: append(full.Primes, full.Primes[0])}
	tests := []struct {
		name string
		key  crypto.Signer
	}{
		{"ECDSA P-384", p384},
		{"RSA with three primes", threePrimes},
		{"truncated Ed25519", ed25519.PrivateKey(make([]byte, 10))},
		{"unknown signer type", otherSigner{full}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := opensslsigner.New(tt.key); !errors.Is(err, opensslsigner.ErrUnsupportedKey) {
				t.Errorf("New() err = %v, want %v", err, opensslsigner.ErrUnsupportedKey)
			}
		})
	}
}

func TestSignRejectsWrongOptions(t *testing.T) {
	rsaSigner := newSigner(t, generate(t, jwa.RS256))
	ecSigner := newSigner(t, generate(t, jwa.ES256))
	edSigner := newSigner(t, generate(t, jwa.EdDSA))
	digest := sha256.Sum256([]byte("message"))
	tests := []struct {
		name   string
		signer crypto.Signer
		digest []byte
		opts   crypto.SignerOpts
	}{
		{"RSA without a hash", rsaSigner, digest[:], crypto.Hash(0)},
		{"RSA digest of the wrong length", rsaSigner, digest[:20], crypto.SHA256},
		{"ECDSA digest of the wrong length", ecSigner, digest[:20], crypto.SHA256},
		{"Ed25519 asked for a SHA-256 digest", edSigner, digest[:], crypto.SHA256},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.signer.Sign(rand.Reader, tt.digest, tt.opts); !errors.Is(err, opensslsigner.ErrUnsupportedOptions) {
				t.Errorf("Sign() err = %v, want %v", err, opensslsigner.ErrUnsupportedOptions)
			}
		})
	}
}

func BenchmarkSign(b *testing.B) {
	for _, alg := range algorithms {
		s := newSigner(b, generate(b, alg))
		b.Run(alg, func(b *testing.B) { signertest.BenchmarkSign(b, s, alg) })
	}
}
