package ginhttp

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// problemRender writes a problem as JSON under the problem+json type.
type problemRender struct{ p problem }

func (r problemRender) Render(w http.ResponseWriter) error {
	r.WriteContentType(w)
	return json.NewEncoder(w).Encode(r.p)
}

func (problemRender) WriteContentType(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/problem+json")
}

// requestLog logs one line per request: never a header value, a body or a
// token, only what identifies the request and how it went.
func (h *handlers) requestLog(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	attrs := []any{
		"method", c.Request.Method,
		"route", route,
		"status", c.Writer.Status(),
		"latency_ms", float64(time.Since(start).Microseconds()) / 1000,
	}
	if p := principal(c); p.UserID != "" {
		attrs = append(attrs, "user_id", p.UserID)
	}
	h.log.Log(c, levelFor(c.Writer.Status()), "request", attrs...)
}

func levelFor(status int) slog.Level {
	if status >= 500 {
		return slog.LevelError
	}
	return slog.LevelInfo
}

// recover answers a panic with a problem 500 and logs it, so one bad
// request never takes the process down.
func (h *handlers) recover(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			h.log.ErrorContext(c, "panic while serving", "route", c.FullPath(), "panic", fmt.Sprint(v))
			if !c.Writer.Written() {
				writeProblem(c, problemInternal)
			}
			c.Abort()
		}
	}()
	c.Next()
}
