package application

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatepass/gatepass/domain"
)

// ReceiveWebhook is a transport server's webhook call as it came: its
// Authorization header and its body, unread.
type ReceiveWebhook struct {
	Authorization string
	Body          []byte
}

// WebhookOutcome is what a webhook call did, for the log: the event's
// kind, and how many connections it closed.
type WebhookOutcome struct {
	Event   string
	Removed int
}

// WebhookReceiver is a transport's webhook use case: it verifies the call
// as the transport's server signs it and acts on the event.
type WebhookReceiver interface {
	Receive(ctx context.Context, cmd ReceiveWebhook) (WebhookOutcome, error)
}

// RemoveRevokedParticipants keeps revoked users off a transport whose
// server lets a participant back in without a new grant (it hands every
// connected participant a refreshed token that outlives an eviction): when
// the server reports that a participant joined, it is removed if a
// revocation matches it, by the issue time of the grant it joined with.
type RemoveRevokedParticipants struct {
	revocations  *Revocations
	webhooks     domain.PeerWebhooks
	participants domain.Participants
}

// NewRemoveRevokedParticipants builds the use case over the replica's
// revocations (nil: nothing is ever removed), the server's webhooks and
// its participants.
func NewRemoveRevokedParticipants(r *Revocations, webhooks domain.PeerWebhooks, participants domain.Participants) *RemoveRevokedParticipants {
	return &RemoveRevokedParticipants{revocations: r, webhooks: webhooks, participants: participants}
}

var _ WebhookReceiver = (*RemoveRevokedParticipants)(nil)

// Receive verifies the call (errors wrap domain.ErrInvalidWebhook or
// domain.ErrMalformedWebhook) and removes the participant that joined if
// a revocation matches it. Revocations that were never loaded are
// domain.ErrRevocationsUnavailable: the call is not acknowledged.
func (h *RemoveRevokedParticipants) Receive(ctx context.Context, cmd ReceiveWebhook) (WebhookOutcome, error) {
	e, err := h.webhooks.VerifyWebhook(cmd.Authorization, cmd.Body)
	if err != nil {
		return WebhookOutcome{}, err
	}
	out := WebhookOutcome{Event: e.Name}
	if !e.Joined || !e.Participant.Granted {
		return out, nil
	}
	switch err := h.revocations.Check(e.Participant.Principal); {
	case err == nil:
		return out, nil
	case !errors.Is(err, domain.ErrRevoked):
		return out, err
	}
	if err := h.participants.RemoveParticipant(ctx, e.Participant); err != nil {
		return out, fmt.Errorf("remove revoked participant: %w", err)
	}
	out.Removed = 1
	return out, nil
}

// WithWebhook registers beside reg its transport's webhook use case, built
// over the replica's revocations (nil when none are kept) once they are
// known; the inbound adapter routes it while the kind is enabled.
func WithWebhook(reg GrantRegistration, build func(*Revocations) WebhookReceiver) GrantRegistration {
	return webhookRegistration{GrantRegistration: reg, build: build}
}

type webhookRegistration struct {
	GrantRegistration
	build func(*Revocations) WebhookReceiver
}

func (w webhookRegistration) webhook(r *Revocations) WebhookReceiver { return w.build(r) }

// Webhook is kind's webhook use case, if its registration has one.
func (a *Application) Webhook(kind domain.GrantKind) (WebhookReceiver, bool) {
	w, ok := a.webhooks[kind]
	return w, ok
}
