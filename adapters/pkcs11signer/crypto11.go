//go:build cgo

package pkcs11signer

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"fmt"
	"io"
	"sync"

	"github.com/ThalesGroup/crypto11"
)

// Signer is a private key in a PKCS#11 token. It is a crypto.Signer, safe
// for concurrent use: each Sign borrows a session from crypto11's pool.
// Close it when done.
type Signer struct {
	ctx *crypto11.Context
	key crypto11.Signer
	pub crypto.PublicKey

	closeOnce sync.Once
	closeErr  error
}

// Open loads cfg.Module, logs into the token labelled cfg.TokenLabel with
// cfg.PIN, and finds the key pair labelled cfg.KeyLabel, which must be RSA
// (for RS256 and PS256; check the size with jwa.KeyMatches) or ECDSA
// P-256 (for ES256). The session and login last until Close. Errors wrap
// ErrConfig, ErrToken, ErrKeyNotFound or ErrUnsupportedKey.
//
// PKCS#11 modules are loaded once per process and path; SoftHSM2 reads
// its configuration (SOFTHSM2_CONF) when the first Signer on the module
// opens.
func Open(cfg Config) (*Signer, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	ctx, err := crypto11.Configure(&crypto11.Config{
		Path:       cfg.Module,
		TokenLabel: cfg.TokenLabel,
		Pin:        cfg.PIN,
	})
	if err != nil {
		return nil, fmt.Errorf("%w %q with module %s: %w", ErrToken, cfg.TokenLabel, cfg.Module, err)
	}
	s, err := find(ctx, cfg.KeyLabel)
	if err != nil {
		_ = ctx.Close()
		return nil, err
	}
	return s, nil
}

func find(ctx *crypto11.Context, label string) (*Signer, error) {
	keys, err := ctx.FindKeyPairs(nil, []byte(label))
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %w", ErrKeyNotFound, label, err)
	}
	switch len(keys) {
	case 0:
		return nil, fmt.Errorf("%w: no key pair labelled %q (with a CKA_ID)", ErrKeyNotFound, label)
	case 1:
	default:
		// Signing with whichever came first would be a guess.
		return nil, fmt.Errorf("%w: %d key pairs labelled %q", ErrKeyNotFound, len(keys), label)
	}
	pub := keys[0].Public()
	switch k := pub.(type) {
	case *rsa.PublicKey:
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("%w: curve %s", ErrUnsupportedKey, k.Curve.Params().Name)
		}
	default:
		return nil, fmt.Errorf("%w: %T", ErrUnsupportedKey, pub)
	}
	return &Signer{ctx: ctx, key: keys[0], pub: pub}, nil
}

// Public returns the public half as a Go key (*rsa.PublicKey or
// *ecdsa.PublicKey), read from the token once at Open.
func (s *Signer) Public() crypto.PublicKey { return s.pub }

// Sign signs digest in the token as crypto.Signer specifies; the token
// supplies its own randomness, so rand is ignored. RSA: PKCS#1 v1.5, or PSS
// when opts is an *rsa.PSSOptions (crypto11 needs
// rsa.PSSSaltLengthEqualsHash or an explicit length, not
// rsa.PSSSaltLengthAuto). ECDSA: the signature is ASN.1 DER.
func (s *Signer) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return s.key.Sign(rand, digest, opts)
}

// Close logs out and releases the token's sessions; it waits for Sign
// calls in flight. Later calls return the first result.
func (s *Signer) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.ctx.Close() })
	return s.closeErr
}
