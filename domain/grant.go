package domain

import "time"

// Grant is a signed, short-lived token and when it stops being valid.
type Grant struct {
	// ID is the token's jti: what the audit trail names, never the token.
	ID        string
	Token     string
	ExpiresAt time.Time
	TTL       time.Duration
}

// OfficeGrant is a Grant for the office-router with the WebSocket URL the
// client connects to.
type OfficeGrant struct {
	Grant
	URL string
}

// GrantKind names what one grant endpoint issues. It is the route table's
// key, the metrics' kind label, the rate-limit scope and the log line's
// grant_kind: one closed set, so no layer recovers it from a path or a
// string of another layer.
type GrantKind string

// The grant kinds gatepass issues.
const (
	// GrantOffice is an office-router connection grant.
	GrantOffice GrantKind = "office"
	// GrantRealtime is a Supabase Realtime token.
	GrantRealtime GrantKind = "realtime"
	// GrantLiveKit is a LiveKit participant token.
	GrantLiveKit GrantKind = "livekit"
	// GrantCentrifugoConnection is a Centrifugo connection token.
	GrantCentrifugoConnection GrantKind = "centrifugo_connection"
	// GrantCentrifugoSubscription is a Centrifugo channel subscription token.
	GrantCentrifugoSubscription GrantKind = "centrifugo_subscription"
)

// GrantKinds lists every grant kind, in a stable order.
func GrantKinds() []GrantKind {
	return []GrantKind{GrantOffice, GrantRealtime, GrantLiveKit, GrantCentrifugoConnection, GrantCentrifugoSubscription}
}

// PolicySections lists the policy section of every grant kind that has
// one, empty (no rule), in the policy file's order.
func PolicySections() []PolicySection {
	return []PolicySection{LiveKitRules(nil), CentrifugoRules{}}
}

// LiveKitGrant is a LiveKit participant token with the server to join,
// the room and the participant identity it admits.
type LiveKitGrant struct {
	Grant
	ServerURL string
	Room      string
	Identity  string
}

// CentrifugoGrant is a Centrifugo token: a connection token with the
// WebSocket URL, or a subscription token with its channel.
type CentrifugoGrant struct {
	Grant
	URL     string
	Channel string
}

// String returns the kind's name.
func (k GrantKind) String() string { return string(k) }
