package ginhttp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/gatepass/gatepass/foundation/jsonappend"
)

// RouteDevIdentityToken mints development identity tokens, so that a page
// can sign in as any development user without an identity provider. It is
// routed only when Options.DevIdentity is set (development with local
// identities), never in production, and is not part of the OpenAPI
// document, which describes production.
const RouteDevIdentityToken = "/dev/identity-token"

// DevIdentityRequest is who a development identity token is asked for; a
// nil field takes the development default, and an empty Org or Role is
// none.
type DevIdentityRequest struct {
	User *string `json:"user"`
	Org  *string `json:"org"`
	Role *string `json:"role"`
}

// DevIdentityIssuer mints development identity tokens: the same path as
// `gatepass dev-token`.
type DevIdentityIssuer interface {
	// IssueDevIdentity answers the token and its lifetime. A refusal of
	// one of the request's fields is an error made by FieldError.
	IssueDevIdentity(ctx context.Context, req DevIdentityRequest) (token string, ttl time.Duration, err error)
}

// FieldError is a request refused for one field, named as the API spells
// it, for the answer to name.
func FieldError(field, reason string) error { return &fieldError{field: field, reason: reason} }

type devIdentity struct {
	h      *handlers
	issuer DevIdentityIssuer
}

// issue answers a development identity token to a caller on this machine;
// anyone else is answered as if the route did not exist.
func (d devIdentity) issue(c *gin.Context) {
	if !sameMachine(c.Request) {
		writeProblem(c, problemNotFound)
		return
	}
	var req DevIdentityRequest
	if err := decodeStrict(c, d.h.maxBody, &req, "an identity request"); err != nil && !emptyBody(err) {
		writeBodyProblem(c, err)
		return
	}
	token, ttl, err := d.issuer.IssueDevIdentity(c.Request.Context(), req)
	if err != nil {
		var fe *fieldError
		if errors.As(err, &fe) {
			writeBodyProblem(c, err)
			return
		}
		d.h.fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Header("Pragma", "no-cache")
	writeJSON(c, http.StatusOK, devIdentityToken{token: token, ttl: ttl}, appendDevIdentityToken)
}

type devIdentityToken struct {
	token string
	ttl   time.Duration
}

func appendDevIdentityToken(b []byte, t devIdentityToken) []byte {
	b = append(b, `{"access_token":`...)
	b = jsonappend.String(b, t.token)
	b = append(b, `,"token_type":"Bearer","expires_in":`...)
	b = strconv.AppendInt(b, int64(t.ttl/time.Second), 10)
	return append(b, '}')
}

// emptyBody reports whether decodeStrict refused a body that is not there
// at all: the request takes every default.
func emptyBody(err error) bool {
	var fe *fieldError
	return errors.As(err, &fe) && fe.field == "body" && fe.empty
}

// writeBodyProblem answers 400 malformed_body naming the field at fault
// (413 for a body too large).
func writeBodyProblem(c *gin.Context, err error) {
	if errors.Is(err, errBodyTooLarge) {
		writeProblem(c, problemBodyTooLarge)
		return
	}
	p := problemMalformedBody
	var fe *fieldError
	if errors.As(err, &fe) {
		p.Field, p.Detail = fe.field, fmt.Sprintf("%s %s.", fe.field, fe.reason)
	}
	writeProblem(c, p)
}

// sameMachine reports whether the request comes from this machine, not
// through a proxy: from a loopback address, or from the very address it
// reached (a client on this machine calling one of its other addresses,
// as a browser in a network namespace of its own does). A request that
// names a forwarded client came through a proxy, which may have taken it
// from anywhere. The Host must name this machine too (localhost, a
// loopback address or the address reached): a page elsewhere whose name a
// DNS rebinding points at this machine sends its own name.
func sameMachine(r *http.Request) bool {
	if r.Header.Get("Forwarded") != "" || r.Header.Get("X-Forwarded-For") != "" {
		return false
	}
	remote, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	var reached netip.Addr
	if local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if l, err := netip.ParseAddrPort(local.String()); err == nil {
			reached = l.Addr().Unmap()
		}
	}
	if !namesThisMachine(r.Host, reached) {
		return false
	}
	peer := remote.Addr().Unmap()
	return peer.IsLoopback() || (reached.IsValid() && reached == peer)
}

// namesThisMachine reports whether a Host header names this machine:
// localhost, a loopback address, or reached.
func namesThisMachine(host string, reached netip.Addr) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	if err != nil {
		return false
	}
	a = a.Unmap()
	return a.IsLoopback() || (reached.IsValid() && a == reached)
}
