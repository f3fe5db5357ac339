package application

import (
	"context"

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
