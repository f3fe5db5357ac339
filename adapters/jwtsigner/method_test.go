package jwtsigner

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/asn1"
	"errors"
	"io"
	"math/big"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/foundation/jwa"
	"github.com/gatepass/gatepass/test/kit"
)

func TestMethodForEveryAlgorithm(t *testing.T) {
	for _, alg := range jwa.Algorithms() {
		m, err := methodFor(alg)
		if err != nil {
			t.Fatalf("methodFor(%s): %v", alg, err)
		}
		if m.Alg() != alg {
			t.Errorf("methodFor(%s).Alg() = %s", alg, m.Alg())
		}
	}
	if _, err := methodFor("HS256"); !errors.Is(err, jwa.ErrUnsupportedAlgorithm) {
		t.Errorf("methodFor(HS256) err = %v, want %v", err, jwa.ErrUnsupportedAlgorithm)
	}
}

// recordingSigner records what the method asks of the crypto.Signer.
type recordingSigner struct {
	crypto.Signer
	digest []byte
	opts   crypto.SignerOpts
}

func (r *recordingSigner) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	r.digest, r.opts = digest, opts
	return r.Signer.Sign(rand, digest, opts)
}

func TestSignAsksTheSignerForTheAlgorithm(t *testing.T) {
	const input = "header.payload"
	sum := crypto.SHA256.New()
	sum.Write([]byte(input))
	digest := sum.Sum(nil)

	rsaKey := mustRSA(t, 2048)
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		alg        string
		key        crypto.Signer
		wantDigest []byte
		wantHash   crypto.Hash
		wantPSS    bool
	}{
		{jwa.RS256, rsaKey, digest, crypto.SHA256, false},
		{jwa.PS256, rsaKey, digest, crypto.SHA256, true},
		{jwa.EdDSA, edKey, []byte(input), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.alg, func(t *testing.T) {
			m, err := methodFor(tt.alg)
			if err != nil {
				t.Fatal(err)
			}
			rec := &recordingSigner{Signer: tt.key}
			sig, err := m.Sign(input, rec)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			if !bytes.Equal(rec.digest, tt.wantDigest) {
				t.Errorf("signer got %x, want %x", rec.digest, tt.wantDigest)
			}
			if rec.opts.HashFunc() != tt.wantHash {
				t.Errorf("signer hash = %v, want %v", rec.opts.HashFunc(), tt.wantHash)
			}
			pss, isPSS := rec.opts.(*rsa.PSSOptions)
			if isPSS != tt.wantPSS || (isPSS && pss.SaltLength != rsa.PSSSaltLengthEqualsHash) {
				t.Errorf("signer opts = %#v, want PSS %t with salt = hash length", rec.opts, tt.wantPSS)
			}
			if err := m.Verify(input, sig, tt.key.Public()); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
}

// fixedSigner returns a canned signature.
type fixedSigner struct {
	pub crypto.PublicKey
	sig []byte
}

func (f fixedSigner) Public() crypto.PublicKey { return f.pub }
func (f fixedSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return f.sig, nil
}

func TestES256RawSignature(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der := func(r, s *big.Int) []byte {
		b, err := asn1.Marshal(struct{ R, S *big.Int }{r, s})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	one := big.NewInt(1)
	maxRS := new(big.Int).Sub(new(big.Int).Lsh(one, 256), one)
	tooBig := new(big.Int).Lsh(one, 256)
	valid := der(big.NewInt(0x0102), maxRS)

	tests := []struct {
		name    string
		sig     []byte
		want    []byte
		wantErr error
	}{
		{
			name: "short r is left-padded",
			sig:  valid,
			want: append(append(make([]byte, 30), 0x01, 0x02), bytes.Repeat([]byte{0xff}, 32)...),
		},
		{name: "r of 257 bits", sig: der(tooBig, one), wantErr: ErrMalformedSignature},
		{name: "zero s", sig: der(one, big.NewInt(0)), wantErr: ErrMalformedSignature},
		{name: "negative r", sig: der(big.NewInt(-1), one), wantErr: ErrMalformedSignature},
		{name: "trailing bytes", sig: append(valid, 0), wantErr: ErrMalformedSignature},
		{name: "raw instead of DER", sig: make([]byte, 64), wantErr: ErrMalformedSignature},
	}
	m, err := methodFor(jwa.ES256)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := m.Sign("x.y", fixedSigner{pub: &key.PublicKey, sig: tt.sig})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Sign err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil && !bytes.Equal(got, tt.want) {
				t.Errorf("Sign = %x, want %x", got, tt.want)
			}
		})
	}

	// And a real signature verifies with golang-jwt's ES256.
	sig, err := m.Sign("x.y", key)
	if err != nil {
		t.Fatal(err)
	}
	if err := jwt.SigningMethodES256.Verify("x.y", sig, &key.PublicKey); err != nil {
		t.Errorf("golang-jwt rejects the raw signature: %v", err)
	}
}

func TestSignRejectsNonSigner(t *testing.T) {
	m, err := methodFor(jwa.RS256)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Sign("x.y", []byte("secret")); !errors.Is(err, jwt.ErrInvalidKeyType) {
		t.Errorf("Sign with []byte err = %v, want %v", err, jwt.ErrInvalidKeyType)
	}
}

func mustRSA(t testing.TB, bits int) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// keysByAlgorithm is a Go key for each algorithm; RS256 and PS256 share
// one RSA key.
func keysByAlgorithm(t testing.TB) map[string]crypto.Signer {
	t.Helper()
	ecKey := kit.NewECKey(t)
	edKey := kit.NewEd25519Key(t)
	rsaKey := mustRSA(t, 2048)
	return map[string]crypto.Signer{jwa.RS256: rsaKey, jwa.PS256: rsaKey, jwa.ES256: ecKey, jwa.EdDSA: edKey}
}

// TestSignerConstructorsRefuseWhatCannotVerify: an office key that does
// not fit its algorithm, and a Centrifugo signer over an algorithm
// Centrifugo cannot verify, are refused where they are made, not at the
// first signature.
func TestSignerConstructorsRefuseWhatCannotVerify(t *testing.T) {
	keys := keysByAlgorithm(t)
	tests := []struct {
		name    string
		key     crypto.Signer
		alg     string
		wantErr error
		// centrifugoErr is what NewCentrifugoSigner answers over the
		// office signer, when that is made.
		centrifugoErr error
	}{
		{name: "RS256 RSA", key: keys[jwa.RS256], alg: jwa.RS256},
		{name: "ES256 EC", key: keys[jwa.ES256], alg: jwa.ES256},
		{name: "EdDSA Ed25519", key: keys[jwa.EdDSA], alg: jwa.EdDSA},
		{name: "PS256 RSA", key: keys[jwa.PS256], alg: jwa.PS256, centrifugoErr: ErrCentrifugoAlgorithm},
		{name: "RS256 EC key", key: keys[jwa.ES256], alg: jwa.RS256, wantErr: jwa.ErrKeyMismatch},
		{name: "ES256 RSA key", key: keys[jwa.RS256], alg: jwa.ES256, wantErr: jwa.ErrKeyMismatch},
		{name: "EdDSA EC key", key: keys[jwa.ES256], alg: jwa.EdDSA, wantErr: jwa.ErrKeyMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewOfficeSigner(tt.key, tt.alg)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("NewOfficeSigner = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if _, err := NewCentrifugoSigner(s); !errors.Is(err, tt.centrifugoErr) {
				t.Errorf("NewCentrifugoSigner = %v, want %v", err, tt.centrifugoErr)
			}
		})
	}
}
