// Package jwa names the JWS algorithms the office key signs with (RFC 7518
// and RFC 8037: RS256, PS256, ES256, EdDSA) and knows which key fits
// which: RSA of at least pemkey.MinRSABits for RS256 and PS256, ECDSA on
// P-256 for ES256, Ed25519 for EdDSA. It signs nothing. The signer, the
// key backends that make and hold keys, and the published key set each
// need these names and this fit, so they share them here rather than
// import one another.
package jwa

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"

	"github.com/gatepass/gatepass/foundation/pemkey"
)

// The office signing algorithms (RFC 7518 and RFC 8037 names).
const (
	RS256 = "RS256" // RSASSA-PKCS1-v1_5 with SHA-256
	PS256 = "PS256" // RSASSA-PSS with SHA-256, MGF1 SHA-256, salt of 32 bytes
	ES256 = "ES256" // ECDSA on P-256 with SHA-256
	EdDSA = "EdDSA" // Ed25519
)

// Errors of the algorithm table.
var (
	// ErrUnsupportedAlgorithm means an algorithm name is none of Algorithms.
	ErrUnsupportedAlgorithm = errors.New("unsupported signing algorithm")
	// ErrKeyMismatch means a key cannot sign for an algorithm: wrong type,
	// wrong curve or too short.
	ErrKeyMismatch = errors.New("key does not fit the signing algorithm")
)

// Algorithms returns the algorithm names the office key may sign with
// (JWT_ALGORITHM), in the order gatepass lists them.
func Algorithms() []string { return []string{RS256, PS256, ES256, EdDSA} }

// KeyMatches reports whether pub, the public half of a signer, can sign for
// alg: RS256 and PS256 need RSA of at least pemkey.MinRSABits (2048) bits,
// ES256 needs ECDSA on P-256, EdDSA needs Ed25519. Run it at start-up, so a
// wrong key fails there rather than on the first request. Errors wrap
// ErrUnsupportedAlgorithm or ErrKeyMismatch.
func KeyMatches(alg string, pub crypto.PublicKey) error {
	switch alg {
	case RS256, PS256:
		k, ok := pub.(*rsa.PublicKey)
		if !ok {
			return fmt.Errorf("%w: %s needs an RSA key, got %s", ErrKeyMismatch, alg, keyKind(pub))
		}
		if bits := k.N.BitLen(); bits < pemkey.MinRSABits {
			return fmt.Errorf("%w: %s needs RSA of at least %d bits, got %d", ErrKeyMismatch, alg, pemkey.MinRSABits, bits)
		}
	case ES256:
		k, ok := pub.(*ecdsa.PublicKey)
		if !ok {
			return fmt.Errorf("%w: %s needs an ECDSA P-256 key, got %s", ErrKeyMismatch, alg, keyKind(pub))
		}
		if k.Curve != elliptic.P256() {
			return fmt.Errorf("%w: %s needs curve P-256, got %s", ErrKeyMismatch, alg, k.Curve.Params().Name)
		}
	case EdDSA:
		if _, ok := pub.(ed25519.PublicKey); !ok {
			return fmt.Errorf("%w: %s needs an Ed25519 key, got %s", ErrKeyMismatch, alg, keyKind(pub))
		}
	default:
		return fmt.Errorf("%w %q", ErrUnsupportedAlgorithm, alg)
	}
	return nil
}

// AlgorithmFor is the algorithm a published verification key is announced
// with: preferred when the key fits it, otherwise the usual one for its type
// (RS256 for RSA, ES256 for P-256, EdDSA for Ed25519). It lets the previous
// key of another algorithm stay published across an algorithm switch.
func AlgorithmFor(pub crypto.PublicKey, preferred string) (string, error) {
	if KeyMatches(preferred, pub) == nil {
		return preferred, nil
	}
	for _, alg := range []string{RS256, ES256, EdDSA} {
		if KeyMatches(alg, pub) == nil {
			return alg, nil
		}
	}
	return "", fmt.Errorf("%w: no algorithm fits a %s", ErrKeyMismatch, keyKind(pub))
}

func keyKind(pub crypto.PublicKey) string {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return "RSA"
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	default:
		return fmt.Sprintf("%T", pub)
	}
}
