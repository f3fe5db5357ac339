package ginhttp

import (
	_ "embed"
	"net/http"

	"github.com/gin-gonic/gin"
)

// RouteOpenAPI serves the OpenAPI 3.1 document of this API.
const RouteOpenAPI = "/openapi.json"

// OpenAPI is the OpenAPI 3.1 document of the public API, kept beside the
// handlers it describes; tests validate real responses against it.
//
//go:embed openapi.json
var OpenAPI []byte

func (h *handlers) openapi(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=300")
	c.Data(http.StatusOK, "application/json", OpenAPI)
}
