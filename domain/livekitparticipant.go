package domain

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"
)

//go:generate go tool mockgen -typed -destination=mocks/livekitparticipant.go -package=mocks . LiveKitWebhooks,LiveKitParticipants

var (
	// ErrInvalidWebhook means a webhook call is not signed as its server
	// signs them: no signature, a malformed or wrong one, or one over
	// another body.
	ErrInvalidWebhook = errors.New("invalid webhook signature")
	// ErrMalformedWebhook means a signed webhook body is not an event.
	ErrMalformedWebhook = errors.New("malformed webhook event")
)

// LiveKitParticipantJoined is the kind of LiveKit's webhook event for a
// participant that joined a room (LiveKit sends it once the participant
// is connected).
const LiveKitParticipantJoined = "participant_joined"

// LiveKitParticipant is a participant of a LiveKit room, as LiveKit
// reports it.
type LiveKitParticipant struct {
	// Room is the room's full name, "<orgId>/<room name>" for the rooms
	// gatepass grants.
	Room     string
	Identity string
	// Attributes are the participant's attributes as they are now: a room
	// administrator may have rewritten them.
	Attributes map[string]string
}

// LiveKitEvent is a verified LiveKit webhook event: its kind and, for a
// participant's event, the participant.
type LiveKitEvent struct {
	Kind        string
	Participant LiveKitParticipant
}

// LiveKitWebhooks verifies LiveKit's webhook calls.
type LiveKitWebhooks interface {
	// VerifyLiveKitWebhook checks authorization (the call's Authorization
	// header) against body as LiveKit signs its webhooks, and reads the
	// event. Errors wrap ErrInvalidWebhook, or ErrMalformedWebhook for a
	// signed body that is not an event.
	VerifyLiveKitWebhook(authorization string, body []byte) (LiveKitEvent, error)
}

// LiveKitParticipants removes participants from LiveKit rooms.
type LiveKitParticipants interface {
	// RemoveLiveKitParticipant disconnects the participant with identity
	// from room; one that is gone already is no error.
	RemoveLiveKitParticipant(ctx context.Context, room, identity string) error
}

// Principal is who the participant is as far as revocations go: the user
// of its identity (the user id, or the user id, "#" and a device label),
// the organization of its room, and the issue time of the grant it joined
// with, read from AttributeIssuedAt. The issue time is zero when the
// attribute is missing or not a time, which a revocation of that user
// matches: a room administrator can rewrite attributes. ok is false for a
// room or identity gatepass does not grant.
func (p LiveKitParticipant) Principal() (Principal, bool) {
	org, _, ok := strings.Cut(p.Room, "/")
	if !ok || !SafeIdentifier(org) {
		return Principal{}, false
	}
	user, _, _ := strings.Cut(p.Identity, IdentitySeparator)
	if !SafeIdentifier(user) {
		return Principal{}, false
	}
	return Principal{UserID: user, OrgID: org, IssuedAt: LiveKitIssuedAt(p.Attributes)}, true
}

// LiveKitIssuedAt is the issue time attributes carry under
// AttributeIssuedAt: positive Unix seconds in decimal, as gatepass writes
// them; zero otherwise.
func LiveKitIssuedAt(attributes map[string]string) time.Time {
	v := attributes[AttributeIssuedAt]
	if v == "" || strings.TrimLeft(v, "0123456789") != "" {
		return time.Time{}
	}
	sec, err := strconv.ParseInt(v, 10, 64)
	if err != nil || sec <= 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}

// MatchesLiveKitUser reports whether identity is one of userID's
// participants: the user id itself, or the user id followed by "#".
func MatchesLiveKitUser(identity, userID string) bool {
	return identity == userID || strings.HasPrefix(identity, userID+IdentitySeparator)
}

// InLiveKitOrganization reports whether room is one of orgID's rooms
// ("<orgId>/...").
func InLiveKitOrganization(room, orgID string) bool {
	return strings.HasPrefix(room, orgID+"/")
}
