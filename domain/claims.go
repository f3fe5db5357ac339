package domain

import (
	"fmt"
	"time"
)

// Registered are the RFC 7519 claims every grant carries. Times are whole
// seconds, as JWT NumericDate values are.
type Registered struct {
	Issuer    string
	Subject   string
	Audience  string
	ID        string
	IssuedAt  time.Time
	NotBefore time.Time
	ExpiresAt time.Time
}

// Issuance is what every grant is minted from: who issues it for whom, when,
// for how long, and its unique id.
type Issuance struct {
	Issuer   string
	Audience string
	ID       string
	Now      time.Time
	TTL      time.Duration
}

func newRegistered(subject string, in Issuance) (Registered, error) {
	if in.Audience == "" {
		return Registered{}, fmt.Errorf("%w: audience is empty", ErrInvalidClaims)
	}
	return newRegisteredAnyAudience(subject, in)
}

// newRegisteredAnyAudience is newRegistered for grants whose audience may
// be empty (a kind whose verifier reads no audience).
func newRegisteredAnyAudience(subject string, in Issuance) (Registered, error) {
	switch {
	case subject == "":
		return Registered{}, fmt.Errorf("%w: subject is empty", ErrInvalidClaims)
	case in.Issuer == "":
		return Registered{}, fmt.Errorf("%w: issuer is empty", ErrInvalidClaims)
	case in.ID == "":
		return Registered{}, fmt.Errorf("%w: token id is empty", ErrInvalidClaims)
	case in.Now.IsZero():
		return Registered{}, fmt.Errorf("%w: issue time is zero", ErrInvalidClaims)
	case in.TTL < time.Second:
		return Registered{}, fmt.Errorf("%w: ttl %s is under one second", ErrInvalidClaims, in.TTL)
	}
	iat := in.Now.UTC().Truncate(time.Second)
	return Registered{
		Issuer:    in.Issuer,
		Subject:   subject,
		Audience:  in.Audience,
		ID:        in.ID,
		IssuedAt:  iat,
		NotBefore: iat,
		ExpiresAt: iat.Add(in.TTL.Truncate(time.Second)),
	}, nil
}

// TTL is the lifetime of the claims, from issue to expiry.
func (r Registered) TTL() time.Duration { return r.ExpiresAt.Sub(r.IssuedAt) }

// RegisteredClaims are the registered claims themselves: every grant's
// claims embed them, so code generic over grant kinds reads them here.
func (r Registered) RegisteredClaims() Registered { return r }
