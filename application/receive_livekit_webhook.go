package application

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatepass/gatepass/domain"
)

// ReceiveLiveKitWebhook keeps revoked participants out of LiveKit rooms:
// livekit-server hands every connected participant a refreshed token that
// outlives an eviction, so when one joins again (participant_joined), it
// is removed if a revocation matches it, by the issue time its grant
// carries (domain.LiveKitParticipant.Principal).
type ReceiveLiveKitWebhook struct {
	revocations  *Revocations
	webhooks     domain.LiveKitWebhooks
	participants domain.LiveKitParticipants
}

// NewReceiveLiveKitWebhook builds the use case over the replica's
// revocations (nil: nothing is ever removed).
func NewReceiveLiveKitWebhook(r *Revocations, webhooks domain.LiveKitWebhooks, participants domain.LiveKitParticipants) *ReceiveLiveKitWebhook {
	return &ReceiveLiveKitWebhook{revocations: r, webhooks: webhooks, participants: participants}
}

// Receive verifies the call (errors wrap domain.ErrInvalidWebhook or
// domain.ErrMalformedWebhook) and removes the participant that joined if
// a revocation matches it. Revocations that were never loaded are
// domain.ErrRevocationsUnavailable: the call is not acknowledged.
func (h *ReceiveLiveKitWebhook) Receive(ctx context.Context, cmd ReceiveWebhook) (WebhookOutcome, error) {
	e, err := h.webhooks.VerifyLiveKitWebhook(cmd.Authorization, cmd.Body)
	if err != nil {
		return WebhookOutcome{}, err
	}
	out := WebhookOutcome{Event: e.Kind}
	if e.Kind != domain.LiveKitParticipantJoined {
		return out, nil
	}
	p, ok := e.Participant.Principal()
	if !ok {
		return out, nil
	}
	switch err := h.revocations.Check(p); {
	case err == nil:
		return out, nil
	case !errors.Is(err, domain.ErrRevoked):
		return out, err
	}
	if err := h.participants.RemoveLiveKitParticipant(ctx, e.Participant.Room, e.Participant.Identity); err != nil {
		return out, fmt.Errorf("remove revoked participant: %w", err)
	}
	out.Removed = 1
	return out, nil
}
