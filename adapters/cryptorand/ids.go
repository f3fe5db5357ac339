// Package cryptorand is the domain IDSource backed by crypto/rand: token ids
// of 128 random bits, base64url without padding.
package cryptorand

import (
	"crypto/rand"
	"encoding/base64"

	"github.com/gatepass/gatepass/domain"
)

var _ domain.IDSource = IDs{}

// IDs makes 128-bit random ids.
type IDs struct{}

// NewID returns 16 random bytes as base64url (22 characters).
func (IDs) NewID() (string, error) {
	var b [16]byte
	// crypto/rand.Read never returns an error on supported platforms; keep the
	// signature honest anyway.
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}
