package ginhttp_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gatepass/gatepass/adapters/ginhttp"
	"github.com/gatepass/gatepass/adapters/memorylimit"
	"github.com/gatepass/gatepass/adapters/prom"
	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
)

func serve(h http.Handler, method, path string, header map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "http://gatepass.test"+path, nil)
	req.RemoteAddr = "192.0.2.10:5555"
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	a := newAPI(t)
	for _, tc := range []struct{ method, path string }{
		{"GET", "/healthz"}, {"GET", "/nowhere"}, {"POST", "/api/v1/realtime/token"}, {"GET", "/api/v1/realtime/token"},
	} {
		rec := serve(a.handler, tc.method, tc.path, nil)
		if rec.Header().Get("X-Content-Type-Options") != "nosniff" || rec.Header().Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s %s (%d): headers %v", tc.method, tc.path, rec.Code, rec.Header())
		}
	}
}

func TestRequestID(t *testing.T) {
	a := newAPI(t)
	tests := []struct {
		name, sent string
		echoed     bool
	}{
		{name: "sane id is honoured", sent: "req-42_a.b", echoed: true},
		{name: "none sent", sent: ""},
		{name: "hostile id is replaced", sent: "abc\u2028<script>"},
		{name: "overlong id is replaced", sent: strings.Repeat("a", 129)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]string{}
			if tt.sent != "" {
				h["X-Request-ID"] = tt.sent
			}
			got := serve(a.handler, "GET", "/healthz", h).Header().Get("X-Request-ID")
			if tt.echoed && got != tt.sent {
				t.Fatalf("echoed %q, want %q", got, tt.sent)
			}
			if !tt.echoed && (got == "" || got == tt.sent || len(got) != 24) {
				t.Fatalf("generated id %q", got)
			}
		})
	}
}

func TestCORS(t *testing.T) {
	origin := "https://app.example.com"
	preflight := map[string]string{"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
	off := newAPI(t)
	if rec := serve(off.handler, "OPTIONS", "/api/v1/realtime/token", preflight); rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("CORS answered while off: %v", rec.Header())
	}
	on := newAPIWith(t, application.RateLimitPolicy{}, nil, ginhttp.Options{CORSOrigins: []string{origin}})
	rec := serve(on.handler, "OPTIONS", "/api/v1/realtime/token", preflight)
	if rec.Header().Get("Access-Control-Allow-Origin") != origin || !strings.Contains(strings.ToLower(rec.Header().Get("Access-Control-Allow-Headers")), "authorization") {
		t.Fatalf("preflight from an allowed origin: %d %v", rec.Code, rec.Header())
	}
	evil := map[string]string{"Origin": "https://evil.example.com", "Access-Control-Request-Method": "POST"}
	if rec := serve(on.handler, "OPTIONS", "/api/v1/realtime/token", evil); rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("CORS allowed another origin: %v", rec.Header())
	}
}

// While the server drains, every answer asks the client to close the
// connection; before, none does.
func TestDrainingClosesConnections(t *testing.T) {
	var draining bool
	a := newAPIWith(t, application.RateLimitPolicy{}, nil, ginhttp.Options{Draining: func() bool { return draining }})
	for _, path := range []string{"/healthz", "/nowhere", "/api/v1/realtime/token"} {
		if rec := serve(a.handler, "GET", path, nil); rec.Header().Get("Connection") != "" {
			t.Fatalf("GET %s before draining: Connection %q", path, rec.Header().Get("Connection"))
		}
	}
	draining = true
	for _, path := range []string{"/healthz", "/nowhere", "/api/v1/realtime/token"} {
		if rec := serve(a.handler, "GET", path, nil); rec.Header().Get("Connection") != "close" {
			t.Fatalf("GET %s while draining (%d): Connection %q", path, rec.Code, rec.Header().Get("Connection"))
		}
	}
}

// TestForwardedForIsBelievedOnlyFromTrustedProxies spends the per-address
// budget of failed authentications: a spoofed X-Forwarded-For must not
// give a fresh budget unless the peer is a trusted proxy.
func TestForwardedForIsBelievedOnlyFromTrustedProxies(t *testing.T) {
	one := domain.Limit{Rate: 1, Period: time.Hour, Burst: 1}
	limits := application.RateLimitPolicy{Enabled: true, FailureMode: application.FailClosed, AuthFailures: one, Grants: map[domain.GrantKind]domain.Limit{domain.GrantOffice: one, domain.GrantRealtime: one}}
	bad := func(xff string) map[string]string {
		return map[string]string{"Authorization": "Bearer not.a.token", "X-Forwarded-For": xff}
	}
	untrusted := newAPIWith(t, limits, memorylimit.New(nil, 0), ginhttp.Options{})
	if rec := serve(untrusted.handler, "POST", "/api/v1/realtime/token", bad("203.0.113.1")); rec.Code != 401 {
		t.Fatalf("first failure: %d", rec.Code)
	}
	if rec := serve(untrusted.handler, "POST", "/api/v1/realtime/token", bad("203.0.113.2")); rec.Code != 429 {
		t.Fatalf("spoofed X-Forwarded-For dodged the limit: %d", rec.Code)
	}
	trusted := newAPIWith(t, limits, memorylimit.New(nil, 0), ginhttp.Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}})
	for _, xff := range []string{"203.0.113.1", "203.0.113.2"} {
		if rec := serve(trusted.handler, "POST", "/api/v1/realtime/token", bad(xff)); rec.Code != 401 {
			t.Fatalf("behind a trusted proxy, %s: %d", xff, rec.Code)
		}
	}
}

func TestMetricsOnlyOnTheAdminRouter(t *testing.T) {
	m := prom.New()
	a := newAPIWith(t, application.RateLimitPolicy{}, nil, ginhttp.Options{Observer: m})
	serve(a.handler, "POST", "/api/v1/realtime/token", map[string]string{"Authorization": "Bearer " + a.bearer(t, "org_1")})
	serve(a.handler, "POST", "/api/v1/cloudflare/request-access", nil)
	serve(a.handler, "POST", "/api/v1/cloudflare/request-access", map[string]string{"Authorization": "Bearer x.y.z"})
	if rec := serve(a.handler, "GET", "/metrics", nil); rec.Code != 404 {
		t.Fatalf("public /metrics: %d", rec.Code)
	}
	admin := ginhttp.NewAdminRouter(adminApp(t, application.Ports{}, nil), m.Handler(), ginhttp.AdminOptions{})
	rec := serve(admin, "GET", "/metrics", nil)
	body := rec.Body.String()
	for _, want := range []string{`gatepass_grants_total{kind="realtime",result="issued"} 1`,
		`gatepass_grants_total{kind="office",result="missing_credentials"} 1`, `gatepass_grants_total{kind="office",result="invalid_token"} 1`, `gatepass_http_request_duration_seconds_count{code="200",method="POST",route="/api/v1/realtime/token"} 1`, "go_goroutines"} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if rec := serve(admin, "GET", path, nil); rec.Code != 200 {
			t.Errorf("admin %s: %d %s", path, rec.Code, rec.Body)
		}
	}
}

// panickingKeys is a key set that fails as badly as code can.
type panickingKeys struct{}

func (panickingKeys) VerificationKeys(context.Context) ([]domain.VerificationKey, error) {
	panic("key store exploded")
}

func TestPanicsAnswer500AndTheServiceKeepsServing(t *testing.T) {
	var logs strings.Builder
	app := adminApp(t, application.Ports{Keys: panickingKeys{}}, nil)
	h, err := ginhttp.NewRouter(app, ginhttp.Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	rec := serve(h, "GET", "/.well-known/jwks.json", nil)
	if rec.Code != 500 || rec.Header().Get("Content-Type") != "application/problem+json" ||
		!strings.Contains(rec.Body.String(), `"code":"internal"`) || strings.Contains(rec.Body.String(), "exploded") {
		t.Fatalf("panic answered %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	if !strings.Contains(logs.String(), "key store exploded") {
		t.Fatalf("panic not logged: %s", logs.String())
	}
	if rec := serve(h, "GET", "/healthz", nil); rec.Code != 200 {
		t.Fatalf("after a panic: %d", rec.Code)
	}
}
