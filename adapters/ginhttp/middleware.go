package ginhttp

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"time"

	"github.com/gin-contrib/cors"
	"github.com/gin-gonic/gin"

	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/foundation/slogctx"
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

// frame is the public router's outer layer, one gin handler for what
// every request needs around its route: the request's state and id, the
// security headers, closing the connection when it must not be reused,
// recovery from a panic, and the request's metrics and log line. One
// layer, not six: each would be another call, another lookup of the
// state in the context, and another frame for gin to step through on
// every request.
func (h *handlers) frame(c *gin.Context) {
	start := time.Now()
	s := h.begin(c)
	if len(c.Request.TransferEncoding) > 0 || h.draining != nil && h.draining() {
		closeConnection(c)
	}
	h.recover(c)
	h.logRequest(c, s, start)
}

// begin makes the request's state, with the client address found once
// (ClientAddr, believing X-Forwarded-For only from trusted proxies) and
// the request id: a sane X-Request-ID from the caller or a new one,
// echoed so a request can be followed across logs. The state becomes the
// request's context. It also writes the security headers, which go on
// every response, errors included.
func (h *handlers) begin(c *gin.Context) *requestState {
	var id string
	if v := c.Request.Header["X-Request-Id"]; len(v) > 0 && saneRequestID(v[0]) {
		id = v[0]
	} else {
		id = newRequestID()
	}
	s := &requestState{addr: ClientAddr(c.Request, h.trusted)}
	s.info.RequestID = id
	s.Context = application.WithRequestInfo(c.Request.Context(), &s.info)
	c.Request = c.Request.WithContext(s)
	hdr := c.Writer.Header()
	hdr["X-Request-Id"] = s.header(slotRequestID, id)
	hdr["X-Content-Type-Options"] = s.header(slotNosniff, "nosniff")
	hdr["Referrer-Policy"] = s.header(slotReferrer, "no-referrer")
	return s
}

// newRequestID is 96 random bits as 24 hex digits. A request id is no
// secret, so it comes from math/rand/v2's runtime-backed generator
// (ChaCha8 per thread, never blocking), not from the system's.
func newRequestID() string {
	var raw [12]byte
	binary.BigEndian.PutUint64(raw[:8], rand.Uint64())
	binary.BigEndian.PutUint32(raw[8:], rand.Uint32())
	var b [24]byte
	hex.Encode(b[:], raw[:])
	return string(b[:])
}

func saneRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// securityHeaders go on every response of the admin listener, errors
// included; on the public listener the frame writes the same two (begin).
func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	c.Next()
}

// closeConnection answers with "Connection: close", so net/http closes
// the connection after the response. The frame asks for it in two cases:
//   - while draining: keep-alive clients move to another instance without
//     a request lost to a closed idle connection;
//   - after a request with a chunked body. net/http accepts a request with
//     both Transfer-Encoding and Content-Length (it drops the
//     Content-Length, as RFC 9112 section 6.1 allows) and keeps the
//     connection; such a request may be an attempt at request smuggling
//     through a proxy that read the Content-Length, so the connection it
//     came on is not used again. The Content-Length is gone by the time a
//     handler runs, so every chunked request is treated alike: the grant
//     endpoints' bodies are a few bytes, and clients send them with a
//     length.
func closeConnection(c *gin.Context) {
	c.Header("Connection", "close")
}

// corsFor allows exactly the listed origins to call the API from a browser
// (or an Electron renderer); credentials travel in Authorization, not
// cookies.
func corsFor(origins []string) gin.HandlerFunc {
	return cors.New(cors.Config{
		AllowOrigins:     origins,
		AllowMethods:     []string{http.MethodGet, http.MethodPost, http.MethodOptions},
		AllowHeaders:     []string{"Authorization", "Content-Type", "X-Request-ID"},
		ExposeHeaders:    []string{"Retry-After", "X-Request-ID"},
		AllowCredentials: false,
		MaxAge:           10 * time.Minute,
	})
}

// logRequest counts the request in the metrics and logs one line for
// it: never a header value, a body or a token, only what identifies the
// request and how it went.
func (h *handlers) logRequest(c *gin.Context, s *requestState, start time.Time) {
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	method := c.Request.Method
	if !h.methods[method] {
		method = "other"
	}
	end := time.Now()
	elapsed := end.Sub(start)
	h.obs.ObserveRequest(route, method, c.Writer.Status(), elapsed)
	reason := s.reason
	if reason != "" {
		h.obs.AuthFailure(reason)
	}
	level := levelFor(c.Writer.Status())
	if !h.log.Enabled(c, level) {
		return
	}
	if l := h.lines.StartLine(c, end, level, "request"); l != nil {
		h.writeRequestLine(c, s, l, method, route, elapsed)
		return
	}
	// Typed attributes: this line is written for every request, and
	// LogAttrs spares the boxing of a []any. The request id comes from
	// the context, through the logger's handler.
	attrs := [14]slog.Attr{
		slog.String("method", method),
		slog.String("route", route),
		slog.Int("status", c.Writer.Status()),
		slog.Float64("latency_ms", latencyMillis(elapsed)),
		slog.String("client_ip", s.addr.String()),
	}
	n := 5
	if kind := s.kind; kind != "" {
		attrs[n] = slog.String("grant_kind", kind.String())
		n++
	}
	if p := principal(c); p.UserID != "" {
		attrs[n] = slog.String("user_id", p.UserID)
		n++
		if id := s.grantID; id != "" {
			// An issued grant: the audit trail names it, never its token.
			attrs[n], attrs[n+1], attrs[n+2] = slog.String("jti", id), slog.String("org_id", p.OrgID), slog.String("role", p.Role)
			n += 3
			if target := s.target; target != "" {
				attrs[n] = slog.String("target", target)
				n++
			}
		}
	}
	if reason != "" {
		attrs[n] = slog.String("reason", reason)
		n++
		if claim := s.claim; claim != "" {
			attrs[n] = slog.String("claim", claim)
			n++
		}
	}
	h.log.LogAttrs(c, level, "request", attrs[:n]...)
}

// writeRequestLine writes the request line by hand: the attributes the
// slog path above logs, in its order, into a pooled buffer. Keep the two
// alike (TestRequestLineFastPathMatchesSlog holds them to it).
func (h *handlers) writeRequestLine(c *gin.Context, s *requestState, l *slogctx.Line, method, route string, elapsed time.Duration) {
	l.String("method", method)
	l.String("route", route)
	l.Int("status", c.Writer.Status())
	l.Float64("latency_ms", latencyMillis(elapsed))
	var ip [64]byte
	l.Bytes("client_ip", appendAddr(ip[:0], s.addr))
	if kind := s.kind; kind != "" {
		l.String("grant_kind", kind.String())
	}
	if p := principal(c); p.UserID != "" {
		l.String("user_id", p.UserID)
		if id := s.grantID; id != "" {
			l.String("jti", id)
			l.String("org_id", p.OrgID)
			l.String("role", p.Role)
			if target := s.target; target != "" {
				l.String("target", target)
			}
		}
	}
	if s.reason != "" {
		l.String("reason", s.reason)
		if claim := s.claim; claim != "" {
			l.String("claim", claim)
		}
	}
	_ = l.Write()
}

// appendAddr appends what a.String() returns.
func appendAddr(b []byte, a netip.Addr) []byte {
	if !a.IsValid() {
		return append(b, "invalid IP"...)
	}
	return a.AppendTo(b)
}

func latencyMillis(elapsed time.Duration) float64 {
	return float64(elapsed.Microseconds()) / 1000
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
