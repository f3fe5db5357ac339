package ginhttp

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
)

type handlers struct {
	app       *application.Application
	log       *slog.Logger
	maxBody   int64
	maxBearer int
}

const principalKey = "gatepass.principal"

func (h *handlers) health(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// authenticate verifies the bearer token before any handler runs and before
// the body is read.
func (h *handlers) authenticate(c *gin.Context) {
	bearer, err := bearerToken(c.GetHeader("Authorization"), h.maxBearer)
	if err == nil {
		var p domain.Principal
		p, err = h.app.AuthenticateCaller.Handle(c, application.AuthenticateCaller{Bearer: bearer})
		if err == nil {
			c.Set(principalKey, p)
			c.Next()
			return
		}
	}
	h.fail(c, err)
	c.Abort()
}

func principal(c *gin.Context) domain.Principal {
	p, _ := c.Get(principalKey)
	pr, _ := p.(domain.Principal)
	return pr
}

func (h *handlers) requestOfficeAccess(c *gin.Context) {
	var body officeAccessRequest
	if err := decodeBody(c, h.maxBody, &body); err != nil {
		h.fail(c, err)
		return
	}
	grant, err := h.app.RequestOfficeAccess.Handle(c, toRequestOfficeAccess(principal(c), body))
	if err != nil {
		h.fail(c, err)
		return
	}
	noStore(c)
	c.JSON(http.StatusOK, fromOfficeGrant(grant))
}

func (h *handlers) issueRealtimeToken(c *gin.Context) {
	var body realtimeTokenRequest
	if err := decodeBody(c, h.maxBody, &body); err != nil {
		h.fail(c, err)
		return
	}
	grant, err := h.app.IssueRealtimeToken.Handle(c, toIssueRealtimeToken(principal(c), body))
	if err != nil {
		h.fail(c, err)
		return
	}
	noStore(c)
	c.JSON(http.StatusOK, fromRealtimeGrant(grant))
}

func noStore(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.Header("Pragma", "no-cache")
}

// bearerToken extracts the token of an "Authorization: Bearer <token>"
// header; the scheme is case-insensitive (RFC 9110 section 11.1).
func bearerToken(header string, maxBytes int) (string, error) {
	if header == "" {
		return "", domain.ErrMissingCredentials
	}
	if len(header) > maxBytes {
		return "", errBearerTooLarge
	}
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", errNotBearer
	}
	token = strings.TrimSpace(token)
	if token == "" || strings.ContainsAny(token, " \t") {
		return "", errNotBearer
	}
	return token, nil
}
