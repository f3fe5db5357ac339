package ginhttp

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
)

// Errors the adapter finds itself, before any use case runs.
var (
	errNotBearer        = errors.New("authorization is not a bearer token")
	errDuplicateHeader  = errors.New("a header that must appear once appears more than once")
	errBearerTooLarge   = errors.New("authorization header is too large")
	errBodyTooLarge     = errors.New("request body is too large")
	errMalformedBody    = errors.New("malformed request body")
	errUnsupportedMedia = errors.New("request body is not JSON")
)

// identityRetryAfter is when a caller refused for want of identity keys is
// asked to retry: the keys are fetched again within seconds.
const identityRetryAfter = 5 * time.Second

// ProblemTypeBase prefixes the type URI of every problem; the stable code
// follows it.
const ProblemTypeBase = "urn:gatepass:problem:"

// problem is an RFC 9457 problem detail with a stable machine code.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
	// Reason, in development only (Options.ExplainRefusals), is why a 401
	// or 403 was answered: the reason the request log names.
	Reason string `json:"reason,omitempty"`
	// Field names the request's field at fault, as the API spells it,
	// when one is (the admin API's invalid_revocation).
	Field string `json:"field,omitempty"`
}

func newProblem(status int, code, title, detail string) problem {
	return problem{Type: ProblemTypeBase + code, Title: title, Status: status, Detail: detail, Code: code}
}

var (
	problemMissingCredentials = newProblem(http.StatusUnauthorized, "missing_credentials", "Unauthorized",
		"An Authorization header with a bearer access token is required.")
	problemInvalidToken = newProblem(http.StatusUnauthorized, "invalid_token", "Unauthorized",
		"The bearer access token is invalid, expired or not accepted here.")
	problemNoOrganization = newProblem(http.StatusForbidden, "no_organization", "Forbidden",
		"The caller does not act in an organization.")
	problemOrganizationMismatch = newProblem(http.StatusForbidden, "organization_mismatch", "Forbidden",
		"The requested organization is not the caller's current organization.")
	problemMalformedBody = newProblem(http.StatusBadRequest, "malformed_body", "Bad Request",
		"The request body must be empty or a JSON object of the documented shape.")
	problemDuplicateHeader = newProblem(http.StatusBadRequest, "duplicate_header", "Bad Request",
		"A header that must appear once, such as Authorization, was sent more than once.")
	problemUnsupportedMedia = newProblem(http.StatusUnsupportedMediaType, "unsupported_media_type", "Unsupported Media Type",
		"The request body must be application/json.")
	problemBodyTooLarge = newProblem(http.StatusRequestEntityTooLarge, "body_too_large", "Content Too Large",
		"The request body is larger than this endpoint accepts.")
	problemNotFound = newProblem(http.StatusNotFound, "not_found", "Not Found",
		"No resource at this path.")
	problemMethodNotAllowed = newProblem(http.StatusMethodNotAllowed, "method_not_allowed", "Method Not Allowed",
		"This method is not allowed on this resource.")
	problemRateLimited = newProblem(http.StatusTooManyRequests, "rate_limited", "Too Many Requests",
		"Too many requests; retry after the number of seconds in Retry-After.")
	problemLimiterUnavailable = newProblem(http.StatusServiceUnavailable, "rate_limiter_unavailable", "Service Unavailable",
		"The service cannot check request budgets right now; retry shortly.")
	problemIdentityUnavailable = newProblem(http.StatusServiceUnavailable, "identity_unavailable", "Service Unavailable",
		"The identity provider's keys are not available yet; retry after the number of seconds in Retry-After.")
	problemTransportDisabled = newProblem(http.StatusNotFound, "transport_disabled", "Not Found",
		"This transport is not configured on this deployment.")
	problemUnsupportedIdentifier = newProblem(http.StatusForbidden, "unsupported_identifier", "Forbidden",
		"The caller's organization or user id cannot name a room or channel.")
	problemTransportNotAllowed = newProblem(http.StatusForbidden, "transport_not_allowed", "Forbidden",
		"The policy gives the caller no right on this transport.")
	problemForbiddenField = newProblem(http.StatusForbidden, "forbidden_field", "Forbidden",
		"The policy does not allow the caller to set this field.")
	problemInternal = newProblem(http.StatusInternalServerError, "internal", "Internal Server Error",
		"The request could not be completed.")
	problemRevoked = newProblem(http.StatusUnauthorized, "revoked", "Unauthorized",
		"Access was revoked after this identity token was issued; fetch a new identity token from the identity provider.")
	problemRevocationsUnavailable = newProblem(http.StatusServiceUnavailable, "revocations_unavailable", "Service Unavailable",
		"The revocation store cannot be read or written right now; retry after the number of seconds in Retry-After.")
	problemInvalidRevocation = newProblem(http.StatusBadRequest, "invalid_revocation", "Bad Request",
		"The revocation is not valid.")
	problemUnsupportedWebhookMedia = newProblem(http.StatusUnsupportedMediaType, "unsupported_media_type", "Unsupported Media Type",
		"The webhook body must be application/webhook+json.")
	problemInvalidSignature = newProblem(http.StatusUnauthorized, "invalid_signature", "Unauthorized",
		"The webhook signature is missing, malformed, wrong or outside the tolerance.")
)

// revocationsRetryAfter is when a caller refused because the revocation
// store does not answer is asked to retry.
const revocationsRetryAfter = time.Second

// problemFor is the one mapping of errors to HTTP answers.
func problemFor(err error) problem {
	switch {
	case errors.Is(err, application.ErrGrantKindDisabled):
		return problemTransportDisabled
	case errors.Is(err, domain.ErrRateLimited):
		return problemRateLimited
	case errors.Is(err, domain.ErrLimiterUnavailable):
		return problemLimiterUnavailable
	case errors.Is(err, domain.ErrRevoked):
		return problemRevoked
	case errors.Is(err, domain.ErrRevocationsUnavailable):
		return problemRevocationsUnavailable
	case errors.Is(err, application.ErrIdentityUnavailable):
		// Before ErrInvalidCredentials, which it also wraps.
		return problemIdentityUnavailable
	case errors.Is(err, errDuplicateHeader):
		return problemDuplicateHeader
	case errors.Is(err, domain.ErrMissingCredentials):
		return problemMissingCredentials
	case errors.Is(err, domain.ErrInvalidCredentials), errors.Is(err, errNotBearer), errors.Is(err, errBearerTooLarge):
		return problemInvalidToken
	case errors.Is(err, domain.ErrNoOrganization):
		return problemNoOrganization
	case errors.Is(err, domain.ErrOrganizationMismatch):
		return problemOrganizationMismatch
	case errors.Is(err, domain.ErrUnsupportedIdentifier):
		return problemUnsupportedIdentifier
	case errors.Is(err, domain.ErrTransportNotAllowed):
		return problemTransportNotAllowed
	case errors.Is(err, domain.ErrForbiddenField):
		return problemForbiddenField
	case errors.Is(err, errBodyTooLarge):
		return problemBodyTooLarge
	case errors.Is(err, errUnsupportedMedia):
		return problemUnsupportedMedia
	case errors.Is(err, errMalformedBody):
		return problemMalformedBody
	}
	if p, ok := registeredProblem(err); ok {
		return p
	}
	return problemInternal
}

// fail answers err as a problem. Unexpected errors are logged; the caller
// learns nothing of them. Credential failures are logged at debug level
// with the error chain only (it never contains the token).
func (h *handlers) fail(c *gin.Context, err error) {
	p := problemFor(err)
	if reason := markReason(c, p, err); h.explain {
		p.Reason = reason
	}
	var limited *domain.RateLimitedError
	if errors.As(err, &limited) {
		c.Header("Retry-After", strconv.Itoa(retryAfterSeconds(limited.RetryAfter)))
	}
	switch p {
	case problemIdentityUnavailable:
		c.Header("Retry-After", strconv.Itoa(retryAfterSeconds(identityRetryAfter)))
	case problemRevocationsUnavailable:
		c.Header("Retry-After", strconv.Itoa(retryAfterSeconds(revocationsRetryAfter)))
	}
	switch {
	case p.Status == http.StatusServiceUnavailable:
		h.log.WarnContext(c, "request refused", "route", c.FullPath(), "error", err)
	case p.Status >= 500:
		h.log.ErrorContext(c, "request failed", "route", c.FullPath(), "error", err)
	case p.Status == http.StatusUnauthorized:
		// The error may quote token header values (a kid): bounded, and
		// only at debug level.
		h.log.DebugContext(c, "authentication failed", "error", truncate(err.Error(), 200))
	}
	writeProblem(c, p)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// retryAfterSeconds rounds up to whole seconds, at least one: a client
// that waits that long is never early.
func retryAfterSeconds(d time.Duration) int {
	s := int((d + time.Second - 1) / time.Second)
	return max(s, 1)
}

func writeProblem(c *gin.Context, p problem) {
	if p.Status == http.StatusUnauthorized {
		c.Header("WWW-Authenticate", `Bearer realm="gatepass", error="invalid_token"`)
	}
	c.Header("Cache-Control", "no-store")
	c.Header("Content-Type", "application/problem+json")
	c.Render(p.Status, problemRender{p})
	c.Abort()
}

// markReason remembers, and returns, why a 401 or 403 was answered, from a
// closed set:
// the verifier's reason for a refused token (and the claim it names, never
// its value), "malformed" for an Authorization that is not a bearer token
// at all, and the problem code for every other refusal.
func markReason(c *gin.Context, p problem, err error) string {
	if p.Status != http.StatusUnauthorized && p.Status != http.StatusForbidden {
		return ""
	}
	reason := p.Code
	var ce *domain.CredentialError
	switch {
	case errors.As(err, &ce):
		reason = string(ce.Reason)
		if ce.Claim != "" {
			stateOf(c).claim = ce.Claim
		}
	case errors.Is(err, errNotBearer), errors.Is(err, errBearerTooLarge):
		reason = string(domain.ReasonMalformed)
	}
	stateOf(c).reason = reason
	return reason
}
