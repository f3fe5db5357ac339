package application

import (
	"context"
	"fmt"

	"github.com/gatepass/gatepass/domain"
)

// RevokeAccess asks that every grant for the identities it names, issued
// before now, be refused.
type RevokeAccess = domain.RevocationRequest

// RevokeAccessHandler records revocations, and starts their fan-out.
type RevokeAccessHandler struct {
	revocations *Revocations
	evict       *EvictRevokedHandler
}

// NewRevokeAccessHandler builds the handler; evict (nil: none) evicts the
// revoked users' live connections once each revocation is recorded.
func NewRevokeAccessHandler(r *Revocations, evict *EvictRevokedHandler) *RevokeAccessHandler {
	return &RevokeAccessHandler{revocations: r, evict: evict}
}

// Handle records the revocation and returns it once the store holds it:
// a store that does not answer is ErrRevocationsUnavailable, and nothing
// is reported done. A request that names no user, or no organization, is
// a domain.RevocationFieldError. Once recorded, the revocation's fan-out
// begins (EvictRevokedHandler), whichever door it came through.
func (h *RevokeAccessHandler) Handle(ctx context.Context, cmd RevokeAccess) (domain.Revocation, error) {
	r := h.revocations
	id, err := r.ids.NewID()
	if err != nil {
		return domain.Revocation{}, fmt.Errorf("revocation id: %w", err)
	}
	rev, err := domain.NewRevocation(id, cmd, r.clock.Now(), r.policy.Retention)
	if err != nil {
		return domain.Revocation{}, err
	}
	if err := r.record(ctx, rev); err != nil {
		return domain.Revocation{}, err
	}
	if h.evict != nil {
		h.evict.start(rev)
	}
	return rev, nil
}
