//go:build !cgo

package opensslsigner

import (
	"crypto"
	"fmt"
	"io"
)

var errNoCgo = fmt.Errorf("%w: built without cgo", ErrUnavailable)

// Available reports ErrUnavailable: this binary was built without cgo.
func Available() error { return errNoCgo }

// Version is "": no OpenSSL is loaded without cgo.
func Version() string { return "" }

// Signer cannot exist without cgo; see New.
type Signer struct{}

// New fails with ErrUnavailable: this binary was built without cgo.
func New(crypto.Signer) (*Signer, error) { return nil, errNoCgo }

// Public returns nil.
func (*Signer) Public() crypto.PublicKey { return nil }

// Sign fails with ErrUnavailable.
func (*Signer) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) { return nil, errNoCgo }
