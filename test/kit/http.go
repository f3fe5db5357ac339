package kit

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Routes of gatepass's public listener.
const (
	OfficePath   = "/api/v1/cloudflare/request-access"
	RealtimePath = "/api/v1/realtime/token"
	// DevIdentityPath mints development identity tokens (development only).
	DevIdentityPath = "/dev/identity-token"
	JWKSPath        = "/.well-known/jwks.json"
)

// Client is shared by the suites' calls; its timeout bounds every request.
var Client = &http.Client{Timeout: 10 * time.Second}

// Response is an answer read whole.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	// Close is whether the server said it closes the connection after
	// this answer (its Connection: close is then taken out of Header).
	Close bool
}

func (r Response) String() string { return fmt.Sprintf("%d %.300s", r.Status, r.Body) }

// JSON decodes the body as a JSON object or fails the test.
func (r Response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body %q is not JSON: %v", r.Body, err)
	}
	return m
}

// Token is the "token" member of a grant's body; it fails the test when
// there is none.
func (r Response) Token(t testing.TB) string {
	t.Helper()
	tok, _ := r.JSON(t)["token"].(string)
	if tok == "" {
		t.Fatalf("no token in %s", r)
	}
	return tok
}

// request is what the options of a call set.
type request struct {
	ctx    context.Context
	header http.Header
	body   io.Reader
}

// Option sets part of a request.
type Option func(*request)

// Bearer sends token as a bearer credential; an empty token sends none.
func Bearer(token string) Option {
	return func(r *request) {
		if token != "" {
			r.header.Set("Authorization", "Bearer "+token)
		}
	}
}

// Authorization sends value as the whole Authorization header.
func Authorization(value string) Option {
	return func(r *request) { r.header.Set("Authorization", value) }
}

// Header sets a request header.
func Header(name, value string) Option {
	return func(r *request) { r.header.Set(name, value) }
}

// AddHeader adds a value to a request header, so the header may repeat.
func AddHeader(name, value string) Option {
	return func(r *request) { r.header.Add(name, value) }
}

// Context sends the request under ctx: cancelling it abandons the call.
func Context(ctx context.Context) Option {
	return func(r *request) { r.ctx = ctx }
}

// Body sends body with contentType (none when empty). A body whose length
// the http package cannot tell goes out chunked.
func Body(contentType string, body io.Reader) Option {
	return func(r *request) {
		r.body = body
		if contentType != "" {
			r.header.Set("Content-Type", contentType)
		}
	}
}

// JSONBody sends text as an application/json body.
func JSONBody(text string) Option { return Body("application/json", strings.NewReader(text)) }

// Do sends one request with c and reads the answer whole.
func Do(c *http.Client, method, url string, opts ...Option) (Response, error) {
	r := request{ctx: context.Background(), header: http.Header{}}
	for _, o := range opts {
		o(&r)
	}
	req, err := http.NewRequestWithContext(r.ctx, method, url, r.body)
	if err != nil {
		return Response{}, err
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		return Response{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return Response{}, err
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: body, Close: resp.Close}, nil
}

// Call sends one request with Client; it fails the test when no answer
// comes.
func Call(t testing.TB, method, url string, opts ...Option) Response {
	t.Helper()
	r, err := Do(Client, method, url, opts...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return r
}

// Post is Call with POST.
func Post(t testing.TB, url string, opts ...Option) Response {
	t.Helper()
	return Call(t, http.MethodPost, url, opts...)
}

// Get is Call with GET.
func Get(t testing.TB, url string, opts ...Option) Response {
	t.Helper()
	return Call(t, http.MethodGet, url, opts...)
}

// WantStatus fails the test unless r has status want.
func WantStatus(t testing.TB, what string, r Response, want int) {
	t.Helper()
	if r.Status != want {
		t.Fatalf("%s: got %s, want status %d", what, r, want)
	}
}

// Problem is the RFC 9457 body gatepass answers errors with.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
	// Field names the request's field at fault, when one is.
	Field string `json:"field"`
}

// WantProblem fails the test unless r is gatepass's problem answer with
// status and code: application/problem+json, every member set and
// consistent, nothing of the server's internals, and on a 401 the
// WWW-Authenticate challenge. It returns the problem.
func WantProblem(t testing.TB, what string, r Response, status int, code string) Problem {
	t.Helper()
	if r.Status >= 500 && status < 500 {
		t.Fatalf("%s: server error %s", what, r)
	}
	if r.Status != status {
		t.Fatalf("%s: got %s, want status %d (%s)", what, r, status, code)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("%s: Content-Type %q, want application/problem+json", what, ct)
	}
	var p Problem
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatalf("%s: body %q is not a problem: %v", what, r.Body, err)
	}
	if p.Code != code || p.Status != status || p.Type != "urn:gatepass:problem:"+code || p.Title == "" || p.Detail == "" {
		t.Errorf("%s: problem %s, want status %d code %s", what, r.Body, status, code)
	}
	if strings.Contains(string(r.Body), "goroutine") || strings.Contains(string(r.Body), ".go:") {
		t.Errorf("%s: problem leaks internals: %s", what, r.Body)
	}
	if status == http.StatusUnauthorized && !strings.Contains(r.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("%s: WWW-Authenticate %q", what, r.Header.Get("WWW-Authenticate"))
	}
	return p
}

// Check is one readiness check of /readyz.
type Check struct {
	Status string `json:"status"`
	Detail string `json:"detail"`
}

// Readiness is the body of /readyz.
type Readiness struct {
	Status string           `json:"status"`
	Checks map[string]Check `json:"checks"`
}

// Ready asks a listener's /readyz (baseURL is the listener's URL).
func Ready(t testing.TB, baseURL string) (int, Readiness) {
	t.Helper()
	r := Get(t, baseURL+"/readyz")
	return r.Status, r.Readiness(t)
}

// Readiness decodes the body as a /readyz answer or fails the test.
func (r Response) Readiness(t testing.TB) Readiness {
	t.Helper()
	var body Readiness
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatalf("/readyz body %q: %v", r.Body, err)
	}
	return body
}

// Eventually polls cond every interval until it holds or timeout passes,
// and reports whether it held.
func Eventually(timeout, interval time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(interval)
	}
}
