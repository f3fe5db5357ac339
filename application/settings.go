package application

import "github.com/gatepass/gatepass/domain"

// Errors of the grant kinds' settings (the domain's, as every kind's
// definition refuses them); each comes inside a *SettingError naming
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

// SettingError is a setting its constructor refused: see
// domain.SettingError.
type SettingError = domain.SettingError

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
