package domain

import "time"

// Grant is a signed, short-lived token and when it stops being valid.
type Grant struct {
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
