package domain

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// The office-router: its connection grant (a grant kind, registered first
// of all), and its administrative route, which gatepass calls to evict a
// revoked user with an admin grant signed by the office key.

// GrantOffice is an office-router connection grant.
const GrantOffice GrantKind = "office"

// TransportOfficeRouter is the office-router in a revocation's fan-out.
const TransportOfficeRouter Transport = "office_router"

// The office-router's kind, first of all; it has no section of the
// policy: its rule is the caller's own organization.
var _ = registerTransport(0, nil, GrantOffice)

// OfficeRequest is what a caller asks of an office-router grant.
type OfficeRequest struct {
	// OrgID, when not empty, must be the caller's own organization.
	OrgID string
}

// OfficeGrant is a Grant for the office-router with the WebSocket URL the
// client connects to.
type OfficeGrant struct {
	Grant
	URL string
}

// OfficeClaims are the claims of an office-router connection grant: the
// Worker opens the Durable Object of OrgID for UserID acting as Role.
type OfficeClaims struct {
	Registered
	UserID string
	OrgID  string
	Role   string
}

// NewOfficeClaims builds the office-router claims for a caller that acts in
// an organization.
func NewOfficeClaims(p Principal, in Issuance) (OfficeClaims, error) {
	if !p.HasOrganization() {
		return OfficeClaims{}, ErrNoOrganization
	}
	if p.Role == "" {
		return OfficeClaims{}, fmt.Errorf("%w: role is empty", ErrInvalidClaims)
	}
	reg, err := newRegistered(p.UserID, in)
	if err != nil {
		return OfficeClaims{}, err
	}
	return OfficeClaims{Registered: reg, UserID: p.UserID, OrgID: p.OrgID, Role: p.Role}, nil
}

// Bounds of an office-router grant's lifetime.
const (
	MinOfficeTTL = time.Second
	MaxOfficeTTL = time.Hour
)

// OfficeSettings are how office-router grants are minted.
type OfficeSettings struct {
	Issuer   string
	Audience string
	TTL      time.Duration
	// URL is the office-router WebSocket URL returned with each grant.
	URL string
}

// NewOfficeSettings checks office-router grant settings: their lifetime
// within MinOfficeTTL and MaxOfficeTTL. Errors are *SettingError.
func NewOfficeSettings(s OfficeSettings) (OfficeSettings, error) {
	if err := TTLWithin("TTL", s.TTL, MinOfficeTTL, MaxOfficeTTL); err != nil {
		return OfficeSettings{}, err
	}
	return s, nil
}

// OfficeDefinition is the office-router grant kind: access to the
// caller's own organization's office (a caller naming another
// organization is refused with ErrOrganizationMismatch, one acting in
// none with ErrNoOrganization). It refuses the settings NewOfficeSettings
// refuses, with the same *SettingError.
func OfficeDefinition(s OfficeSettings) (GrantDefinition[OfficeRequest, struct{}, OfficeClaims, OfficeGrant], error) {
	s, err := NewOfficeSettings(s)
	if err != nil {
		return GrantDefinition[OfficeRequest, struct{}, OfficeClaims, OfficeGrant]{}, fmt.Errorf("%s settings: %w", GrantOffice, err)
	}
	return GrantDefinition[OfficeRequest, struct{}, OfficeClaims, OfficeGrant]{
		kind: GrantOffice, issuer: s.Issuer, audience: s.Audience, ttl: s.TTL,
		authorize: func(_ PolicyRules, caller Principal, req OfficeRequest) (struct{}, error) {
			if !caller.HasOrganization() {
				return struct{}{}, ErrNoOrganization
			}
			if req.OrgID != "" && req.OrgID != caller.OrgID {
				return struct{}{}, ErrOrganizationMismatch
			}
			return struct{}{}, nil
		},
		claims: func(caller Principal, _ OfficeRequest, _ struct{}, in Issuance) (OfficeClaims, error) {
			return NewOfficeClaims(caller, in)
		},
		result: func(g Grant, _ OfficeClaims) OfficeGrant { return OfficeGrant{Grant: g, URL: s.URL} },
	}, nil
}

// The office-router's administrative route.

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
