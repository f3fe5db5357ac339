package domain

import (
	"context"
	"encoding/json"
)

//go:generate go tool mockgen -typed -destination=mocks/transport_ports.go -package=mocks . LiveKitSigner,RoomConfigChecker,CentrifugoSigner

// LiveKitSigner signs LiveKit claims into a compact JWS with the LiveKit
// API secret.
type LiveKitSigner interface {
	SignLiveKit(ctx context.Context, c LiveKitClaims) (string, error)
}

// RoomConfigChecker checks a LiveKit room configuration, a compact JSON
// object, as LiveKit's own token builder does (its schema; no egress
// credentials or stream keys), so no grant carries one LiveKit would
// refuse. Errors wrap ErrInvalidRoom.
type RoomConfigChecker interface {
	CheckRoomConfig(config json.RawMessage) error
}

// CentrifugoSigner signs Centrifugo tokens with the office-router signing
// key, so Centrifugo verifies them with gatepass's JWKS.
type CentrifugoSigner interface {
	SignCentrifugoConnection(ctx context.Context, c CentrifugoConnectionClaims) (string, error)
	SignCentrifugoSubscription(ctx context.Context, c CentrifugoSubscriptionClaims) (string, error)
}
