//go:build !cgo

package pkcs11signer

import (
	"crypto"
	"io"
)

// Signer cannot exist without cgo; see Open.
type Signer struct{}

// Open fails with ErrUnavailable: this binary was built without cgo.
func Open(cfg Config) (*Signer, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return nil, ErrUnavailable
}

// Public returns nil.
func (*Signer) Public() crypto.PublicKey { return nil }

// Sign fails with ErrUnavailable.
func (*Signer) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) { return nil, ErrUnavailable }

// Close does nothing.
func (*Signer) Close() error { return nil }
