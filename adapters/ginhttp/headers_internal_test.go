package ginhttp

import (
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/gin-gonic/gin"
)

// The headers written straight into the map share one array; an Add to
// one of them must not write over another.
func TestDirectHeadersDoNotShareAppendableSlices(t *testing.T) {
	rec := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(rec)
	c.Request = httptest.NewRequest("POST", "/", nil)
	(&handlers{}).begin(c)
	noStore(c)
	writeJSON(c, 200, "x", func(b []byte, s string) []byte { return append(b, '"', 'x', '"') })
	h := c.Writer.Header()
	id := h.Get("X-Request-Id")
	for _, k := range []string{"X-Request-Id", "X-Content-Type-Options", "Referrer-Policy", "Cache-Control", "Pragma", "Content-Type"} {
		h.Add(k, "added")
	}
	want := map[string][]string{
		"X-Request-Id":           {id, "added"},
		"X-Content-Type-Options": {"nosniff", "added"},
		"Referrer-Policy":        {"no-referrer", "added"},
		"Cache-Control":          {"no-store", "added"},
		"Pragma":                 {"no-cache", "added"},
		"Content-Type":           {jsonContentType, "added"},
	}
	for k, v := range want {
		if !slices.Equal(h[k], v) {
			t.Errorf("%s = %q, want %q", k, h[k], v)
		}
	}
	// A second request's headers are its own.
	rec2 := httptest.NewRecorder()
	c2, _ := gin.CreateTestContext(rec2)
	securityHeaders(c2)
	if got := c2.Writer.Header()["X-Content-Type-Options"]; !slices.Equal(got, []string{"nosniff"}) {
		t.Errorf("next request's X-Content-Type-Options = %q", got)
	}
}

func TestNewRequestID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := newRequestID()
		if len(id) != 24 || !saneRequestID(id) {
			t.Fatalf("request id %q is not 24 hex digits", id)
		}
		for _, r := range id {
			if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
				t.Fatalf("request id %q is not lower-case hex", id)
			}
		}
		if seen[id] {
			t.Fatalf("request id %q made twice", id)
		}
		seen[id] = true
	}
}
