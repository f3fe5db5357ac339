package domain

import (
	"context"
	"errors"
	"fmt"
	"time"
)

//go:generate go tool mockgen -typed -destination=mocks/revocation.go -package=mocks . RevocationStore,EventLedger

var (
	// ErrRevoked means the caller's identity was issued before a
	// revocation that names it: the identity provider must issue a new one.
	ErrRevoked = errors.New("identity revoked")
	// ErrRevocationsUnavailable means revocations cannot be recorded, or
	// were never loaded, because the revocation store does not answer.
	ErrRevocationsUnavailable = errors.New("revocations unavailable")
	// ErrInvalidRevocation means a revocation asked for is not one; a
	// RevocationFieldError names the field.
	ErrInvalidRevocation = errors.New("invalid revocation")
	// ErrRevocationNotFound means no active revocation has the id.
	ErrRevocationNotFound = errors.New("revocation not found")
)

// RevocationFieldError is a refused revocation request and the field at
// fault, as the admin API spells it; it unwraps to ErrInvalidRevocation.
type RevocationFieldError struct {
	Field  string
	Reason string
}

func (e *RevocationFieldError) Error() string {
	return fmt.Sprintf("%v: %s %s", ErrInvalidRevocation, e.Field, e.Reason)
}

// Unwrap makes errors.Is(err, ErrInvalidRevocation) hold.
func (e *RevocationFieldError) Unwrap() error { return ErrInvalidRevocation }

// RevocationSource says who asked for a revocation.
type RevocationSource string

// The sources of revocations.
const (
	RevocationSourceAdmin  RevocationSource = "admin"
	RevocationSourceWorkOS RevocationSource = "workos"
)

// RevocationRequest is what a revocation names before it is recorded.
type RevocationRequest struct {
	UserID string
	// OrgID is the organization revoked; empty with AllOrganizations.
	OrgID            string
	AllOrganizations bool
	// SessionID, when set, narrows the revocation to identities carrying
	// that session (the identity token's sid).
	SessionID string
	Reason    string
	Source    RevocationSource
}

// MaxRevocationReasonBytes bounds a revocation's reason.
const MaxRevocationReasonBytes = 256

// Revocation is a recorded revocation: every identity it matches issued
// strictly before NotBefore is refused until ExpiresAt, when no identity
// issued before NotBefore can still be alive.
type Revocation struct {
	ID string
	RevocationRequest
	// NotBefore is the cut-off: the time recorded, rounded up to the next
	// whole second, since identity tokens state iat in whole seconds.
	NotBefore time.Time
	ExpiresAt time.Time
}

// NewRevocation checks req and makes it a Revocation with id, recorded at
// now and kept for retention. The cut-off is the next whole second after
// now: an identity issued in the second the revocation was recorded may
// predate it, and is refused.
func NewRevocation(id string, req RevocationRequest, now time.Time, retention time.Duration) (Revocation, error) {
	if err := req.check(); err != nil {
		return Revocation{}, err
	}
	if retention <= 0 {
		return Revocation{}, &RevocationFieldError{Field: "retention", Reason: "must be positive"}
	}
	nb := now.UTC().Truncate(time.Second).Add(time.Second)
	return Revocation{ID: id, RevocationRequest: req, NotBefore: nb, ExpiresAt: nb.Add(retention)}, nil
}

func (req RevocationRequest) check() error {
	for _, f := range []struct{ name, value string }{{"user_id", req.UserID}, {"org_id", req.OrgID}, {"session_id", req.SessionID}} {
		if len(f.value) > 255 {
			return &RevocationFieldError{Field: f.name, Reason: "is longer than 255 bytes"}
		}
		if err := CheckIdentifier(f.value); err != nil {
			return &RevocationFieldError{Field: f.name, Reason: "holds white space, control or invisible characters"}
		}
	}
	switch {
	case req.UserID == "":
		return &RevocationFieldError{Field: "user_id", Reason: "is required"}
	case req.OrgID == "" && !req.AllOrganizations:
		return &RevocationFieldError{Field: "org_id", Reason: "is required (or all_organizations: true)"}
	case req.OrgID != "" && req.AllOrganizations:
		return &RevocationFieldError{Field: "all_organizations", Reason: "excludes org_id: give one"}
	case len(req.Reason) > MaxRevocationReasonBytes:
		return &RevocationFieldError{Field: "reason", Reason: fmt.Sprintf("is longer than %d bytes", MaxRevocationReasonBytes)}
	}
	return nil
}

// Matches reports whether the revocation refuses p: same user, its
// organization (or all of them), its session when it names one, and an
// identity issued before the cut-off, or one that does not say when it
// was issued.
func (r Revocation) Matches(p Principal) bool {
	if p.UserID != r.UserID || (!r.AllOrganizations && p.OrgID != r.OrgID) {
		return false
	}
	if r.SessionID != "" && p.SessionID != r.SessionID {
		return false
	}
	return p.IssuedAt.IsZero() || p.IssuedAt.Before(r.NotBefore)
}

// Active reports whether the revocation still refuses anything at now.
func (r Revocation) Active(now time.Time) bool { return now.Before(r.ExpiresAt) }

// RevocationSnapshot is what a store answers a Load with: revocations,
// and the version of the store's content they bring a reader to.
type RevocationSnapshot struct {
	Revocations []Revocation
	Version     uint64
}

// RevocationStore keeps revocations where every replica finds them.
type RevocationStore interface {
	// Record stores r; it returns nil only once the store holds it, and
	// tells every replica watching.
	Record(ctx context.Context, r Revocation) error
	// Load returns the revocations recorded after version since (every
	// one held when since is 0, or when the store's version is behind
	// since: a store that was emptied) and the store's version.
	Load(ctx context.Context, since uint64) (RevocationSnapshot, error)
	// Watch delivers a value whenever a revocation may have been recorded,
	// until ctx ends; a missed one is caught by the next Load.
	Watch(ctx context.Context) <-chan struct{}
}

// EventLedger remembers the ids of events already handled, across
// replicas, so an event delivered twice is handled once.
type EventLedger interface {
	// Claim records id for keep and reports whether it was new.
	Claim(ctx context.Context, id string, keep time.Duration) (bool, error)
	// Release forgets id, so that a retry of an event that could not be
	// handled is handled.
	Release(ctx context.Context, id string) error
}
