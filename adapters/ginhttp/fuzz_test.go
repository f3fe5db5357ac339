package ginhttp

// Fuzz targets of the two parsers that read attacker-controlled bytes before
// any credential is checked. Their seeds run as ordinary tests; fuzz them
// with, for example:
//
//	go test -run='^$' -fuzz=FuzzBearerToken -fuzztime=60s ./adapters/ginhttp/
//	go test -run='^$' -fuzz=FuzzDecodeBody -fuzztime=60s ./adapters/ginhttp/

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode"

	"github.com/gin-gonic/gin"

	"github.com/gatepass/gatepass/domain"
)

func FuzzBearerToken(f *testing.F) {
	for _, seed := range []struct {
		header string
		max    int
	}{
		{"Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln", DefaultMaxBearerBytes},
		{"bearer abc", DefaultMaxBearerBytes},
		{"BEARER abc", DefaultMaxBearerBytes},
		{"Bearer  abc ", DefaultMaxBearerBytes},
		{"Bearer", DefaultMaxBearerBytes},
		{"Bearer ", DefaultMaxBearerBytes},
		{"Bearer a b", DefaultMaxBearerBytes},
		{"Bearer a\tb", DefaultMaxBearerBytes},
		{"Bearer\tabc", DefaultMaxBearerBytes},
		{"Bearer a\vb", DefaultMaxBearerBytes},
		{"Bearer a\u00a0b", DefaultMaxBearerBytes},
		{"Bearer \u3000abc", DefaultMaxBearerBytes},
		{"Basic dXNlcjpwYXNz", DefaultMaxBearerBytes},
		{"Bearer abcdef", 8},
		{"Bearer abc", 0},
		{"Bearer abc", -1},
		{"", DefaultMaxBearerBytes},
		{"Bearer " + strings.Repeat("a", 9<<10), DefaultMaxBearerBytes},
	} {
		f.Add(seed.header, seed.max)
	}
	f.Fuzz(func(t *testing.T, header string, maxBytes int) {
		token, err := bearerToken(header, maxBytes)
		if err != nil {
			if token != "" {
				t.Fatalf("error %v with token %q", err, token)
			}
			if !errors.Is(err, domain.ErrMissingCredentials) && !errors.Is(err, errNotBearer) && !errors.Is(err, errBearerTooLarge) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if len(header) > maxBytes {
			t.Fatalf("header of %d bytes accepted under a limit of %d", len(header), maxBytes)
		}
		if token == "" {
			t.Fatal("empty token accepted")
		}
		if strings.IndexFunc(token, unicode.IsSpace) >= 0 {
			t.Fatalf("token %q holds white space", token)
		}
		if !strings.Contains(header, token) {
			t.Fatalf("token %q is not part of header %q", token, header)
		}
		if scheme, _, _ := strings.Cut(header, " "); !strings.EqualFold(scheme, "Bearer") {
			t.Fatalf("scheme %q accepted", scheme)
		}
	})
}

// fuzzBodyLimit is small so that the fuzzer reaches it easily.
const fuzzBodyLimit = 64

func FuzzDecodeBody(f *testing.F) {
	const chunked, honest, lying = 0, 1, 2
	for _, seed := range []struct {
		body        string
		contentType string
		length      uint8
	}{
		{"", "", honest},
		{"   \r\n", "", honest},
		{"{}", "application/json", honest},
		{`{"orgId":"org_1"}`, "application/json; charset=utf-8", honest},
		{`{"orgId":"org_1"}`, "application/problem+json", honest},
		{`{"orgId":null}`, "application/json", chunked},
		{`{"orgId":42}`, "application/json", honest},
		{`{"orgId":"a","orgId":"b"}`, "application/json", honest},
		{`{"orgId":`, "application/json", honest},
		{`{} {}`, "application/json", honest},
		{`[]`, "application/json", honest},
		{`"x"`, "application/json", honest},
		{`{}`, "", honest},
		{`{}`, "text/plain", honest},
		{`{}`, "application/json; =", honest},
		{`orgId=org_1`, "application/x-www-form-urlencoded", honest},
		{`{"orgId":"` + strings.Repeat("x", fuzzBodyLimit) + `"}`, "application/json", honest},
		{`{"orgId":"` + strings.Repeat("x", fuzzBodyLimit) + `"}`, "application/json", chunked},
		{`{"orgId":"` + strings.Repeat("x", fuzzBodyLimit) + `"}`, "application/json", lying},
		{"\v{}", "application/json", honest},
		{"{\"orgId\":\"\xff\"}", "application/json", honest},
		// A body longer than its Content-Length: refused, not cut short.
		{"{}" + strings.Repeat(" ", 98), "application/json", lying},
	} {
		f.Add([]byte(seed.body), seed.contentType, seed.length)
	}
	gin.SetMode(gin.ReleaseMode)
	f.Fuzz(func(t *testing.T, body []byte, contentType string, length uint8) {
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		switch length % 3 {
		case chunked:
			req.ContentLength = -1
		case lying:
			// A Content-Length that understates the body: the limit must
			// hold on the bytes read anyway.
			req.ContentLength = int64(len(body) / 2)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		read := &countingReader{r: req.Body}
		req.Body = io.NopCloser(read)
		w := httptest.NewRecorder()
		c, _ := gin.CreateTestContext(w)
		c.Request = req

		var v officeAccessRequest
		err := decodeBody(c, fuzzBodyLimit, &v)
		if read.n > fuzzBodyLimit+1 {
			// MaxBytesReader reads one byte past the limit to notice it.
			t.Fatalf("read %d bytes under a limit of %d", read.n, fuzzBodyLimit)
		}
		if err != nil {
			if !errors.Is(err, errBodyTooLarge) && !errors.Is(err, errMalformedBody) && !errors.Is(err, errUnsupportedMedia) {
				t.Fatalf("error %v is none of the sentinels", err)
			}
			if p := problemFor(err); p.Status >= 500 {
				t.Fatalf("error %v maps to %d", err, p.Status)
			}
			return
		}
		if len(body) > fuzzBodyLimit {
			t.Fatalf("body of %d bytes accepted under a limit of %d", len(body), fuzzBodyLimit)
		}
		if trimmed := bytes.TrimSpace(body); len(trimmed) > 0 && trimmed[0] != '{' {
			t.Fatalf("non-object body %q accepted", body)
		}
	})
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
