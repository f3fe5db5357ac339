package application

import (
	"context"
	"fmt"
	"time"

	"github.com/gatepass/gatepass/domain"
)

// IdentityEventMemory is how long the id of a handled identity provider
// event is remembered: longer than any delivery of it is accepted.
const IdentityEventMemory = 10 * time.Minute

// HandleIdentityEvent is an identity provider's event, verified: its id,
// and the revocation it calls for (nil for an event that calls for none).
type HandleIdentityEvent struct {
	ID     string
	Revoke *RevokeAccess
}

// HandleIdentityEventHandler handles each event once across replicas.
type HandleIdentityEventHandler struct {
	revoke *RevokeAccessHandler
	ledger domain.EventLedger
}

// NewHandleIdentityEventHandler builds the handler.
func NewHandleIdentityEventHandler(revoke *RevokeAccessHandler, ledger domain.EventLedger) *HandleIdentityEventHandler {
	return &HandleIdentityEventHandler{revoke: revoke, ledger: ledger}
}

// Handle records the event's revocation, unless an event with the same id
// was handled before on any replica (handled is then false). An event
// whose revocation could not be recorded is forgotten, so that the
// provider's retry is handled.
func (h *HandleIdentityEventHandler) Handle(ctx context.Context, cmd HandleIdentityEvent) (handled bool, err error) {
	if cmd.Revoke == nil {
		return true, nil
	}
	tctx, cancel := context.WithTimeout(ctx, h.revoke.revocations.policy.StoreTimeout)
	first, err := h.ledger.Claim(tctx, cmd.ID, IdentityEventMemory)
	cancel()
	if err != nil {
		return false, fmt.Errorf("identity event %s: %w: %w", cmd.ID, domain.ErrRevocationsUnavailable, err)
	}
	if !first {
		return false, nil
	}
	if _, err := h.revoke.Handle(ctx, *cmd.Revoke); err != nil {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.revoke.revocations.policy.StoreTimeout)
		_ = h.ledger.Release(rctx, cmd.ID)
		cancel()
		return false, fmt.Errorf("identity event %s: %w", cmd.ID, err)
	}
	return true, nil
}
