package domain

import "errors"

// Sentinel errors of the domain. Adapters wrap them with context; the inbound
// adapter maps them to HTTP answers with errors.Is.
var (
	// ErrMissingCredentials means the caller presented no bearer token.
	ErrMissingCredentials = errors.New("missing credentials")
	// ErrInvalidCredentials means the caller's bearer token did not verify.
	ErrInvalidCredentials = errors.New("invalid credentials")
	// ErrInvalidPrincipal means a verified identity lacks what a caller needs (a user id).
	ErrInvalidPrincipal = errors.New("invalid principal")
	// ErrNoOrganization means the caller acts in no organization.
	ErrNoOrganization = errors.New("caller has no organization")
	// ErrOrganizationMismatch means the caller asked for an organization that is not its own.
	ErrOrganizationMismatch = errors.New("organization does not match the caller's")
	// ErrInvalidClaims means grant claims could not be built from the given values.
	ErrInvalidClaims = errors.New("invalid claims")
	// ErrNoSigningKey means a key set holds no key that signs new grants.
	ErrNoSigningKey = errors.New("no signing key in the key set")
)
