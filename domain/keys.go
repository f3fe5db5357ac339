package domain

import (
	"context"
	"crypto"
)

// VerificationKey is a public key that verifiers of office-router grants
// trust: the active signing key, or a key published for a rotation.
type VerificationKey struct {
	// KID is the key id tokens name in their header.
	KID string
	// Algorithm is the JWS algorithm the key verifies.
	Algorithm string
	Public    crypto.PublicKey
	// Signing is true for the one key that signs new grants.
	Signing bool
}

// KeySet lists the office-router verification keys to publish.
type KeySet interface {
	VerificationKeys(ctx context.Context) ([]VerificationKey, error)
}
