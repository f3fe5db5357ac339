// Package statickeys is the office-router key set given by configuration:
// the one signing key and the public keys published beside it during a
// rotation. Key ids are RFC 7638 thumbprints.
package statickeys

import (
	"context"
	"crypto"
	"errors"
	"fmt"

	"github.com/gatepass/gatepass/domain"
	"github.com/gatepass/gatepass/foundation/jwa"
	"github.com/gatepass/gatepass/foundation/jwks"
)

// Errors of New.
var (
	// ErrDuplicateKey means the same public key was given twice.
	ErrDuplicateKey = errors.New("duplicate verification key")
	// ErrSigningKeyListed means a verification key is the signing key's
	// public key, which the set holds already.
	ErrSigningKeyListed = errors.New("is the signing key, published already")
)

var _ domain.KeySet = (*KeySet)(nil)

// KeySet is a fixed set of verification keys.
type KeySet struct {
	keys []domain.VerificationKey
}

// New returns the set of the signing key's public half, announced with alg,
// and the extra verification keys, each announced with alg when it fits and
// with the usual algorithm of its type otherwise (jwa.AlgorithmFor),
// so an algorithm switch can keep the previous key published. A key given
// twice, or a verification key equal to the signing key, is refused.
func New(signing crypto.PublicKey, alg string, verification []crypto.PublicKey) (*KeySet, error) {
	seen := map[string]bool{}
	add := func(s *KeySet, pub crypto.PublicKey, isSigning bool, n int) error {
		keyAlg := alg
		if !isSigning {
			var err error
			if keyAlg, err = jwa.AlgorithmFor(pub, alg); err != nil {
				return fmt.Errorf("verification key %d: %w", n, err)
			}
		}
		kid, err := jwks.Thumbprint(pub)
		if err != nil {
			return fmt.Errorf("verification key %d: %w", n, err)
		}
		if seen[kid] {
			if !isSigning && s.keys[0].KID == kid {
				return fmt.Errorf("verification key %d %w", n, ErrSigningKeyListed)
			}
			if isSigning || n == 0 {
				return fmt.Errorf("%w: %s", ErrDuplicateKey, kid)
			}
			return fmt.Errorf("%w: key %d (kid %s) is already published", ErrDuplicateKey, n, kid)
		}
		seen[kid] = true
		s.keys = append(s.keys, domain.VerificationKey{KID: kid, Algorithm: keyAlg, Public: pub, Signing: isSigning})
		return nil
	}
	s := &KeySet{}
	if err := add(s, signing, true, 0); err != nil {
		return nil, err
	}
	for i, pub := range verification {
		if err := add(s, pub, false, i+1); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// VerificationKeys returns the keys, the signing key first.
func (s *KeySet) VerificationKeys(context.Context) ([]domain.VerificationKey, error) {
	return append([]domain.VerificationKey(nil), s.keys...), nil
}
