package domain

import (
	"slices"
	"time"
)

// Grant is a signed, short-lived token and when it stops being valid.
type Grant struct {
	// ID is the token's jti: what the audit trail names, never the token.
	ID        string
	Token     string
	ExpiresAt time.Time
	TTL       time.Duration
}

// GrantKind names what one grant endpoint issues. It is the route table's
// key, the metrics' kind label, the name of its rate-limit budget and the
// log line's grant_kind: one set, GrantKinds, fixed once the package is
// initialized, so no layer recovers it from a path or a string of another
// layer.
type GrantKind string

// A transport's kinds are declared in its own file, which registers them
// with registerTransport.

// transportKinds is what one transport registered: its grant kinds and
// its section of the policy (nil when it has none).
type transportKinds struct {
	rank    int
	kinds   []GrantKind
	section PolicySection
}

// transports are the registered transports, in their rank's order once
// GrantKinds or PolicySections first reads them.
var transports []transportKinds

// registerTransport registers a transport's grant kinds and policy
// section. rank orders the transports (metrics, the policy file, the
// rate-limit variables) whatever the order the files are initialized in.
// It returns nothing of use: it is called as `var _ = registerTransport(...)`.
func registerTransport(rank int, section PolicySection, kinds ...GrantKind) struct{} {
	i := 0
	for i < len(transports) && transports[i].rank < rank {
		i++
	}
	transports = slices.Insert(transports, i, transportKinds{rank: rank, kinds: kinds, section: section})
	return struct{}{}
}

// GrantKinds lists every registered grant kind, in the transports' rank
// order: office and realtime first, then the other transports by rank.
func GrantKinds() []GrantKind {
	var out []GrantKind
	for _, t := range transports {
		out = append(out, t.kinds...)
	}
	return out
}

// PolicySections lists the policy section of every grant kind that has
// one, empty (no rule), in the policy file's order.
func PolicySections() []PolicySection {
	var out []PolicySection
	for _, t := range transports {
		if t.section != nil {
			out = append(out, t.section)
		}
	}
	return out
}

// String returns the kind's name.
func (k GrantKind) String() string { return string(k) }

// GrantClaims are a grant kind's claims: each embeds Registered.
type GrantClaims interface {
	RegisteredClaims() Registered
}

// GrantDefinition is what sets one grant kind apart, declared beside the
// kind: the application runs every kind's definition through one issuing
// pipeline. Req is what a caller asks (struct{} when nothing), A what the
// policy grants the caller (struct{} when a yes is all), C the kind's
// claims, Out its answer.
//
// Only the kind's constructor (OfficeDefinition, ...) makes one, from
// settings it checked: its fields are unexported, so no caller can skip
// those checks or change what they accepted. The zero value has no kind,
// and the application refuses it.
type GrantDefinition[Req, A any, C GrantClaims, Out any] struct {
	kind     GrantKind
	issuer   string
	audience string
	ttl      time.Duration
	// authorize is what the policy's rules grant the caller for req, or
	// why not.
	authorize func(rules PolicyRules, caller Principal, req Req) (A, error)
	// claims builds the claims of what was granted, and checks them.
	claims func(caller Principal, req Req, granted A, in Issuance) (C, error)
	// result shapes the signed grant into the kind's answer.
	result func(g Grant, c C) Out
}

// Kind is the kind defined; "" for the zero GrantDefinition.
func (d GrantDefinition[Req, A, C, Out]) Kind() GrantKind { return d.kind }

// Issuer is the grants' iss.
func (d GrantDefinition[Req, A, C, Out]) Issuer() string { return d.issuer }

// Audience is the grants' aud; "" for a kind whose verifier reads none.
func (d GrantDefinition[Req, A, C, Out]) Audience() string { return d.audience }

// TTL is the grants' lifetime, within the kind's bounds.
func (d GrantDefinition[Req, A, C, Out]) TTL() time.Duration { return d.ttl }

// Authorize is what the policy's rules grant the caller for req, or why
// not.
func (d GrantDefinition[Req, A, C, Out]) Authorize(rules PolicyRules, caller Principal, req Req) (A, error) {
	return d.authorize(rules, caller, req)
}

// Claims builds the claims of what was granted, and checks them.
func (d GrantDefinition[Req, A, C, Out]) Claims(caller Principal, req Req, granted A, in Issuance) (C, error) {
	return d.claims(caller, req, granted, in)
}

// Result shapes the signed grant into the kind's answer.
func (d GrantDefinition[Req, A, C, Out]) Result(g Grant, c C) Out { return d.result(g, c) }
