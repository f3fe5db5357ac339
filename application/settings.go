package application

import (
	"errors"
	"fmt"
	"time"
)

// Errors of the grant policies' constructors; each comes inside a
// *SettingError naming the field.
var (
	// ErrTTLOutOfRange means a grant's lifetime is outside its kind's bounds.
	ErrTTLOutOfRange = errors.New("grant lifetime out of range")
	// ErrAudienceMissing means a grant that needs an audience has none.
	ErrAudienceMissing = errors.New("audience missing")
	// ErrAudienceShared means two kinds of grant signed with one key name
	// one audience, so either verifier would accept the other's grants.
	ErrAudienceShared = errors.New("audience shared with another grant kind")
)

// SettingError is a policy field its constructor refused. Reason is the
// sentence an operator reads after the setting's name; it never quotes a
// secret.
type SettingError struct {
	// Field names the policy's field, such as "TTL" or "Audience".
	Field  string
	Reason string
	Err    error
}

func (e *SettingError) Error() string { return e.Field + ": " + e.Reason }

// Unwrap returns the sentinel.
func (e *SettingError) Unwrap() error { return e.Err }

// Bounds of each grant kind's lifetime.
const (
	MinOfficeTTL     = time.Second
	MaxOfficeTTL     = time.Hour
	MinRealtimeTTL   = time.Second
	MaxRealtimeTTL   = 24 * time.Hour
	MinLiveKitTTL    = time.Minute
	MaxLiveKitTTL    = 6 * time.Hour
	MinCentrifugoTTL = time.Minute
	MaxCentrifugoTTL = 24 * time.Hour
)

// ttlWithin refuses a lifetime outside [lo, hi] as field's error.
func ttlWithin(field string, ttl, lo, hi time.Duration) error {
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

// NewOfficePolicy checks an office-router grant policy: its lifetime
// within MinOfficeTTL and MaxOfficeTTL. Errors are *SettingError.
func NewOfficePolicy(p OfficePolicy) (OfficePolicy, error) {
	if err := ttlWithin("TTL", p.TTL, MinOfficeTTL, MaxOfficeTTL); err != nil {
		return OfficePolicy{}, err
	}
	return p, nil
}

// NewRealtimePolicy checks a Supabase Realtime token policy: its lifetime
// within MinRealtimeTTL and MaxRealtimeTTL. Errors are *SettingError.
func NewRealtimePolicy(p RealtimePolicy) (RealtimePolicy, error) {
	if err := ttlWithin("TTL", p.TTL, MinRealtimeTTL, MaxRealtimeTTL); err != nil {
		return RealtimePolicy{}, err
	}
	return p, nil
}

// NewLiveKitPolicy checks a LiveKit token policy: its lifetime within
// MinLiveKitTTL and MaxLiveKitTTL. Errors are *SettingError.
func NewLiveKitPolicy(p LiveKitPolicy) (LiveKitPolicy, error) {
	if err := ttlWithin("TTL", p.TTL, MinLiveKitTTL, MaxLiveKitTTL); err != nil {
		return LiveKitPolicy{}, err
	}
	return p, nil
}

// NewCentrifugoPolicy checks a Centrifugo token policy beside the office
// policy whose key signs its tokens too: an audience of its own (else the
// office-router would accept Centrifugo tokens and Centrifugo office
// grants), and both lifetimes within MinCentrifugoTTL and
// MaxCentrifugoTTL. Every problem is reported, joined; each is a
// *SettingError.
func NewCentrifugoPolicy(p CentrifugoPolicy, office OfficePolicy) (CentrifugoPolicy, error) {
	var errs []error
	switch p.Audience {
	case "":
		errs = append(errs, &SettingError{Field: "Audience", Reason: "must not be empty", Err: ErrAudienceMissing})
	case office.Audience:
		errs = append(errs, &SettingError{Field: "Audience", Reason: "must differ from the office-router grant's audience", Err: ErrAudienceShared})
	}
	errs = append(errs,
		ttlWithin("ConnectionTTL", p.ConnectionTTL, MinCentrifugoTTL, MaxCentrifugoTTL),
		ttlWithin("SubscriptionTTL", p.SubscriptionTTL, MinCentrifugoTTL, MaxCentrifugoTTL))
	if err := errors.Join(errs...); err != nil {
		return CentrifugoPolicy{}, err
	}
	return p, nil
}

// SettingErrors lists the *SettingError inside err, joined or alone.
func SettingErrors(err error) []*SettingError {
	var out []*SettingError
	var walk func(error)
	walk = func(err error) {
		if joined, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range joined.Unwrap() {
				walk(e)
			}
			return
		}
		var se *SettingError
		if errors.As(err, &se) {
			out = append(out, se)
		}
	}
	if err != nil {
		walk(err)
	}
	return out
}
