package domain

import "context"

//go:generate go tool mockgen -typed -destination=mocks/transport_ports.go -package=mocks . LiveKitSigner,CentrifugoSigner

// LiveKitSigner signs LiveKit claims into a compact JWS with the LiveKit
// API secret.
type LiveKitSigner interface {
	SignLiveKit(ctx context.Context, c LiveKitClaims) (string, error)
}

// CentrifugoSigner signs Centrifugo tokens with the office-router signing
// key, so Centrifugo verifies them with gatepass's JWKS.
type CentrifugoSigner interface {
	SignCentrifugoConnection(ctx context.Context, c CentrifugoConnectionClaims) (string, error)
	SignCentrifugoSubscription(ctx context.Context, c CentrifugoSubscriptionClaims) (string, error)
}
