package ginhttp

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/gatepass/gatepass/foundation/jwks"
)

// RouteJWKS publishes the office-router verification keys.
const RouteJWKS = "/.well-known/jwks.json"

func (h *handlers) jwks(c *gin.Context) {
	keys, err := h.app.ListKeys.Handle(c.Request.Context())
	if err != nil {
		h.fail(c, err)
		return
	}
	body, err := jwks.VerificationSetJSON(keys)
	if err != nil {
		h.fail(c, err)
		return
	}
	// Verifiers cache the set; a rotation waits this long (see docs/operations.md, keys and rotation).
	c.Header("Cache-Control", "public, max-age=300")
	c.Data(http.StatusOK, "application/json", body)
}
