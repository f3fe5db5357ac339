package domain

import (
	"context"
	"errors"
)

//go:generate go tool mockgen -typed -destination=mocks/peerevent.go -package=mocks . PeerWebhooks,Participants

var (
	// ErrInvalidWebhook means a webhook call is not signed as its server
	// signs them: no signature, a malformed or wrong one, or one over
	// another body.
	ErrInvalidWebhook = errors.New("invalid webhook signature")
	// ErrMalformedWebhook means a signed webhook body is not an event.
	ErrMalformedWebhook = errors.New("malformed webhook event")
)

// PeerEvent is a verified event a transport's server reported through its
// webhook, read into what gatepass acts on; the transport's own event
// shapes stay in its adapter.
type PeerEvent struct {
	// Name is the event as the server names it, for the log.
	Name string
	// Joined says Participant connected (joined again with a token the
	// server refreshed, perhaps, which a revocation must still reach).
	Joined bool
	// Participant is whom the event is about, when it is about one.
	Participant Participant
}

// Participant is one connection of a transport's server, as the server
// reports it.
type Participant struct {
	// Room and Identity are where and who the participant is on its
	// server: what removing it names.
	Room     string
	Identity string
	// Principal is who the participant is as far as revocations go: its
	// user, its organization and the issue time of the grant it joined
	// with (zero when unknown, which a revocation of the user matches).
	// Meaningful only when Granted.
	Principal Principal
	// Granted is false for a room or identity gatepass does not grant:
	// no revocation can match it.
	Granted bool
}

// PeerWebhooks verifies a transport server's webhook calls.
type PeerWebhooks interface {
	// VerifyWebhook checks authorization (the call's Authorization
	// header) against body as the server signs its webhooks, and reads
	// the event. Errors wrap ErrInvalidWebhook, or ErrMalformedWebhook for
	// a signed body that is not an event.
	VerifyWebhook(authorization string, body []byte) (PeerEvent, error)
}

// Participants removes participants from a transport's server.
type Participants interface {
	// RemoveParticipant disconnects p; one that is gone already is no
	// error.
	RemoveParticipant(ctx context.Context, p Participant) error
}
