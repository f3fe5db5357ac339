// Package opensslsigner signs office grants in OpenSSL's libcrypto, loaded
// at run time from Library through github.com/golang-fips/openssl/v2: RSA
// (RS256, PS256), ECDSA P-256 (ES256) and Ed25519 (EdDSA). It is for
// deployments that must sign with a validated OpenSSL (a FIPS provider, for
// one) rather than Go's crypto. New imports the key into OpenSSL once,
// through golang-fips, which makes every signature.
//
// It needs cgo. Built without cgo, the package still compiles, Available
// reports ErrUnavailable and New fails, so a caller can fall back to Go.
package opensslsigner

import (
	"crypto"
	"errors"
)

// Library is the shared library Available loads (OpenSSL 3).
const Library = "libcrypto.so.3"

// Errors of this package.
var (
	// ErrUnavailable means libcrypto could not be loaded, or the binary
	// was built without cgo.
	ErrUnavailable = errors.New("openssl libcrypto is unavailable")
	// ErrUnsupportedKey means a key is not RSA, ECDSA P-256 or Ed25519, or
	// the loaded OpenSSL cannot sign with its type.
	ErrUnsupportedKey = errors.New("key type not supported by the openssl signer")
	// ErrUnsupportedOptions means Sign was asked for a hash or padding this
	// signer does not make, or given a digest of the wrong length.
	ErrUnsupportedOptions = errors.New("unsupported signing options")
)

var _ crypto.Signer = (*Signer)(nil)
