package e2e_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// chunked hides the body length, so only the bytes read can be limited.
type chunked struct{ io.Reader }

func TestErrorAnswers(t *testing.T) {
	s := startService(t)
	member := s.idp.Token(t, "user_1", "org_1", "member", time.Minute)
	loner := s.idp.Token(t, "user_2", "", "", time.Minute)
	expired := s.idp.Sign(t, jwt.MapClaims{"iss": s.idp.Issuer, "aud": s.idp.Audience, "sub": "user_1",
		"org_id": "org_1", "exp": time.Now().Add(-time.Hour).Unix()}, nil)
	wrongAud := s.idp.Sign(t, jwt.MapClaims{"iss": s.idp.Issuer, "aud": "another-client", "sub": "user_1",
		"org_id": "org_1", "exp": time.Now().Add(time.Hour).Unix()}, nil)

	// gatepass's own grant presented as the caller's identity.
	own := call(t, http.MethodPost, s.URL+officePath, member, "", nil).json(t)["token"].(string)

	big := strings.Repeat("x", 64<<10)
	tests := []struct {
		name        string
		method      string
		path        string
		bearer      string
		rawAuth     string
		contentType string
		body        io.Reader
		status      int
		code        string
	}{
		{name: "no bearer", path: officePath, status: 401, code: "missing_credentials"},
		{name: "not a bearer scheme", path: officePath, rawAuth: "Basic dXNlcjpwYXNz", status: 401, code: "invalid_token"},
		{name: "garbage bearer", path: officePath, bearer: "garbage", status: 401, code: "invalid_token"},
		{name: "expired bearer", path: realtimePath, bearer: expired, status: 401, code: "invalid_token"},
		{name: "bearer for another audience", path: officePath, bearer: wrongAud, status: 401, code: "invalid_token"},
		{name: "own grant as identity", path: officePath, bearer: own, status: 401, code: "invalid_token"},
		{name: "huge authorization header", path: officePath, rawAuth: "Bearer " + strings.Repeat("a", 9<<10), status: 401, code: "invalid_token"},
		{name: "no organization", path: officePath, bearer: loner, status: 403, code: "no_organization"},
		{name: "other organization", path: officePath, bearer: member, contentType: "application/json",
			body: strings.NewReader(`{"orgId":"org_2"}`), status: 403, code: "organization_mismatch"},
		{name: "malformed JSON", path: officePath, bearer: member, contentType: "application/json",
			body: strings.NewReader(`{"orgId":`), status: 400, code: "malformed_body"},
		{name: "orgId not a string", path: officePath, bearer: member, contentType: "application/json",
			body: strings.NewReader(`{"orgId":42}`), status: 400, code: "malformed_body"},
		{name: "JSON array", path: realtimePath, bearer: member, contentType: "application/json",
			body: strings.NewReader(`[]`), status: 400, code: "malformed_body"},
		{name: "trailing data", path: officePath, bearer: member, contentType: "application/json",
			body: strings.NewReader(`{} {}`), status: 400, code: "malformed_body"},
		{name: "form body", path: officePath, bearer: member, contentType: "application/x-www-form-urlencoded",
			body: strings.NewReader(`orgId=org_1`), status: 415, code: "unsupported_media_type"},
		{name: "body without content type", path: realtimePath, bearer: member,
			body: strings.NewReader(`{}`), status: 415, code: "unsupported_media_type"},
		{name: "large body", path: officePath, bearer: member, contentType: "application/json",
			body: strings.NewReader(`{"orgId":"` + big + `"}`), status: 413, code: "body_too_large"},
		{name: "large chunked body", path: realtimePath, bearer: member, contentType: "application/json",
			body: chunked{strings.NewReader(`{"x":"` + big + `"}`)}, status: 413, code: "body_too_large"},
		{name: "unknown path", method: http.MethodGet, path: "/api/v1/nothing", status: 404, code: "not_found"},
		{name: "GET on a grant endpoint", method: http.MethodGet, path: officePath, bearer: member, status: 405, code: "method_not_allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			req, _ := http.NewRequest(method, s.URL+tt.path, tt.body)
			switch {
			case tt.rawAuth != "":
				req.Header.Set("Authorization", tt.rawAuth)
			case tt.bearer != "":
				req.Header.Set("Authorization", "Bearer "+tt.bearer)
			}
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, b)
			}
			r := response{Status: resp.StatusCode, Header: resp.Header, Body: b}
			assertProblem(t, r, tt.code)
			if tt.status == 401 && !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
				t.Errorf("WWW-Authenticate %q", resp.Header.Get("WWW-Authenticate"))
			}
			if tt.bearer != "" && strings.Contains(string(b), tt.bearer) {
				t.Error("the problem echoes the bearer token")
			}
		})
	}
	// After all that, the service still serves.
	if r := call(t, http.MethodPost, s.URL+realtimePath, member, "", nil); r.Status != 200 {
		t.Fatalf("service stopped serving: %d", r.Status)
	}
}

func assertProblem(t *testing.T, r response, code string) {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type %q, want application/problem+json", ct)
	}
	p := r.json(t)
	if p["code"] != code || p["status"] != float64(r.Status) || p["title"] == "" || p["detail"] == "" ||
		p["type"] != "urn:gatepass:problem:"+code {
		t.Errorf("problem %s, want code %s", r.Body, code)
	}
	if strings.Contains(string(r.Body), "goroutine") || strings.Contains(string(r.Body), ".go:") {
		t.Errorf("problem leaks internals: %s", r.Body)
	}
}

func TestOversizedHeadersAreRefusedAndServiceKeepsServing(t *testing.T) {
	s := startService(t)
	conn, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n", officePath, strings.Repeat("a", 1<<20))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("status %d, want 431", resp.StatusCode)
	}
	if r := call(t, http.MethodGet, s.URL+"/healthz", "", "", nil); r.Status != 200 || string(r.json(t)["status"].(string)) != "ok" {
		t.Fatalf("healthz %d %s", r.Status, r.Body)
	}
}
