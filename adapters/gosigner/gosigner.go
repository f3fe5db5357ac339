// Package gosigner keeps office signing keys in Go's own crypto (crypto/rsa,
// crypto/ecdsa, crypto/ed25519): the backend that needs no C library and no
// device, and the reference the other backends are compared with.
package gosigner

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"fmt"

	"github.com/gatepass/gatepass/foundation/jwa"
	"github.com/gatepass/gatepass/foundation/pemkey"
)

// GenerateRSABits is the modulus size Generate uses for RS256 and PS256.
const GenerateRSABits = 2048

// Load parses a private key PEM (the text of JWT_PRIVATE_KEY, literal "\n"
// allowed) into a Go crypto.Signer: RSA of at least 2048 bits as PKCS#1
// ("RSA PRIVATE KEY") or PKCS#8 ("PRIVATE KEY"), ECDSA P-256 as SEC 1
// ("EC PRIVATE KEY") or PKCS#8, Ed25519 as PKCS#8. The signer is the
// standard library key itself (*rsa.PrivateKey, *ecdsa.PrivateKey or
// ed25519.PrivateKey), safe for concurrent use; hand it to
// jwtsigner.NewOfficeSigner, or to opensslsigner.New to sign in OpenSSL.
// Errors wrap the pemkey sentinels and never quote key material. Check the
// key against the configured algorithm with jwa.KeyMatches.
func Load(pemText string) (crypto.Signer, error) {
	key, err := pemkey.ParsePrivate(pemText)
	if err != nil {
		return nil, fmt.Errorf("load signing key: %w", err)
	}
	return key, nil
}

// Generate makes a fresh key for alg: RSA of GenerateRSABits for RS256 and
// PS256, ECDSA P-256 for ES256, Ed25519 for EdDSA. It is for development
// and tests; production keys are loaded.
func Generate(alg string) (crypto.Signer, error) {
	var key crypto.Signer
	var err error
	switch alg {
	case jwa.RS256, jwa.PS256:
		key, err = rsa.GenerateKey(rand.Reader, GenerateRSABits)
	case jwa.ES256:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jwa.EdDSA:
		_, key, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, fmt.Errorf("%w %q", jwa.ErrUnsupportedAlgorithm, alg)
	}
	if err != nil {
		return nil, fmt.Errorf("generate %s key: %w", alg, err)
	}
	return key, nil
}
