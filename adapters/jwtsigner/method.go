// Package jwtsigner signs gatepass grants with github.com/golang-jwt/jwt/v5:
// office-router grants with any crypto.Signer (a key in memory, in OpenSSL or
// in an HSM), Supabase Realtime tokens with the project's HMAC secret.
package jwtsigner

import (
	"crypto"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/golang-jwt/jwt/v5"
)

// ErrUnsupportedAlgorithm means no signing method exists for an algorithm name.
var ErrUnsupportedAlgorithm = errors.New("unsupported signing algorithm")

// cryptoSignerMethod is a golang-jwt signing method whose key is a
// crypto.Signer, so the private key may live anywhere that implements it.
// Verification delegates to golang-jwt's own method.
type cryptoSignerMethod struct {
	verify jwt.SigningMethod
	hash   crypto.Hash
}

var _ jwt.SigningMethod = (*cryptoSignerMethod)(nil)

// methodFor returns the crypto.Signer-based method for alg.
func methodFor(alg string) (*cryptoSignerMethod, error) {
	switch alg {
	case "RS256":
		return &cryptoSignerMethod{verify: jwt.SigningMethodRS256, hash: crypto.SHA256}, nil
	default:
		return nil, fmt.Errorf("%w %q", ErrUnsupportedAlgorithm, alg)
	}
}

func (m *cryptoSignerMethod) Alg() string { return m.verify.Alg() }

func (m *cryptoSignerMethod) Verify(signingString string, sig []byte, key any) error {
	return m.verify.Verify(signingString, sig, key)
}

func (m *cryptoSignerMethod) Sign(signingString string, key any) ([]byte, error) {
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, jwt.ErrInvalidKeyType
	}
	h := m.hash.New()
	h.Write([]byte(signingString))
	return signer.Sign(rand.Reader, h.Sum(nil), m.hash)
}
