package ginhttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
)

type readinessResponse struct {
	Status string                    `json:"status"`
	Checks map[string]readinessCheck `json:"checks"`
}

// readinessStatus is the public listener's readiness: whether, not why.
type readinessStatus struct {
	Status string `json:"status"`
}

type readinessCheck struct {
	Status string `json:"status"`
	Detail string `json:"detail,omitempty"`
}

func fromReadiness(status string, r application.Readiness) readinessResponse {
	out := readinessResponse{Status: status, Checks: make(map[string]readinessCheck, len(r.Checks))}
	for _, c := range r.Checks {
		s := "ok"
		if !c.Ready {
			s = "failing"
		}
		out.Checks[c.Name] = readinessCheck{Status: s, Detail: c.Detail}
	}
	return out
}

// decodeBody reads an optional JSON object body of at most maxBytes into v.
// An empty body leaves v as it is. Chunked bodies are bounded too: the
// limit is on bytes read, not on the Content-Length header.
func decodeBody(c *gin.Context, maxBytes int64, v any) error {
	if c.Request.ContentLength > maxBytes {
		return errBodyTooLarge
	}
	if c.Request.ContentLength == 0 && len(c.Request.TransferEncoding) == 0 {
		// No body, and none can follow: a server request's Content-Length
		// of 0 is exact (an unknown length is -1). Nothing to read.
		return nil
	}
	raw, err := readBody(c, maxBytes)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return errBodyTooLarge
		}
		return fmt.Errorf("%w: %w", errMalformedBody, err)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	if ct := c.GetHeader("Content-Type"); ct != "application/json" {
		// The usual value is taken as it is; anything else is parsed.
		mediaType, _, err := mime.ParseMediaType(ct)
		if err != nil || (mediaType != "application/json" && !isJSONSuffix(mediaType)) {
			return errUnsupportedMedia
		}
	}
	if raw = bytes.TrimSpace(raw); raw[0] != '{' {
		return fmt.Errorf("%w: body must be a JSON object", errMalformedBody)
	}
	if f, ok := v.(flatBody); ok && f.decodeFlat(raw) {
		return nil
	}
	if l, ok := v.(limitedBody); ok {
		if err := l.checkLimits(raw); err != nil {
			return err
		}
	}
	// Unmarshal refuses anything after the object but white space.
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%w: %w", errMalformedBody, err)
	}
	return nil
}

// flatBody is a request body that reads its common flat shape without
// reflection (decodeFlat), answering false for any other.
type flatBody interface {
	decodeFlat(raw []byte) bool
}

// limitedBody is a request body with limits that are checked before
// encoding/json decodes it (checkLimits), so that a body past them is
// refused without being decoded in full.
type limitedBody interface {
	checkLimits(raw []byte) error
}

// readBody reads the request's body, at most maxBytes of it. A body of
// known length within maxBytes is read into a slice of that size, and
// must end there: net/http ends it at its length, and a body that goes on
// anyway is refused as too large. Any other (chunked, or declared longer)
// is read through http.MaxBytesReader, which stops it past maxBytes.
func readBody(c *gin.Context, maxBytes int64) ([]byte, error) {
	if n := c.Request.ContentLength; n > 0 && n <= maxBytes && len(c.Request.TransferEncoding) == 0 {
		raw := make([]byte, n)
		if _, err := io.ReadFull(c.Request.Body, raw); err != nil {
			return nil, err
		}
		var more [1]byte
		if m, err := c.Request.Body.Read(more[:]); m > 0 {
			return nil, &http.MaxBytesError{Limit: n}
		} else if err != io.EOF {
			if err == nil {
				err = io.ErrNoProgress
			}
			return nil, err
		}
		return raw, nil
	}
	return io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxBytes))
}

func isJSONSuffix(mediaType string) bool {
	return len(mediaType) > 5 && mediaType[len(mediaType)-5:] == "+json"
}

// The grant responses are appended by hand into a pooled buffer rather than
// reflected by c.JSON; each appender writes what json.Marshal writes for
// its response struct in dto_internal_test.go, which holds it to that.

// jsonContentType is what gin's c.JSON sends.
const jsonContentType = "application/json; charset=utf-8"

// maxPooledResponse keeps a rare large body from pinning its buffer.
const maxPooledResponse = 16 << 10

var responseBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// writeJSON answers status with the body encode writes.
func writeJSON[G any](c *gin.Context, status int, g G, encode func([]byte, G) []byte) {
	bp := responseBuffers.Get().(*[]byte)
	body := encode((*bp)[:0], g)
	c.Writer.Header()["Content-Type"] = stateOf(c).header(slotContentType, jsonContentType)
	c.Status(status)
	_, _ = c.Writer.Write(body)
	if cap(body) <= maxPooledResponse {
		*bp = body[:0]
		responseBuffers.Put(bp)
	}
}

// appendGrantTail writes the members every grant response ends with.
func appendGrantTail(b []byte, g domain.Grant) []byte {
	b = append(b, `,"expiresIn":`...)
	b = strconv.AppendInt(b, int64(g.TTL/time.Second), 10)
	b = append(b, `,"expiresAt":"`...)
	b = g.ExpiresAt.UTC().AppendFormat(b, time.RFC3339)
	return append(b, `"}`...)
}
