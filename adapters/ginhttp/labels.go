package ginhttp

import (
	"net/http"

	"github.com/gatepass/gatepass/domain"
)

// answerable is every problem a grant endpoint may answer once routed:
// what problemFor maps errors to, and each registered transport's own
// (grantRegistration.problems). not_found, method_not_allowed and
// transport_disabled are answered by routing, before any grant is tried.
var answerable = []problem{
	problemMissingCredentials, problemInvalidToken, problemIdentityUnavailable, problemNoOrganization,
	problemOrganizationMismatch, problemMalformedBody, problemDuplicateHeader, problemUnsupportedMedia,
	problemBodyTooLarge, problemRateLimited, problemLimiterUnavailable, problemUnsupportedIdentifier,
	problemTransportNotAllowed, problemForbiddenField, problemInternal, problemRevoked,
	problemRevocationsUnavailable,
}

// GrantResults is the closed set of results a grant attempt is counted
// under (Observer.GrantIssued): "issued", or the code of the problem
// answered.
func GrantResults() []string {
	out := []string{"issued"}
	for _, p := range answerable {
		out = append(out, p.Code)
	}
	return out
}

// RefusalReasons is the closed set of reasons a 401 or 403 is logged and
// counted under (Observer.AuthFailure): the verifier's reasons for a
// refused token, and the code of every other 401 or 403. A token that could
// not be checked for want of identity keys is not refused (503).
func RefusalReasons() []string {
	var out []string
	for _, r := range domain.AuthFailureReasons() {
		if r != domain.ReasonKeysUnavailable {
			out = append(out, string(r))
		}
	}
	for _, p := range answerable {
		if p.Status == http.StatusUnauthorized || p.Status == http.StatusForbidden {
			out = append(out, p.Code)
		}
	}
	return out
}
