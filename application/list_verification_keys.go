package application

import (
	"context"
	"fmt"

	"github.com/gatepass/gatepass/domain"
)

// ListVerificationKeysHandler answers which keys verify office-router
// grants: what the JWKS endpoint publishes.
type ListVerificationKeysHandler struct {
	keys domain.KeySet
}

// NewListVerificationKeysHandler builds the handler.
func NewListVerificationKeysHandler(keys domain.KeySet) *ListVerificationKeysHandler {
	return &ListVerificationKeysHandler{keys: keys}
}

// Handle returns the keys, the signing key first. A set without a signing
// key is an error: verifiers would reject every new grant.
func (h *ListVerificationKeysHandler) Handle(ctx context.Context) ([]domain.VerificationKey, error) {
	keys, err := h.keys.VerificationKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list verification keys: %w", err)
	}
	for i, k := range keys {
		if k.Signing {
			out := make([]domain.VerificationKey, 0, len(keys))
			out = append(out, k)
			out = append(out, keys[:i]...)
			return append(out, keys[i+1:]...), nil
		}
	}
	return nil, fmt.Errorf("list verification keys: %w", domain.ErrNoSigningKey)
}
