package application

import (
	"time"

	"github.com/gatepass/gatepass/domain"
)

// Errors of the grant policies' constructors (the domain's, as every
// kind's settings refuse them); each comes inside a *SettingError naming
// the field.
var (
	// ErrTTLOutOfRange means a grant's lifetime is outside its kind's bounds.
	ErrTTLOutOfRange = domain.ErrTTLOutOfRange
	// ErrAudienceMissing means a grant that needs an audience has none.
	ErrAudienceMissing = domain.ErrAudienceMissing
	// ErrAudienceShared means two kinds of grant signed with one key name
	// one audience, so either verifier would accept the other's grants.
	ErrAudienceShared = domain.ErrAudienceShared
)

// SettingError is a policy field its constructor refused: see
// domain.SettingError.
type SettingError = domain.SettingError

// Bounds of each grant kind's lifetime.
const (
	MinOfficeTTL   = time.Second
	MaxOfficeTTL   = time.Hour
	MinRealtimeTTL = time.Second
	MaxRealtimeTTL = 24 * time.Hour
)

// NewOfficePolicy checks an office-router grant policy: its lifetime
// within MinOfficeTTL and MaxOfficeTTL. Errors are *SettingError.
func NewOfficePolicy(p OfficePolicy) (OfficePolicy, error) {
	if err := domain.TTLWithin("TTL", p.TTL, MinOfficeTTL, MaxOfficeTTL); err != nil {
		return OfficePolicy{}, err
	}
	return p, nil
}

// NewRealtimePolicy checks a Supabase Realtime token policy: its lifetime
// within MinRealtimeTTL and MaxRealtimeTTL. Errors are *SettingError.
func NewRealtimePolicy(p RealtimePolicy) (RealtimePolicy, error) {
	if err := domain.TTLWithin("TTL", p.TTL, MinRealtimeTTL, MaxRealtimeTTL); err != nil {
		return RealtimePolicy{}, err
	}
	return p, nil
}

// SettingErrors lists the *SettingError inside err, joined or alone,
// wrapped or not.
func SettingErrors(err error) []*SettingError {
	var out []*SettingError
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case *SettingError:
			out = append(out, e)
		case interface{ Unwrap() []error }:
			for _, e := range e.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(e.Unwrap())
		}
	}
	if err != nil {
		walk(err)
	}
	return out
}
