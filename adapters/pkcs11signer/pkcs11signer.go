// Package pkcs11signer signs office grants with a private key that lives
// in a PKCS#11 token (a hardware or cloud HSM, or SoftHSM2) and never
// leaves it, through github.com/ThalesGroup/crypto11: RSA (RS256, PS256)
// and ECDSA P-256 (ES256). crypto11 has no Ed25519, so EdDSA is not
// offered.
//
// It needs cgo. Built without cgo, the package still compiles and Open
// fails with ErrUnavailable.
package pkcs11signer

import (
	"crypto"
	"errors"
	"fmt"
	"log/slog"
)

// Errors of this package; none of them quotes the PIN.
var (
	// ErrConfig means a required Config field is empty.
	ErrConfig = errors.New("incomplete PKCS#11 configuration")
	// ErrUnavailable means the binary was built without cgo.
	ErrUnavailable = errors.New("PKCS#11 is unavailable: built without cgo")
	// ErrToken means the module could not be loaded, the token could not
	// be found, or the login failed.
	ErrToken = errors.New("cannot open the PKCS#11 token")
	// ErrKeyNotFound means the token holds no key pair with the label, or
	// more than one.
	ErrKeyNotFound = errors.New("signing key not found in the PKCS#11 token")
	// ErrUnsupportedKey means the key pair is neither RSA nor ECDSA P-256.
	ErrUnsupportedKey = errors.New("key type not supported by the PKCS#11 signer")
)

// Config says which key of which token signs.
type Config struct {
	// Module is the path of the vendor's PKCS#11 library, for SoftHSM2
	// on Debian /usr/lib/softhsm/libsofthsm2.so.
	Module string
	// TokenLabel selects the token (CKA_LABEL of the token, as given to
	// softhsm2-util --init-token --label).
	TokenLabel string
	// PIN is the user PIN; it is a secret.
	PIN string
	// KeyLabel is the CKA_LABEL of the private key. The key pair also
	// needs a non-empty CKA_ID shared by its private and public objects,
	// by which crypto11 pairs them.
	KeyLabel string
}

// String describes the configuration without the PIN.
func (c Config) String() string {
	pin := "(unset)"
	if c.PIN != "" {
		pin = "(set, masked)"
	}
	return fmt.Sprintf("module=%s token=%q key=%q pin=%s", c.Module, c.TokenLabel, c.KeyLabel, pin)
}

// LogValue describes the configuration without the PIN in structured logs.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("module", c.Module),
		slog.String("token", c.TokenLabel),
		slog.String("key", c.KeyLabel),
		slog.Bool("pin_set", c.PIN != ""),
	)
}

func (c Config) validate() error {
	var missing []string
	for _, f := range []struct{ name, value string }{
		{"module", c.Module}, {"token label", c.TokenLabel}, {"PIN", c.PIN}, {"key label", c.KeyLabel},
	} {
		if f.value == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %v missing", ErrConfig, missing)
	}
	return nil
}

var _ crypto.Signer = (*Signer)(nil)
