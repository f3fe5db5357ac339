package ginhttp

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/gin-gonic/gin"

	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
)

// Routes of the OAuth 2.0 front door.
const (
	RouteTokenExchange = "/oauth2/token"
	RouteOAuthMetadata = "/.well-known/oauth-authorization-server"
)

// RFC 8693 identifiers.
const (
	GrantTypeTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	TokenTypeAccessToken   = "urn:ietf:params:oauth:token-type:access_token"
	TokenTypeJWT           = "urn:ietf:params:oauth:token-type:jwt"
)

// exchangeBodyBytes bounds the form: any bearer-sized subject token fits.
const exchangeBodyBytes = 16 << 10

// maxFormParameters bounds the parameters of a form, repeats included:
// the exchange knows nine, and a form of thousands of names costs more to
// read than a bad subject token costs to refuse.
const maxFormParameters = 32

// formParam is a parameter of the token exchange.
type formParam int

// The parameters of RFC 8693 section 2.1 and RFC 6749's grant_type and
// scope; a form's other names are skipped.
const (
	paramGrantType formParam = iota
	paramSubjectToken
	paramSubjectTokenType
	paramActorToken
	paramActorTokenType
	paramRequestedTokenType
	paramAudience
	paramResource
	paramScope
	formParams
)

var formParamNames = [formParams]string{
	"grant_type", "subject_token", "subject_token_type", "actor_token", "actor_token_type",
	"requested_token_type", "audience", "resource", "scope",
}

// exchangeForm is what a form gives of each parameter the exchange knows:
// the first value and how many times it is given.
type exchangeForm struct {
	values [formParams]string
	counts [formParams]int
}

func (f *exchangeForm) get(p formParam) string { return f.values[p] }
func (f *exchangeForm) has(p formParam) bool   { return f.counts[p] > 0 }

// set records one more value of the parameter name; an unknown name is
// skipped (RFC 6749 section 3.2: a server MUST ignore unrecognized
// parameters), its value not even decoded. Only the first value of a
// parameter is decoded and kept: a repeat is refused by parseExchange.
func (f *exchangeForm) set(name, value string) error {
	i := slices.Index(formParamNames[:], name)
	if i < 0 {
		return nil
	}
	if f.counts[i]++; f.counts[i] > 1 {
		return nil
	}
	v, err := url.QueryUnescape(value)
	f.values[i] = v
	return err
}

// oauthError is an RFC 6749 section 5.2 error answer.
type oauthError struct {
	status      int
	code        string
	description string
}

func (e *oauthError) Error() string { return e.code + ": " + e.description }

func badRequest(code, description string) *oauthError {
	return &oauthError{status: http.StatusBadRequest, code: code, description: description}
}

// exchange is a parsed token-exchange request: which grant, for which
// target, in exchange for which subject token.
type exchange struct {
	audience string
	subject  string
	exchangeTarget
}

// parseExchange checks the form, then the audience and scope syntax, in
// the order RFC 8693 clients expect the errors.
func parseExchange(form *exchangeForm, enabled map[string]bool) (exchange, *oauthError) {
	for p, n := range form.counts {
		if n > 1 && formParam(p) != paramAudience {
			return exchange{}, badRequest("invalid_request", "The parameter "+formParamNames[p]+" is given more than once.")
		}
	}
	switch {
	case form.get(paramGrantType) != GrantTypeTokenExchange:
		return exchange{}, badRequest("unsupported_grant_type", "grant_type must be "+GrantTypeTokenExchange+".")
	case form.get(paramSubjectToken) == "":
		return exchange{}, badRequest("invalid_request", "subject_token is required.")
	case form.get(paramSubjectTokenType) != TokenTypeAccessToken && form.get(paramSubjectTokenType) != TokenTypeJWT:
		return exchange{}, badRequest("invalid_request", "subject_token_type must be "+TokenTypeAccessToken+" or "+TokenTypeJWT+".")
	case form.has(paramActorToken) || form.has(paramActorTokenType):
		return exchange{}, badRequest("invalid_request", "Delegation (actor_token) is not supported.")
	case form.has(paramRequestedTokenType) && form.get(paramRequestedTokenType) != TokenTypeJWT:
		return exchange{}, badRequest("invalid_request", "requested_token_type must be "+TokenTypeJWT+".")
	}
	switch {
	case form.counts[paramAudience] != 1 || !enabled[form.get(paramAudience)]:
		return exchange{}, badRequest("invalid_target", "audience must name exactly one enabled audience; see gatepass_audiences_supported in the server metadata.")
	case form.has(paramResource):
		return exchange{}, badRequest("invalid_target", "resource is not supported; name the target with audience and scope.")
	}
	x := exchange{audience: form.get(paramAudience), subject: form.get(paramSubjectToken)}
	scope, ok := scopeTokens(form.get(paramScope))
	if !ok {
		return exchange{}, badRequest("invalid_scope", "The scope must be scope tokens separated by single spaces, without other white space.")
	}
	for _, reg := range grantRegistrations {
		if reg.audience == x.audience {
			t, oerr := reg.exchange(scope)
			if oerr != nil {
				return exchange{}, oerr
			}
			x.exchangeTarget = t
			break
		}
	}
	return x, nil
}

// scopeTokens splits an RFC 6749 scope: ASCII spaces around it are
// trimmed, and single ASCII spaces separate its tokens. Any other white
// space (a tab, a no-break or ideographic space), or two spaces in a row,
// makes it malformed: ok is false. An empty scope has no token.
func scopeTokens(scope string) (tokens []string, ok bool) {
	scope = strings.Trim(scope, " ")
	if scope == "" {
		return nil, true
	}
	if strings.ContainsFunc(scope, func(r rune) bool { return r != ' ' && unicode.IsSpace(r) }) {
		return nil, false
	}
	tokens = strings.Split(scope, " ")
	return tokens, !slices.Contains(tokens, "")
}

// scopeValue is what follows prefix in a scope of exactly one token that
// starts with it.
func scopeValue(tokens []string, prefix string) (string, bool) {
	if len(tokens) != 1 {
		return "", false
	}
	return strings.CutPrefix(tokens[0], prefix)
}

// enabledAudiences are the audiences this deployment issues, in a stable
// order: a transport's while the kind of its first route is enabled.
func enabledAudiences(app *application.Application) []string {
	var out []string
	for _, reg := range registrations() {
		if app.Enabled(reg.routes[0].kind) {
			out = append(out, reg.audience)
		}
	}
	return out
}

type exchangeResponse struct {
	AccessToken     string `json:"access_token"`
	IssuedTokenType string `json:"issued_token_type"`
	TokenType       string `json:"token_type"`
	ExpiresIn       int64  `json:"expires_in"`
	URL             string `json:"url,omitempty"`
	ServerURL       string `json:"server_url,omitempty"`
	// extra are the members a kind adds beside the token (exchanged.extra).
	extra map[string]any
}

// MarshalJSON writes the answer's members, then the kind's extra ones.
func (r exchangeResponse) MarshalJSON() ([]byte, error) {
	type members exchangeResponse
	b, err := json.Marshal(members(r))
	if err != nil || len(r.extra) == 0 {
		return b, err
	}
	x, err := json.Marshal(r.extra)
	if err != nil {
		return nil, err
	}
	return append(append(b[:len(b)-1], ','), x[1:]...), nil
}

// tokenExchange is RFC 8693 token exchange in front of the same use cases
// the dedicated endpoints drive: the same claims, keys, policy, budgets,
// metrics and log line. Its errors are RFC 6749 JSON, never problem+json.
func (h *handlers) tokenExchange(c *gin.Context) {
	noStore(c)
	form, oerr := readForm(c)
	if oerr == nil {
		var x exchange
		if x, oerr = parseExchange(form, h.isAudience); oerr == nil {
			stateOf(c).kind = x.kind
			oerr = h.exchange(c, x)
		}
	}
	if oerr == errTooManyParameters {
		oerr = h.spendFailure(c, oerr)
	}
	if oerr != nil {
		writeOAuthError(c, oerr)
	}
}

// spendFailure counts a form refused for its cost against the address's
// failure budget, as a subject token that fails verification is: refused
// answers 429 once that budget is spent.
func (h *handlers) spendFailure(c *gin.Context, refused *oauthError) *oauthError {
	if err := h.app.AuthenticateCaller.SpendFailure(c.Request.Context(), clientAddr(c)); err != nil {
		return h.oauthErrorFor(c, err, refused.description)
	}
	return refused
}

// exchange verifies the subject token, then asks the grant kind's use case.
func (h *handlers) exchange(c *gin.Context, x exchange) *oauthError {
	refused := "The subject token is invalid, expired or not accepted here."
	id, err := h.verifyBearer(c, "Bearer "+x.subject)
	out := exchangeResponse{IssuedTokenType: TokenTypeJWT, TokenType: "N_A"}
	var issued exchanged
	if err == nil {
		refused = "The policy does not grant this target to the caller."
		issued, err = x.issue(h, c, id.Principal, id.ExpiresAt)
		out.URL, out.ServerURL, out.extra = issued.url, issued.serverURL, issued.extra
	}
	if err != nil {
		h.obs.GrantIssued(x.kind, grantResult(err))
		markReason(c, problemFor(err), err)
		return h.oauthErrorFor(c, err, refused)
	}
	h.issued(c, x.kind, issued.grant, issued.target)
	out.AccessToken, out.ExpiresIn = issued.grant.Token, int64(issued.grant.TTL/time.Second)
	c.JSON(http.StatusOK, out)
	return nil
}

// oauthErrorFor maps an error of the subject token's verification or of a
// use case to RFC 6749 terms: a credential failure is invalid_request
// (RFC 8693 section 2.2.2), any refusal of the target invalid_target.
func (h *handlers) oauthErrorFor(c *gin.Context, err error, refused string) *oauthError {
	p := problemFor(err)
	var limited *domain.RateLimitedError
	switch {
	case errors.As(err, &limited):
		c.Header("Retry-After", strconv.Itoa(retryAfterSeconds(limited.RetryAfter)))
		return &oauthError{status: http.StatusTooManyRequests, code: "rate_limited", description: "Too many requests; retry after the number of seconds in Retry-After."}
	case errors.Is(err, domain.ErrRevoked):
		// The subject token is genuine but outdated (RFC 6749 section
		// 5.2): the client fetches a new one.
		return badRequest("invalid_grant", "Access was revoked after the subject token was issued; fetch a new one.")
	case p.Status == http.StatusServiceUnavailable:
		if p == problemRevocationsUnavailable {
			c.Header("Retry-After", strconv.Itoa(retryAfterSeconds(revocationsRetryAfter)))
		}
		h.log.WarnContext(c, "token exchange refused", "error", err)
		return &oauthError{status: http.StatusServiceUnavailable, code: "temporarily_unavailable", description: "The service cannot answer right now; retry shortly."}
	case p.Status == http.StatusUnauthorized:
		return badRequest("invalid_request", "The subject token is invalid, expired or not accepted here.")
	case p.Status == http.StatusForbidden, p.Status == http.StatusBadRequest:
		return badRequest("invalid_target", refused)
	default:
		h.log.ErrorContext(c, "token exchange failed", "error", err)
		return &oauthError{status: http.StatusInternalServerError, code: "server_error", description: "The request could not be completed."}
	}
}

// The refusals of parseForm. errTooManyParameters, a form of more than
// maxFormParameters parameters, spends the address's failure budget.
var (
	errTooManyParameters = badRequest("invalid_request", "The form has more parameters than the token exchange takes.")
	errMalformedForm     = badRequest("invalid_request", "The body is not a valid form.")
)

// readForm reads an application/x-www-form-urlencoded body of at most
// exchangeBodyBytes.
func readForm(c *gin.Context) (*exchangeForm, *oauthError) {
	mediaType, _, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil || mediaType != "application/x-www-form-urlencoded" {
		return nil, badRequest("invalid_request", "The body must be application/x-www-form-urlencoded.")
	}
	if c.Request.ContentLength > exchangeBodyBytes {
		return nil, &oauthError{status: http.StatusRequestEntityTooLarge, code: "invalid_request", description: "The body is larger than this endpoint accepts."}
	}
	raw, err := readBody(c, exchangeBodyBytes)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, &oauthError{status: http.StatusRequestEntityTooLarge, code: "invalid_request", description: "The body is larger than this endpoint accepts."}
		}
		return nil, badRequest("invalid_request", "The body could not be read.")
	}
	return parseForm(string(raw))
}

// parseForm reads a form pair by pair, as url.ParseQuery does, but counts
// every pair, repeats included, and refuses the form at the pair past
// maxFormParameters (errTooManyParameters) before decoding it, and keeps
// only the parameters the exchange knows: no map of the form is built.
func parseForm(body string) (*exchangeForm, *oauthError) {
	form := new(exchangeForm)
	for n := 0; body != ""; {
		var pair string
		pair, body, _ = strings.Cut(body, "&")
		if pair == "" {
			continue
		}
		if n++; n > maxFormParameters {
			return nil, errTooManyParameters
		}
		if strings.Contains(pair, ";") {
			return nil, errMalformedForm
		}
		name, value, _ := strings.Cut(pair, "=")
		name, err := url.QueryUnescape(name)
		if err == nil {
			err = form.set(name, value)
		}
		if err != nil {
			return nil, errMalformedForm
		}
	}
	return form, nil
}

// writeOAuthError answers e; tokenExchange has marked the answer
// uncacheable already (noStore).
func writeOAuthError(c *gin.Context, e *oauthError) {
	c.AbortWithStatusJSON(e.status, gin.H{"error": e.code, "error_description": e.description})
}

// oauthMetadata is the RFC 8414 authorization server metadata.
type oauthMetadata struct {
	Issuer                            string   `json:"issuer"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	AudiencesSupported                []string `json:"gatepass_audiences_supported"`
}

// metadata answers RFC 8414 metadata built from the public base URL; 404
// while none is configured.
func (h *handlers) metadata(c *gin.Context) {
	base := ""
	if h.publicBase != nil {
		base = strings.TrimSuffix(h.publicBase(), "/")
	}
	if base == "" {
		writeProblem(c, problemNotFound)
		return
	}
	c.Header("Cache-Control", "public, max-age=300")
	c.JSON(http.StatusOK, oauthMetadata{
		Issuer:                            base,
		TokenEndpoint:                     base + RouteTokenExchange,
		JWKSURI:                           base + RouteJWKS,
		GrantTypesSupported:               []string{GrantTypeTokenExchange},
		TokenEndpointAuthMethodsSupported: []string{"none"},
		ResponseTypesSupported:            []string{},
		AudiencesSupported:                h.audiences,
	})
}
