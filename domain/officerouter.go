package domain

import (
	"context"
	"errors"
	"time"
)

// The office-router's administrative route: gatepass calls it to evict a
// revoked user, with an admin grant signed by the office key.

// DefaultOfficeRouterAdminAudience is the aud of admin grants unless set.
const DefaultOfficeRouterAdminAudience = "office-router-admin"

// OfficeRouterAdminSubject is the sub of admin grants: gatepass itself.
const OfficeRouterAdminSubject = "gatepass"

// OfficeRouterAdminClaims are an admin grant's claims: gatepass's
// authority for one call of the office-router's revocation route,
// bound to its body.
type OfficeRouterAdminClaims struct {
	Registered
	// BodySHA256 is the unpadded base64url SHA-256 of the request body the
	// grant authorizes.
	BodySHA256 string
}

// RegisteredClaims returns the registered claims.
func (c OfficeRouterAdminClaims) RegisteredClaims() Registered { return c.Registered }

// OfficeRouterAdminSigner signs admin grants with the office key, so the
// office-router verifies them with the JWKS it verifies office grants with.
type OfficeRouterAdminSigner interface {
	SignOfficeRouterAdmin(ctx context.Context, c OfficeRouterAdminClaims) (string, error)
}

// OfficeRouterAdminSettings are how gatepass reaches the office-router's
// revocation route.
type OfficeRouterAdminSettings struct {
	// URL is the route, such as https://office.example.com/admin/revoke.
	URL string
	// Issuer is the admin grants' iss: the office grants' issuer, which
	// the office-router already trusts.
	Issuer   string
	Audience string
	// GrantTTL is the office grants' lifetime: how long after its cut-off
	// the office-router keeps refusing older grants, since by then every
	// one has expired.
	GrantTTL time.Duration
}

// NamedAudience is an audience of another grant kind signed with the
// office key, with the name an operator knows it by.
type NamedAudience struct {
	Name     string
	Audience string
}

// NewOfficeRouterAdminSettings checks the admin route's settings: a URL,
// an issuer, a positive grant lifetime, and an audience of its own,
// different from every other audience the office key signs for (others),
// or a grant of one kind would pass as the other: an office grant would
// call the admin route, or an admin grant open a socket. Every problem is
// reported, joined; each is a *SettingError.
func NewOfficeRouterAdminSettings(s OfficeRouterAdminSettings, others ...NamedAudience) (OfficeRouterAdminSettings, error) {
	var errs []error
	if s.URL == "" {
		errs = append(errs, &SettingError{Field: "URL", Reason: "must not be empty", Err: ErrSettingMissing})
	}
	if s.Issuer == "" {
		errs = append(errs, &SettingError{Field: "Issuer", Reason: "must not be empty", Err: ErrSettingMissing})
	}
	if s.GrantTTL <= 0 {
		errs = append(errs, &SettingError{Field: "GrantTTL", Reason: "must be positive", Err: ErrTTLOutOfRange})
	}
	if s.Audience == "" {
		errs = append(errs, &SettingError{Field: "Audience", Reason: "must not be empty", Err: ErrAudienceMissing})
	}
	for _, o := range others {
		if s.Audience != "" && o.Audience == s.Audience {
			errs = append(errs, &SettingError{Field: "Audience", Reason: "must differ from " + o.Name, Err: ErrAudienceShared})
		}
	}
	if err := errors.Join(errs...); err != nil {
		return OfficeRouterAdminSettings{}, err
	}
	return s, nil
}
