package ginhttp_test

import (
	"bytes"
	"log/slog"
	"regexp"
	"strings"
	"testing"

	"github.com/gatepass/gatepass/adapters/ginhttp"
	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/foundation/slogctx"
)

// The request line written by hand (a logger over slogctx.NewJSON) is the
// line slog's JSON handler writes (a logger over slogctx.New), byte for
// byte once the time, the latency and the grant id are set aside.
func TestRequestLineFastPathMatchesSlog(t *testing.T) {
	var slogOut, fastOut bytes.Buffer
	viaSlog := newAPIWith(t, application.RateLimitPolicy{}, nil,
		ginhttp.Options{Logger: slog.New(slogctx.New(slog.NewJSONHandler(&slogOut, nil), application.RequestID))})
	fast := newAPIWith(t, application.RateLimitPolicy{}, nil,
		ginhttp.Options{Logger: slog.New(slogctx.NewJSON(&fastOut, nil, application.RequestID))})
	cases := []struct {
		method, path string
		header       func(a api) map[string]string
	}{
		{"POST", ginhttp.RouteRealtimeToken, func(a api) map[string]string {
			return map[string]string{"Authorization": "Bearer " + a.bearer(t, "org_1")}
		}},
		{"POST", ginhttp.RouteOfficeAccess, func(a api) map[string]string {
			return map[string]string{"Authorization": "Bearer " + a.bearer(t, "org_1")}
		}},
		{"POST", ginhttp.RouteRealtimeToken, func(api) map[string]string { return nil }},
		{"POST", ginhttp.RouteRealtimeToken, func(api) map[string]string {
			return map[string]string{"Authorization": "Bearer not.a.token"}
		}},
		{"POST", ginhttp.RouteRealtimeToken, func(api) map[string]string {
			return map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}
		}},
		{"GET", ginhttp.RouteRealtimeToken, func(api) map[string]string { return nil }},
		{"PATCH", "/nowhere", func(api) map[string]string { return nil }},
		{"GET", ginhttp.RouteHealth, func(api) map[string]string { return nil }},
	}
	for i, tc := range cases {
		for _, a := range []api{viaSlog, fast} {
			h := tc.header(a)
			if h == nil {
				h = map[string]string{}
			}
			h["X-Request-ID"] = "req-" + strings.Repeat("x", i)
			serve(a.handler, tc.method, tc.path, h)
		}
	}
	vary := regexp.MustCompile(`"time":"[^"]+"|"latency_ms":[0-9.e+-]+|"jti":"[^"]+"`)
	want := vary.ReplaceAllString(slogOut.String(), "")
	got := vary.ReplaceAllString(fastOut.String(), "")
	if got != want {
		t.Fatalf("hand-written request lines\n%s\ndiffer from slog's\n%s", got, want)
	}
	if n := strings.Count(got, "\n"); n != len(cases) {
		t.Fatalf("%d lines for %d requests:\n%s", n, len(cases), got)
	}
	for _, key := range []string{`"time":"`, `"level":"INFO"`, `"msg":"request"`, `"request_id":"req-`, `"jti":"`, `"reason":"`, `"client_ip":"192.0.2.10"`} {
		if !strings.Contains(fastOut.String(), key) {
			t.Errorf("no %s in the lines:\n%s", key, fastOut.String())
		}
	}
}
