//go:build cgo

package opensslsigner

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"fmt"
	"io"
	"math/big"
	"sync"

	"github.com/golang-fips/openssl/v2"
	"github.com/golang-fips/openssl/v2/bbig"
)

var (
	initOnce sync.Once
	initErr  error
)

// Available loads and initialises Library the first time it is called and
// reports, then and on every later call, whether that worked; a nil error
// means New can import keys. Call it at start-up to choose a backend
// (JWT_SIGNER=auto) or to fail early (JWT_SIGNER=openssl).
func Available() error {
	initOnce.Do(func() {
		if err := openssl.Init(Library); err != nil {
			initErr = fmt.Errorf("%w: load %s: %v", ErrUnavailable, Library, err)
		}
	})
	return initErr
}

// Version is the loaded OpenSSL's version text, for the start-up log, or
// "" when Available fails.
func Version() string {
	if Available() != nil {
		return ""
	}
	return openssl.VersionText()
}

// Signer is a private key held in OpenSSL. It is a crypto.Signer, safe for
// concurrent use; OpenSSL frees the key when the Signer is garbage
// collected, so there is nothing to close.
type Signer struct {
	pub   crypto.PublicKey
	rsa   *openssl.PrivateKeyRSA
	ecdsa *openssl.PrivateKeyECDSA
	ed    *openssl.PrivateKeyEd25519
}

// New imports key into OpenSSL once; every Sign then uses that copy, and
// the caller may drop key. key is a Go private key as gosigner.Load returns
// it: an *rsa.PrivateKey (two primes) for RS256 or PS256, an
// *ecdsa.PrivateKey on P-256 for ES256, or an ed25519.PrivateKey for
// EdDSA. New calls Available first; its errors wrap ErrUnavailable or
// ErrUnsupportedKey, and never quote key material.
func New(key crypto.Signer) (*Signer, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return newRSA(k)
	case *ecdsa.PrivateKey:
		return newECDSA(k)
	case ed25519.PrivateKey:
		return newEd25519(k)
	default:
		return nil, fmt.Errorf("%w: %T", ErrUnsupportedKey, key)
	}
}

func newRSA(k *rsa.PrivateKey) (*Signer, error) {
	if len(k.Primes) != 2 {
		return nil, fmt.Errorf("%w: RSA key with %d primes", ErrUnsupportedKey, len(k.Primes))
	}
	p, q := k.Primes[0], k.Primes[1]
	dp, dq, qinv := k.Precomputed.Dp, k.Precomputed.Dq, k.Precomputed.Qinv
	if dp == nil || dq == nil || qinv == nil {
		// OpenSSL signs with the CRT values; compute them here rather than
		// call Precompute, which would change the caller's key.
		one := big.NewInt(1)
		dp = new(big.Int).Mod(k.D, new(big.Int).Sub(p, one))
		dq = new(big.Int).Mod(k.D, new(big.Int).Sub(q, one))
		qinv = new(big.Int).ModInverse(q, p)
		if qinv == nil {
			return nil, fmt.Errorf("%w: RSA primes are not coprime", ErrUnsupportedKey)
		}
	}
	priv, err := openssl.NewPrivateKeyRSA(
		bbig.Enc(k.N), bbig.Enc(big.NewInt(int64(k.E))), bbig.Enc(k.D),
		bbig.Enc(p), bbig.Enc(q), bbig.Enc(dp), bbig.Enc(dq), bbig.Enc(qinv),
	)
	if err != nil {
		return nil, fmt.Errorf("import RSA key into openssl: %w", err)
	}
	pub := k.PublicKey
	return &Signer{pub: &pub, rsa: priv}, nil
}

func newECDSA(k *ecdsa.PrivateKey) (*Signer, error) {
	if k.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%w: curve %s", ErrUnsupportedKey, k.Curve.Params().Name)
	}
	d, err := k.Bytes()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedKey, err)
	}
	point, err := k.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedKey, err)
	}
	x := new(big.Int).SetBytes(point[1:33])
	y := new(big.Int).SetBytes(point[33:])
	priv, err := openssl.NewPrivateKeyECDSA("P-256", bbig.Enc(x), bbig.Enc(y), bbig.Enc(new(big.Int).SetBytes(d)))
	if err != nil {
		return nil, fmt.Errorf("import ECDSA key into openssl: %w", err)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedKey, err)
	}
	return &Signer{pub: pub, ecdsa: priv}, nil
}

func newEd25519(k ed25519.PrivateKey) (*Signer, error) {
	if len(k) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: Ed25519 key of %d bytes", ErrUnsupportedKey, len(k))
	}
	if !openssl.SupportsEd25519() {
		return nil, fmt.Errorf("%w: this OpenSSL has no Ed25519", ErrUnsupportedKey)
	}
	priv, err := openssl.NewPrivateKeyEd25519FromSeed(k.Seed())
	if err != nil {
		return nil, fmt.Errorf("import Ed25519 key into openssl: %w", err)
	}
	pub := append(ed25519.PublicKey(nil), k.Public().(ed25519.PublicKey)...)
	return &Signer{pub: pub, ed: priv}, nil
}

// Public returns the public half as a Go key (*rsa.PublicKey,
// *ecdsa.PublicKey or ed25519.PublicKey).
func (s *Signer) Public() crypto.PublicKey { return s.pub }

// Sign signs as the Go key of the same type would, taking randomness from
// OpenSSL rather than rand. RSA: digest is the hash named by opts, signed
// with PKCS#1 v1.5, or with PSS when opts is an *rsa.PSSOptions
// (rsa.PSSSaltLengthEqualsHash or an explicit length; rsa.PSSSaltLengthAuto
// means the longest salt, as in crypto/rsa). ECDSA: digest is signed and
// the signature returned in ASN.1 DER. Ed25519: opts.HashFunc() must be 0
// and digest is the whole message.
func (s *Signer) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	h := opts.HashFunc()
	switch {
	case s.ed != nil:
		if h != 0 {
			return nil, fmt.Errorf("%w: Ed25519 signs the message, not a %v digest", ErrUnsupportedOptions, h)
		}
		return openssl.SignEd25519(s.ed, digest)
	case h == 0 || !h.Available() || len(digest) != h.Size():
		return nil, fmt.Errorf("%w: hash %v with a %d-byte digest", ErrUnsupportedOptions, h, len(digest))
	case s.ecdsa != nil:
		return openssl.SignMarshalECDSA(s.ecdsa, digest)
	}
	if pss, ok := opts.(*rsa.PSSOptions); ok {
		salt := pss.SaltLength
		if salt == rsa.PSSSaltLengthEqualsHash {
			// Explicit, so nothing depends on how OpenSSL reads -1.
			salt = h.Size()
		}
		return openssl.SignRSAPSS(s.rsa, h, digest, salt)
	}
	return openssl.SignRSAPKCS1v15(s.rsa, h, digest)
}
