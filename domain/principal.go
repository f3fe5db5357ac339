package domain

import (
	"errors"
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"
)

// DefaultRole is the role given to an organization member whose identity
// names none; it is the default role slug of WorkOS organizations.
const DefaultRole = "member"

// Principal is a verified caller: the user, the organization it currently
// acts in (may be empty) and its role in that organization.
type Principal struct {
	UserID string
	OrgID  string
	Role   string
	// Permissions are the permission slugs the identity carries; empty
	// when it names none.
	Permissions Permissions
	// IssuedAt is when the identity token was issued (its iat); zero when
	// it does not say. Revocations compare it with their cut-off.
	IssuedAt time.Time
	// SessionID is the identity provider's session (the token's sid);
	// empty when it names none.
	SessionID string
}

// NewPrincipal builds a Principal from verified identity values. A user id is
// required; a member of an organization without a role gets DefaultRole.
// Values are taken exactly as given: one holding white space, control or
// other invisible characters is refused, never trimmed, so that two
// identities cannot collapse into one.
func NewPrincipal(userID, orgID, role string) (Principal, error) {
	if userID == "" {
		return Principal{}, fmt.Errorf("%w: user id is empty", ErrInvalidPrincipal)
	}
	for _, f := range []struct{ name, value string }{{"user id", userID}, {"organization id", orgID}, {"role", role}} {
		if err := CheckIdentifier(f.value); err != nil {
			return Principal{}, fmt.Errorf("%w: %s: %w", ErrInvalidPrincipal, f.name, err)
		}
	}
	if orgID == "" {
		role = ""
	} else if role == "" {
		role = DefaultRole
	}
	return Principal{UserID: userID, OrgID: orgID, Role: role}, nil
}

// ErrMalformedIdentifier means an identity value holds something no user,
// organization or role identifier may hold.
var ErrMalformedIdentifier = errors.New("malformed identifier")

// CheckIdentifier accepts s ("" included) when it is valid UTF-8 without
// white space (Unicode's, such as U+00A0, U+2028 or U+3000), control or
// format characters (such as U+200B or the bidirectional overrides).
func CheckIdentifier(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: not UTF-8", ErrMalformedIdentifier)
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError {
			return fmt.Errorf("%w: holds %U", ErrMalformedIdentifier, r)
		}
	}
	return nil
}

// HasOrganization reports whether the caller acts in an organization.
func (p Principal) HasOrganization() bool { return p.OrgID != "" }

// AuthFailureReason says, in a word fit for logs and metrics, why a bearer
// token was refused. The set is closed: only the constants below.
type AuthFailureReason string

// The reasons a bearer token is refused.
const (
	// ReasonMalformed: not a well-formed compact JWS.
	ReasonMalformed AuthFailureReason = "malformed"
	// ReasonForbiddenHeader: the header names a key source (jku, x5u, jwk,
	// x5c) or a critical extension (crit).
	ReasonForbiddenHeader AuthFailureReason = "forbidden_header"
	// ReasonWrongType: the header's typ is not that of an access token.
	ReasonWrongType AuthFailureReason = "wrong_type"
	// ReasonAlgorithmNotAllowed: alg is not on the allow-list.
	ReasonAlgorithmNotAllowed AuthFailureReason = "algorithm_not_allowed"
	// ReasonUnknownKey: no trusted key has the token's kid.
	ReasonUnknownKey AuthFailureReason = "unknown_key"
	// ReasonKeysUnavailable: the identity keys are not loaded yet.
	ReasonKeysUnavailable AuthFailureReason = "keys_unavailable"
	// ReasonBadSignature: the signature does not verify.
	ReasonBadSignature AuthFailureReason = "bad_signature"
	// ReasonMissingClaim: a required claim is absent.
	ReasonMissingClaim AuthFailureReason = "missing_claim"
	// ReasonMalformedClaim: a claim has the wrong JSON type or a value out
	// of range (white space in an identifier, a date past 9999).
	ReasonMalformedClaim AuthFailureReason = "malformed_claim"
	// ReasonExpired: exp is past.
	ReasonExpired AuthFailureReason = "expired"
	// ReasonNotYetValid: nbf is in the future.
	ReasonNotYetValid AuthFailureReason = "not_yet_valid"
	// ReasonIssuedInFuture: iat is in the future.
	ReasonIssuedInFuture AuthFailureReason = "issued_in_future"
	// ReasonWrongIssuer: iss is not the configured issuer.
	ReasonWrongIssuer AuthFailureReason = "wrong_issuer"
	// ReasonWrongAudience: aud lacks the configured audience, or is present
	// where the provider's tokens carry none.
	ReasonWrongAudience AuthFailureReason = "wrong_audience"
)

// AuthFailureReasons is every AuthFailureReason, for those that declare
// the closed set ahead (metrics series at zero).
func AuthFailureReasons() []AuthFailureReason {
	return []AuthFailureReason{
		ReasonMalformed, ReasonForbiddenHeader, ReasonWrongType, ReasonAlgorithmNotAllowed, ReasonUnknownKey,
		ReasonKeysUnavailable, ReasonBadSignature, ReasonMissingClaim, ReasonMalformedClaim, ReasonExpired,
		ReasonNotYetValid, ReasonIssuedInFuture, ReasonWrongIssuer, ReasonWrongAudience,
	}
}

// CredentialError is a refused bearer token and why; it unwraps to
// ErrInvalidCredentials. Claim names the claim (or header parameter) at
// fault, when there is one. It never holds the token nor a claim's value.
type CredentialError struct {
	Reason AuthFailureReason
	Claim  string
}

func (e *CredentialError) Error() string {
	if e.Claim != "" {
		return fmt.Sprintf("%v: %s (%s)", ErrInvalidCredentials, e.Reason, e.Claim)
	}
	return fmt.Sprintf("%v: %s", ErrInvalidCredentials, e.Reason)
}

// Unwrap makes errors.Is(err, ErrInvalidCredentials) hold.
func (e *CredentialError) Unwrap() error { return ErrInvalidCredentials }
