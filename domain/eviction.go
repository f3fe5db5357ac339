package domain

import (
	"context"
	"time"
)

//go:generate go tool mockgen -typed -destination=mocks/eviction.go -package=mocks . Evictor,FanoutStore

// Transport names one transport in a revocation's fan-out: the keys of
// the admin API's fanout object and the transport label of
// gatepass_revocation_fanout_total. A closed set: each transport declares
// its own in its file, beside its grant kinds (office_router and
// supabase_realtime in grant.go).
type Transport string

// EvictionStatus is where a transport's eviction of a revoked user stands.
type EvictionStatus string

// The states of one transport's eviction.
const (
	// EvictionDone: the transport closed the user's live connections.
	EvictionDone EvictionStatus = "done"
	// EvictionFailed: the last attempt failed; it is retried.
	EvictionFailed EvictionStatus = "failed"
	// EvictionPending: not finished yet.
	EvictionPending EvictionStatus = "pending"
	// EvictionNotConfigured: the transport is not enabled, or has no
	// administrative access configured.
	EvictionNotConfigured EvictionStatus = "not_configured"
	// EvictionNeedsOrg: the transport can only evict within a named
	// organization, and the revocation names all of them.
	EvictionNeedsOrg EvictionStatus = "needs_org"
	// EvictionNotApplicable: nothing to evict (a session revocation:
	// transports do not know sessions).
	EvictionNotApplicable EvictionStatus = "not_applicable"
	// EvictionExpires: the transport cannot evict; its connections last
	// until their tokens expire, at ExpiresAt.
	EvictionExpires EvictionStatus = "expires"
)

// Eviction is the outcome of one transport's eviction.
type Eviction struct {
	Status EvictionStatus
	// Count is how many connections or participants were closed;
	// CountUnknown when the transport does not say.
	Count int
	// ExpiresAt is when the last connection must end (EvictionExpires).
	ExpiresAt time.Time
}

// CountUnknown is an Eviction's Count when the transport does not say how
// many connections it closed.
const CountUnknown = -1

// Evictor closes a revoked user's live connections on one transport: the
// outbound port each transport's eviction adapter implements and
// registers with its grant kind. Evict returns an error only for a
// failure worth retrying; a revocation the transport cannot act on is an
// Eviction with its status (needs_org, expires, ...).
type Evictor interface {
	Transport() Transport
	Evict(ctx context.Context, r Revocation) (Eviction, error)
}

// Fanout is where each transport's eviction of a revocation stands, by
// transport.
type Fanout map[Transport]Eviction

// Final reports whether the eviction is finished: anything but pending,
// and failed, which is retried.
func (e Eviction) Final() bool {
	return e.Status != EvictionPending && e.Status != EvictionFailed
}

// FanoutStore keeps each revocation's fan-out where every replica reads
// it, so that any replica shows how the eviction went, wherever it ran.
type FanoutStore interface {
	// SaveEviction records t's eviction of r, replacing the one before;
	// it is kept as long as r is.
	SaveEviction(ctx context.Context, r Revocation, t Transport, e Eviction) error
	// Fanout is every eviction recorded for the revocation id; empty when
	// none is.
	Fanout(ctx context.Context, id string) (Fanout, error)
}
