package domain

import (
	"errors"
	"fmt"
	"time"
)

// Errors of the grant settings' constructors; each comes inside a
// *SettingError naming the field.
var (
	// ErrTTLOutOfRange means a grant's lifetime is outside its kind's bounds.
	ErrTTLOutOfRange = errors.New("grant lifetime out of range")
	// ErrAudienceMissing means a grant that needs an audience has none.
	ErrAudienceMissing = errors.New("audience missing")
	// ErrAudienceShared means two kinds of grant signed with one key name
	// one audience, so either verifier would accept the other's grants.
	ErrAudienceShared = errors.New("audience shared with another grant kind")
	// ErrSettingMissing means a setting that must be given is empty.
	ErrSettingMissing = errors.New("setting missing")
)

// SettingError is a settings field its constructor refused. Reason is the
// sentence an operator reads after the setting's name; it never quotes a
// secret.
type SettingError struct {
	// Field names the settings' field, such as "TTL" or "Audience".
	Field  string
	Reason string
	Err    error
}

func (e *SettingError) Error() string { return e.Field + ": " + e.Reason }

// Unwrap returns the sentinel.
func (e *SettingError) Unwrap() error { return e.Err }

// TTLWithin refuses a lifetime outside [lo, hi] as field's *SettingError.
func TTLWithin(field string, ttl, lo, hi time.Duration) error {
	if ttl < lo || ttl > hi {
		return &SettingError{Field: field, Err: ErrTTLOutOfRange,
			Reason: fmt.Sprintf("must be between %s and %s", shortDuration(lo), shortDuration(hi))}
	}
	return nil
}

// shortDuration writes 1h, not 1h0m0s, as operators write settings.
func shortDuration(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	default:
		return d.String()
	}
}
