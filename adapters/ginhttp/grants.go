package ginhttp

import (
	"errors"
	"slices"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
)

// grantRegistration is one transport as the HTTP adapter serves it: its
// grant endpoints, and its audience in the token exchange with the parser
// of that audience's scope. Every transport registers itself from its
// own file (registerGrants); the router and the token exchange read only
// the registrations.
type grantRegistration struct {
	routes []grantRoute
	// audience names the transport in the token exchange; it is offered
	// while the kind of the first route is enabled.
	audience string
	// exchange reads the exchange's scope tokens into the kind asked and
	// how it is issued, or refuses the scope (invalid_scope).
	exchange func(scope []string) (exchangeTarget, *oauthError)
	// problems are the refusals of the transport's own requests: each
	// domain error and the problem it is answered with (problemFor).
	problems []kindProblem
}

// kindProblem answers a transport's own domain error with its problem.
type kindProblem struct {
	err     error
	problem problem
}

// grantRoute is one grant endpoint: its path, the kind of grant it issues
// and the handler that runs once the caller is verified.
type grantRoute struct {
	path   string
	kind   domain.GrantKind
	handle func(h *handlers) gin.HandlerFunc
}

// exchangeTarget is a grant the token exchange asks for: its kind and how
// the kind's use case issues it for the verified caller.
type exchangeTarget struct {
	kind domain.GrantKind
	// target is what the scope named (a room, a channel); "" when nothing.
	target string
	issue  func(h *handlers, c *gin.Context, caller domain.Principal, identityExpiresAt time.Time) (exchanged, error)
}

// exchanged is an issued grant as the token exchange answers it: the
// grant, the URLs the kind returns beside it, and its target (a room or a
// channel) for the request log.
type exchanged struct {
	grant     domain.Grant
	url       string
	serverURL string
	// extra are the kind's own members of the answer beside these (a list
	// of servers, an inbox prefix), by name.
	extra  map[string]any
	target string
}

// grantRegistrations are the registered transports.
var grantRegistrations []grantRegistration

// registerGrants registers a transport; it is called from the
// transport's file as `var _ = registerGrants(...)`.
func registerGrants(r grantRegistration) struct{} {
	grantRegistrations = append(grantRegistrations, r)
	// A transport's own problems are answerable as the shared ones are:
	// counted under their code, and named in the request log.
	for _, kp := range r.problems {
		answerable = append(answerable, kp.problem)
	}
	return struct{}{}
}

// webhookRoute is a transport server's webhook: its path and its handler
// over the transport's webhook use case. It is routed while the kind is
// enabled and the application has its use case; else it is not found.
type webhookRoute struct {
	kind    domain.GrantKind
	path    string
	receive func(h *handlers, w application.WebhookReceiver) gin.HandlerFunc
}

// webhookRoutes are the registered webhooks.
var webhookRoutes []webhookRoute

// registerWebhook registers a transport's webhook; it is called from the
// transport's file as `var _ = registerWebhook(...)`.
func registerWebhook(kind domain.GrantKind, path string, receive func(h *handlers, w application.WebhookReceiver) gin.HandlerFunc) struct{} {
	webhookRoutes = append(webhookRoutes, webhookRoute{kind: kind, path: path, receive: receive})
	return struct{}{}
}

// registrations are the registered transports in the order of their
// kinds (domain.GrantKinds), whatever the order their files registered
// them in.
func registrations() []grantRegistration {
	kinds := domain.GrantKinds()
	out := slices.Clone(grantRegistrations)
	slices.SortStableFunc(out, func(a, b grantRegistration) int {
		return slices.Index(kinds, a.routes[0].kind) - slices.Index(kinds, b.routes[0].kind)
	})
	return out
}

// registeredProblem is the problem of a transport's own error; false when
// no registration names it.
func registeredProblem(err error) (problem, bool) {
	for _, reg := range grantRegistrations {
		for _, kp := range reg.problems {
			if errors.Is(err, kp.err) {
				return kp.problem, true
			}
		}
	}
	return problem{}, false
}

// noScope is the exchange's parser of an audience that takes no scope and
// names one kind.
func noScope(audience string, target exchangeTarget) func([]string) (exchangeTarget, *oauthError) {
	return func(scope []string) (exchangeTarget, *oauthError) {
		if len(scope) > 0 {
			return exchangeTarget{}, badRequest("invalid_scope", "The audience "+audience+" takes no scope.")
		}
		return target, nil
	}
}

// issueRegistered is the handler of a registered kind's endpoint: decode
// the body (up to maxBody, at least the router's limit) into a B, make it
// the kind's request, issue it, and answer status with encode. target
// names what the grant admits to (a room, a channel; "") in the request
// log.
func issueRegistered[B, Req, Out any](kind domain.GrantKind, maxBody int64, request func(B) Req, status int,
	grant func(Out) (domain.Grant, string), encode func([]byte, Out) []byte) func(h *handlers) gin.HandlerFunc {
	return func(h *handlers) gin.HandlerFunc {
		use := application.Issuer[Req, Out](h.app, kind)
		limit := max(h.maxBody, maxBody)
		return func(c *gin.Context) {
			var body B
			if err := decodeBody(c, limit, &body); err != nil {
				// The caller is authenticated: a body it sent unreadable, or
				// past a limit, spends its budget as any other request.
				h.refuse(c, kind, use.RefuseUnreadable(c.Request.Context(), principal(c), err))
				return
			}
			out, err := use.Handle(c.Request.Context(), application.IssueGrant[Req]{Caller: principal(c), IdentityExpiresAt: identityExpiry(c), Request: request(body)})
			if err != nil {
				h.refuse(c, kind, err)
				return
			}
			g, target := grant(out)
			h.issued(c, kind, g, target)
			writeJSON(c, status, out, encode)
		}
	}
}

// exchangeRegistered is how the token exchange issues req with a
// registered kind's use case.
func exchangeRegistered[Req, Out any](kind domain.GrantKind, req Req, answer func(Out) exchanged) exchangeTarget {
	return exchangeTarget{kind: kind, issue: func(h *handlers, c *gin.Context, caller domain.Principal, exp time.Time) (exchanged, error) {
		out, err := application.Issuer[Req, Out](h.app, kind).Handle(c.Request.Context(), application.IssueGrant[Req]{Caller: caller, IdentityExpiresAt: exp, Request: req})
		return answer(out), err
	}}
}

// transportDisabled answers the routes of a transport that is not
// configured, before any authentication.
func transportDisabled(c *gin.Context) { writeProblem(c, problemTransportDisabled) }

// refuse counts a refused grant and answers it.
func (h *handlers) refuse(c *gin.Context, kind domain.GrantKind, err error) {
	h.obs.GrantIssued(kind, grantResult(err))
	h.fail(c, err)
}

// issued counts an issued grant, remembers its id and target (a room or a
// channel) for the request log, and marks the answer uncacheable.
func (h *handlers) issued(c *gin.Context, kind domain.GrantKind, g domain.Grant, target string) {
	h.obs.GrantIssued(kind, grantResult(nil))
	s := stateOf(c)
	s.grantID, s.target = g.ID, target
	noStore(c)
}
